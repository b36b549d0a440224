"""Seeded random streams: every chunk of every named stream has its own generator
(docs/theory.md §3).

A stream is one named use of randomness: the engine's pre-sample ``"pre"`` (fixes the
candidates) and main sample ``"main"`` (the statistics the certificates use), or the four
sample sets of center smoothing. Chunk c of stream s for output cluster k draws from a
generator seeded by (seed, ``STREAMS[s]``, k, c) alone, so chunks can run in any order or on
any machine and merge into identical statistics.

`STREAMS` is the one list of names and the integers fed to `numpy.random.SeedSequence`; no two
names share an integer, so no two streams share draws. ``"pre"`` and ``"main"`` are also the
phase ids `PRE` and `MAIN` that statistics store.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MAIN", "PHASES", "PRE", "STREAMS", "batch_sizes", "chunk_generator"]

PRE, MAIN = 0, 1
PHASES = ("pre", "main")  # the stream of each phase: PHASES[PRE] == "pre"
STREAMS = {"pre": PRE, "main": MAIN,
           "center/candidates": 20, "center/median": 21, "center/check": 22,
           "center/certify": 23}


def chunk_generator(seed: int, stream: str, output_cluster: int = 0,
                    chunk: int = 0) -> np.random.Generator:
    """The generator of chunk `chunk` of `stream` for `output_cluster`: independent of
    scheduling (SFC64, the fastest of numpy's bit generators).

    Args:
        seed (int): the run's seed.
        stream (str): name of the stream (`STREAMS`).
        output_cluster (int): the distribution's cluster.
        chunk (int): the chunk's index.

    Returns:
        np.random.Generator: an SFC64 generator.
    """
    if stream not in STREAMS:
        raise ValueError(f"stream {stream!r} is not one of {sorted(STREAMS)}")
    sequence = np.random.SeedSequence(seed, spawn_key=(STREAMS[stream], output_cluster, chunk))
    return np.random.Generator(np.random.SFC64(sequence))


def batch_sizes(n_samples: int, batch_size: int) -> list[int]:
    """Sizes of the batches that draw `n_samples` samples: full batches, then the rest.

    Args:
        n_samples (int): samples in all.
        batch_size (int): samples per full batch.

    Returns:
        list[int]: the sizes.
    """
    full, rest = divmod(int(n_samples), int(batch_size))
    return [int(batch_size)] * full + ([rest] if rest else [])
