"""Ablation noise for multimodal inputs (docs/theory.md §7, Wang et al. 2024): keep k_i of
the n_i elements of each modality, uniformly without replacement and independently per modality."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from graphcert.utils.validation import check_int

__all__ = ["AblationSampler", "ablation_budgets", "ablation_sizes"]


def _whole_numbers(values: Sequence[int], name: str) -> tuple[int, ...]:
    """Whole numbers per modality (a fraction is an error, never truncated)."""
    return tuple(check_int(v, f"{name}[{i}]") for i, v in enumerate(values))


def ablation_sizes(n: Sequence[int], k: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Elements ``n_i`` and kept elements ``k_i`` per modality, checked (docs/theory.md §7).

    Args:
        n (Sequence[int]): elements per modality, each >= 1.
        k (Sequence[int]): kept elements per modality, ``0 <= k_i <= n_i``, some > 0.

    Returns:
        tuple[tuple[int, ...], tuple[int, ...]]: ``n`` and ``k`` as ints.
    """
    n, k = _whole_numbers(n, "n"), _whole_numbers(k, "k")
    if len(n) != len(k) or not n:
        raise ValueError(f"n {n} and k {k} need one entry per modality")
    if any(v < 1 for v in n):
        raise ValueError(f"every modality needs n_i >= 1 elements, got {n}")
    if any(not 0 <= ki <= ni for ni, ki in zip(n, k, strict=True)) or sum(k) < 1:
        raise ValueError(f"need 0 <= k_i <= n_i and some k_i > 0, got n {n}, k {k}")
    return n, k


def ablation_budgets(r: Sequence[int], n: tuple[int, ...]) -> tuple[int, ...]:
    """Modified elements ``r_i`` per modality, ``0 <= r_i <= n_i``.

    Args:
        r (Sequence[int]): modified elements per modality.
        n (tuple[int, ...]): elements per modality, as `ablation_sizes` returns them.

    Returns:
        tuple[int, ...]: ``r`` as ints.
    """
    r = _whole_numbers(r, "r")
    if len(r) != len(n) or any(not 0 <= ri <= ni for ri, ni in zip(r, n, strict=True)):
        raise ValueError(f"need 0 <= r_i <= n_i per modality, got r {r} for n {n}")
    return r


class AblationSampler:
    """Uniform k_i-subsets of each modality's n_i elements, independent across modalities;
    ``pooled=True`` draws ``sum k_i`` of all ``sum n_i`` elements at once (randomized ablation).

    Args:
        n (Sequence[int]): elements per modality n_i.
        k (Sequence[int]): elements kept per modality k_i.
        pooled (bool): draw ``sum k_i`` of all elements at once instead of per modality.
    """

    def __init__(self, n: Sequence[int], k: Sequence[int], pooled: bool = False):
        self.n, self.k = ablation_sizes(n, k)
        self.pooled = pooled

    def masks(self, batch_size: int, generator: np.random.Generator) -> list[np.ndarray]:
        """One (B, n_i) bool mask per modality (True = element kept).

        Args:
            batch_size (int): number of draws B.
            generator (np.random.Generator): source of the random numbers.

        Returns:
            list[np.ndarray]: one bool mask (B, n_i) per modality.
        """
        groups = ([(sum(self.n), sum(self.k))] if self.pooled
                  else list(zip(self.n, self.k, strict=True)))
        parts = []
        for size, keep in groups:
            keys = generator.random((batch_size, size))
            chosen = np.argpartition(keys, keep - 1, axis=1)[:, :keep] if keep else \
                np.empty((batch_size, 0), dtype=np.int64)
            mask = np.zeros((batch_size, size), dtype=bool)
            np.put_along_axis(mask, chosen, True, axis=1)
            parts.append(mask)
        return np.split(parts[0], np.cumsum(self.n)[:-1], axis=1) if self.pooled else parts
