"""How many Monte Carlo samples each output cluster draws, in which chunks, from which seed
(docs/theory.md §3)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from graphcert.sampling.streams import MAIN, PRE
from graphcert.utils.validation import check_int, check_positive_int

__all__ = ["MAX_CHUNKS", "MonteCarloConfig"]

#: Chunks per output cluster and phase at most: each is a job of the executor, listed upfront.
MAX_CHUNKS = 1_000_000


@dataclass(frozen=True)
class MonteCarloConfig:
    """Sample counts per output cluster and how they are chunked and seeded (docs/theory.md §3).

    Args:
        n_samples (int): main samples per output cluster.
        n_pre (int): pre-samples per output cluster (candidates).
        chunk_size (int): samples per seeded chunk.
        batch_size (int): noisy copies per model call.
        n_bins (int): histogram bins M of the scores.
        seed (int): seed of the sample streams.
    """

    n_samples: int
    n_pre: int
    chunk_size: int = 1000
    batch_size: int = 32
    n_bins: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_samples", "n_pre", "chunk_size", "batch_size", "n_bins"):
            check_positive_int(getattr(self, name), name)
        check_int(self.seed, "seed", "[0, inf)")
        for name in ("n_pre", "n_samples"):
            chunks = math.ceil(getattr(self, name) / self.chunk_size)
            if chunks > MAX_CHUNKS:
                raise ValueError(f"{name} == {getattr(self, name)} with chunk_size == "
                                 f"{self.chunk_size} makes {chunks} chunks per distribution, "
                                 f"at most {MAX_CHUNKS}: lower {name} or raise chunk_size")

    def n_chunks(self, phase: int) -> int:
        """Number of chunks of `phase`.

        Args:
            phase (int): ``PRE`` or ``MAIN``.

        Returns:
            int: ``ceil(samples / chunk_size)``.
        """
        return math.ceil(self.phase_samples(phase) / self.chunk_size)

    def phase_samples(self, phase: int) -> int:
        """Samples per output cluster in `phase`.

        Args:
            phase (int): ``PRE`` or ``MAIN``.

        Returns:
            int: ``n_pre`` or ``n_samples``.
        """
        return {PRE: self.n_pre, MAIN: self.n_samples}[phase]

    def chunk_length(self, phase: int, chunk: int) -> int:
        """Samples of chunk `chunk` of `phase` (the last may be shorter).

        Args:
            phase (int): ``PRE`` or ``MAIN``.
            chunk (int): chunk index in [0, n_chunks(phase)).

        Returns:
            int: its number of samples.
        """
        if not 0 <= chunk < self.n_chunks(phase):
            raise ValueError(f"chunk {chunk} out of range for phase {phase}")
        return min(self.chunk_size, self.phase_samples(phase) - chunk * self.chunk_size)
