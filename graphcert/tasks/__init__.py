"""Layer 5, tasks: graph node classification and image tasks (segmentation, attributions,
multimodal), each from Monte Carlo statistics to certified results."""
