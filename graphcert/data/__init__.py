"""Layer 1, data: datasets (registry, files, OGB), splits, graph clustering and image grids.

Imports nothing from the later layers (noise, sampling, certificates, tasks, run, cli).
"""
