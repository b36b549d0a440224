"""Layer 3, sampling: the chunked, seeded, resumable Monte Carlo engine, its statistics,
executors (local, Ray) and the model contract (how noisy batches reach a model).
"""
