"""Exact localized thresholds of deletions in closed form, where one cell decides
(docs/theory.md §11.1).

Deleting ``d_k`` bits of cluster k (no additions): a deleted bit is 0 in z with probability
``tm_k`` under x and ``1 - tp_k`` under x'. If ``tp_k + tm_k < 1`` for every cluster, the
outcome "every deleted bit is 0" has the largest likelihood ratio of all, with masses
``P = prod_k tm_k^d_k`` under x and ``Q = prod_k (1 - tp_k)^d_k`` under x'. When ``Q >= 1/2``
the worst case reaches x'-mass 1/2 inside this cell, filled from the top: the x-mass left for
the test is ``p = 1 - P / (2 Q)``, so

    p* = 1 - exp(sum_k d_k ln(tm_k / (1 - tp_k))) / 2,

and a target is certified iff ``ln(2 (1 - p)) < sum_k d_k ln(tm_k / (1 - tp_k))``: a half-space
in the counts. For the papers' theta_plus 0.01 this holds up to 68 deletions in all.
"""
from __future__ import annotations

import numpy as np

__all__ = ["top_cell_budget", "top_cell_thresholds"]

#: unit roundoff of float64
_U = 2.0**-53
#: rounding errors per elementary operation, in units of _U (as `_localized_exact`)
_OPS = 16.0


def top_cell_budget(theta_plus, theta_minus) -> int:
    """The most deletions in all for which `top_cell_thresholds` holds whatever their
    allocation over the clusters (-1 if some cluster has ``tp + tm >= 1``).

    Args:
        theta_plus, theta_minus: (..., K) flip probabilities in (0, 1).
    """
    tp, tm = np.asarray(theta_plus, dtype=float), np.asarray(theta_minus, dtype=float)
    if np.any(tp + tm >= 1.0):
        return -1
    # the x'-mass of the top cell is at least (1 - max tp)^D >= 1/2, with room for rounding
    per_bit = float(-np.log1p(-tp.max()))
    return int(np.floor(np.log(2.0) * (1.0 - 1e-9) / per_bit))


def top_cell_thresholds(theta_plus, theta_minus, deletions) -> np.ndarray:
    """p* of deletion-only perturbations (certified iff p > p*), each an upper bound on the
    exact value by at most a few ulps; valid while the deletions sum to at most
    `top_cell_budget`.

    Args:
        theta_plus, theta_minus: (K,) flip probabilities of one output group's row.
        deletions: (n, K) non-negative integer deletions per cluster.

    Returns:
        (n,) thresholds in [1/2, 1].
    """
    tp, tm = np.asarray(theta_plus, dtype=float), np.asarray(theta_minus, dtype=float)
    d = np.asarray(deletions)
    if d.ndim != 2 or d.shape[1] != tp.size:
        raise ValueError(f"deletions must be (n, {tp.size}), got shape {d.shape}")
    if np.any(d.sum(axis=1) > top_cell_budget(tp, tm)):
        raise ValueError(f"deletions sum to more than top_cell_budget = "
                         f"{top_cell_budget(tp, tm)}: the top cell does not decide")
    log_tm, log_keep = np.log(tm), np.log1p(-tp)
    weight = log_tm - log_keep  # ln(tm / (1 - tp)) < 0
    d = d.astype(float)
    exponent = d @ weight
    # each weight off by <= _OPS u (1 + its logs), the sum of K products by (K + 2) u
    magnitude = np.abs(log_tm) + np.abs(log_keep) + 1.0
    error = (_OPS + tp.size + 2.0) * _U * (d @ magnitude) * 1.01
    low = exponent - error
    low = low - 2.0 * _U * np.abs(low)  # the subtraction's rounding
    half_mass = 0.5 * np.exp(low) * (1.0 - _OPS * _U)  # <= the exact P / (2 Q)
    p_star = np.nextafter(1.0 - half_mass, 2.0)  # 1 - h rounds by at most half an ulp
    return np.where(d.sum(axis=1) > 0, np.clip(p_star, 0.5, 1.0), 0.5)
