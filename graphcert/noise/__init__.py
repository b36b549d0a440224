"""Layer 2, noise: the smoothing distributions (docs/theory.md §2, §4, §7-§9).

Each noise draws batches of noisy copies for one output cluster from a seeded generator and
describes itself as JSON (`describe`), so that statistics can be matched to it.
"""
