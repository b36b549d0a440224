"""Layer 6, run: configuration, the end-to-end pipeline, sweeps, reports and the demos."""
