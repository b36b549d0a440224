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
in the counts. For the papers' theta_plus 0.01 this holds up to 68 deletions in all; beyond,
the same cell and the next ones give an upper bound on p* (`top_cell_thresholds`).
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
    """Upper bounds on p* of deletion-only perturbations (certified iff p > it), exact up
    to a few ulps while the deletions sum to at most `top_cell_budget`.

    Beyond it the top cell's x'-mass Q is below 1/2, and with lambda the ratio of the next
    cells (one deleted bit of cluster k is 1 in z: the top's ratio times
    ``exp(-L_k)``, ``L_k = ln((1 - tp)(1 - tm) / (tp tm))``, smallest L_k over the clusters
    with deletions) only the top cell has a larger ratio, so
    ``s* >= P + (1/2 - Q) / lambda`` (docs/theory.md §11.1): still an upper bound on p*, exact
    when the fill from the top crosses 1/2 in those cells.

    Args:
        theta_plus, theta_minus: (K,) flip probabilities of one output group's row, with
            ``tp + tm < 1`` (`top_cell_budget` >= 0).
        deletions: (n, K) non-negative integer deletions per cluster.

    Returns:
        (n,) thresholds in [1/2, 1].
    """
    tp, tm = np.asarray(theta_plus, dtype=float), np.asarray(theta_minus, dtype=float)
    d = np.asarray(deletions, dtype=float)
    if d.ndim != 2 or d.shape[1] != tp.size:
        raise ValueError(f"deletions must be (n, {tp.size}), got shape {d.shape}")
    if top_cell_budget(tp, tm) < 0:
        raise ValueError(f"theta_plus + theta_minus == {(tp + tm).tolist()}: every entry must "
                         "be below 1 (else no single cell has the largest ratio)")
    log_tm, log_keep = np.log(tm), np.log1p(-tp)
    weight = log_tm - log_keep  # ln(tm / (1 - tp)) < 0
    # each weight off by <= _OPS u (1 + its logs), a sum of K products by (K + 2) u
    magnitude = np.abs(log_tm) + np.abs(log_keep) + 1.0
    sums = d @ np.stack([weight, magnitude, log_keep], axis=1)
    error = (_OPS + tp.size + 2.0) * _U * sums[:, 1] * 1.01
    low = sums[:, 0] - error
    low = low - 2.0 * _U * np.abs(low)  # the subtraction's rounding
    ratio_low = np.exp(low) * (1.0 - _OPS * _U)  # <= the exact P / Q
    # Q = exp(sum_k d_k ln(1 - tp_k)), bounded above
    keep_high = sums[:, 2] + error
    keep_high = np.exp(keep_high + 2.0 * _U * np.abs(keep_high)) * (1.0 + _OPS * _U)
    deficit = np.maximum(0.5 - keep_high, 0.0) * (1.0 - 2.0 * _U)
    scale = 0.5 * np.ones_like(deficit)
    short = np.flatnonzero(deficit > 0)  # Q < 1/2: the next cells
    if short.size:
        # exp(L_k) - 1 = (1 - tp - tm) / (tp tm), bounded below; the smallest where d_k > 0
        step = (1.0 - tp - tm) / (tp * tm) * (1.0 - _OPS * _U)
        step = np.where(d[short] > 0, step, np.inf).min(axis=1)
        scale[short] += deficit[short] * step * (1.0 - 4.0 * _U)
    s_low = ratio_low * scale * (1.0 - 4.0 * _U)  # <= the exact s*
    p_star = np.nextafter(1.0 - s_low, 2.0)  # 1 - s rounds by at most half an ulp
    return np.where(d.sum(axis=1) > 0, np.clip(p_star, 0.5, 1.0), 0.5)
