"""Layer 3, sampling: the chunked, seeded, resumable Monte Carlo engine, its statistics,
executors (local, Ray), the model contract (`batching`: how noisy batches reach any model)
and devices (`devices`: noise drawn and counted on an accelerator).
"""
