"""Seeded random streams: every chunk of every sampling phase has its own generator (SPEC §3).

Chunk (phase, output cluster, chunk) draws from a generator seeded by (seed, phase, cluster,
chunk) alone, so chunks can run in any order or on any machine and merge into identical
statistics.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MAIN", "PRE", "chunk_generator"]

PRE, MAIN = 0, 1


def chunk_generator(seed: int, phase: int, output_cluster: int, chunk: int) -> np.random.Generator:
    """The generator of chunk (phase, cluster, chunk): independent of scheduling (SFC64, the
    fastest of numpy's bit generators)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(phase, output_cluster, chunk))
    return np.random.Generator(np.random.SFC64(sequence))
