"""MMCert: certified multimodal predictions by independent sub-sampling (docs/theory.md §7,
Wang et al. 2024).

Modality i has n_i elements (pixels: all channels of a pixel form one element); an ablated input
keeps k_i of them, drawn uniformly without replacement and independently per modality, and
blanks the rest. The smoothed prediction is the majority vote over N ablated inputs. An
attacker who modifies r_i elements of modality i changes the ablated input only if a kept
element was modified, which happens with probability

    delta = 1 - prod_i C(n_i - r_i, k_i) / C(n_i, k_i),

so class A stays the prediction if ``p_A - delta > p_B + delta`` with p_A rounded down and p_B
rounded up to multiples of ``1 / prod_i C(n_i, k_i)`` (every probability under the ablation
distribution is such a multiple). Everything here is exact integer arithmetic.
Randomized ablation (Levine & Feizi) is the special case of one pooled modality with
``n = sum n_i``, ``k = sum k_i``, ``r = sum r_i``.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import numpy as np

from graphcert.noise.ablation import ablation_budgets, ablation_sizes
from graphcert.utils.validation import check_probabilities

__all__ = ["ablation_delta", "mmcert_certified"]


def _kept_unmodified(n: tuple[int, ...], k: tuple[int, ...], r: tuple[int, ...]) -> int:
    return math.prod(math.comb(ni - ri, ki) for ni, ki, ri in zip(n, k, r, strict=True))


def ablation_delta(n: Sequence[int], k: Sequence[int], r: Sequence[int]) -> Fraction:
    """Exact probability that an ablated input keeps at least one of the modified elements.

    Args:
        n (Sequence[int]): elements per modality n_i.
        k (Sequence[int]): elements kept per modality by the ablation, k_i <= n_i.
        r (Sequence[int]): modified elements per modality r_i <= n_i.

    Returns:
        Fraction: ``1 - prod C(n_i - r_i, k_i) / prod C(n_i, k_i)``, exact.
    """
    n, k = ablation_sizes(n, k)
    r = ablation_budgets(r, n)
    total = math.prod(math.comb(ni, ki) for ni, ki in zip(n, k, strict=True))
    return 1 - Fraction(_kept_unmodified(n, k, r), total)


def mmcert_certified(p_a_lower, p_b_upper, n: Sequence[int], k: Sequence[int],
                     budgets: Sequence[Sequence[int]]) -> np.ndarray:
    """(outputs, budgets) bool: certified against every attack modifying at most ``r_i``
    elements of modality i, for each ``r`` in ``budgets`` (docs/theory.md §7, MMCert Theorem 1).

    With ``T = prod C(n_i, k_i)`` and ``M(r) = prod C(n_i - r_i, k_i)``:
    ``floor(p_A T) - (T - M) > ceil(p_B T) + (T - M)``, compared as exact integers.

    Args:
        p_a_lower (array_like): lower bounds on the top class's probability, shape (n,).
        p_b_upper (array_like): upper bounds on the runner-up's probability, shape (n,).
        n (Sequence[int]): elements per modality n_i.
        k (Sequence[int]): elements kept per modality k_i.
        budgets (Sequence[Sequence[int]]): B budgets, each one r_i per modality.

    Returns:
        np.ndarray: bool (n, B), True where the output is certified at that budget.
    """
    n, k = ablation_sizes(n, k)
    p_a = check_probabilities(p_a_lower, "p_a_lower").ravel()
    p_b = check_probabilities(p_b_upper, "p_b_upper").ravel()
    if p_a.shape != p_b.shape:
        raise ValueError(f"p_a_lower {p_a.shape} and p_b_upper {p_b.shape} differ in size")
    total = math.prod(math.comb(ni, ki) for ni, ki in zip(n, k, strict=True))
    budgets = [ablation_budgets(r, n) for r in budgets]
    twice_loss = np.empty(len(budgets), dtype=object)
    twice_loss[:] = [2 * (total - _kept_unmodified(n, k, r)) for r in budgets]
    gap = np.empty(p_a.size, dtype=object)
    for i, (a, b) in enumerate(zip(p_a.tolist(), p_b.tolist(), strict=True)):
        fa, fb = Fraction(a), Fraction(b)
        floor_a = fa.numerator * total // fa.denominator
        ceil_b = -(-fb.numerator * total // fb.denominator)
        gap[i] = floor_a - ceil_b
    return (gap[:, None] > twice_loss[None, :]).astype(bool)
