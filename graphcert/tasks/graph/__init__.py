"""Graph node classification: training, and statistics to certified-accuracy curves."""
