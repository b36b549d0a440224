"""Layer 3, sampling: the chunked, seeded, resumable Monte Carlo engine (docs/theory.md §3, §4).

`streams` (named random streams, one generator per chunk), `monte_carlo` (sample counts,
chunks and seed), `statistics` (chunk and merged statistics, checkpoint files), `chunks` (one
chunk of a graph model), `engine` (`smooth`: orchestration and resume), `predictions` (the
same streams for image predictors) and `votes` (their class counts),
`fingerprint` (what produced the scores, recorded in every checkpoint), `executors` (local,
Ray), `batching` (the model contract: how noisy batches reach any model) and `devices`
(noise drawn and counted on an accelerator).
"""
