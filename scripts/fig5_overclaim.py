"""What the LRS reference code's formula would CLAIM on graphcert's Monte Carlo statistics.

NOT A CERTIFICATE. Nothing in this module is sound; it exists only so that
`docs/reproduction.md` can put the radii the published code would have reported beside the
sound ones graphcert computes from the SAME samples (issue 15).

The reference is github.com/jan-schuchardt/localized-smoothing at commit d6d1535 (the graph
code is unchanged since 16f8ab2). Its variance-constrained base certificate (LRS Thm 5.1,
docs/theory.md §3) differs from the sound one in four ways, each reproduced here:

1. zeta is squared. `localized_smoothing/graph/certification.py`, lines 165 and 191:
   ``r_max = np.log(1 + (1 / variance)**2 * (mean - 1 / 2)**2)``; docs/theory.md §3 has zeta to the
   first power.
2. The variance "bound" is not an upper bound. `localized_smoothing/graph/smooth.py`,
   `conf_interval_variance` (lines 350-377): the DKW weights are set only where the
   interval-wise maximum of (s - mean)^2 decreases (line 368, ``weight[l2_diff < 0] =
   ps_lower[...]``); the other entries of ``weight = np.empty_like(l2_diff)`` (line 366) are
   never written. At the reference's array sizes (10^4 thresholds x 2110 or 2810 nodes, over
   160 MB) numpy gets fresh, zero-filled pages from the OS, so those terms are 0: the mass
   above the mean is dropped and the "bound" of softmax scores can fall below the variance.
   For 0/1 scores it is the variance plus eps * (2 mean - 1).
3. It never abstains: (mean - 1/2)^2 > 0 for mean < 1/2 as well, so r_max > 0, and
   `generate_abstain_mask` (certification.py line 124) marks an output as abstaining only if
   it is attacked at budget 0, i.e. only if r_max == 0.
4. No correction across nodes: the DKW band uses ``conf_threshold = 0.01`` for every node
   (smooth.py lines 21 and 288-297), with n the samples of the node's cluster.

The scores are thinned before the bounds: sorted per node, every ``gap = ceil(n / 10^4)``-th
kept, 0 prepended and 1 appended (`bin_thresholds`, smooth.py lines 267-286). `mean` (the nu of
the variance) is the thinned sample mean (`conf_interval_mean` with eps 0, line 316) and the
claimed mean the thinned DKW lower bound (line 318).

What this module does not reproduce (documented in docs/reproduction.md): the reference's
collective program drops the per-cluster capacities and builds its weight matrix from the
affinity ORDER instead of the rank (`calc_norm_consts` indexes with `Cluster.rank_matrix`,
which holds the argsort; sampling uses `get_rank`); the callers here use graphcert's weights and
capacities, so only the base certificate differs.
"""
from __future__ import annotations

import math

import numpy as np

from graphcert.certificates import (
    sparse_smooth_region,
    sparsity_aware_weights,
    variance_constrained_radius,
)
from graphcert.utils.validation import check_nonnegative_integers, check_probabilities

REFERENCE_CONFIDENCE = 0.01  # SmoothDiscrete(conf_threshold=0.01), per node
REFERENCE_THRESHOLDS = 10_000  # SmoothDiscrete(num_thr=10000)

__all__ = [
    "reference_claimed_radius",
    "reference_mean_variance",
    "reference_thresholds",
    "score_distribution",
    "single_bit_radii",
]


def reference_thresholds(values, counts, num_thr: int = REFERENCE_THRESHOLDS) -> np.ndarray:
    """The reference's thinned, padded sorted scores (`bin_thresholds`), one column per node.

    ``values`` (M,) ascending support points, ``counts`` (n_nodes, M) how many samples of each
    node sit at each point; every node must have the same number n of samples. Row 0 is 0, rows
    1..m hold sorted samples 0, gap, 2 gap, ... (gap = ceil(n / num_thr)), the last row is 1.
    """
    values = check_probabilities(values, "values")
    counts = check_nonnegative_integers(counts, "counts")
    if values.ndim != 1 or counts.ndim != 2 or counts.shape[1] != values.size:
        raise ValueError(f"need values (M,) and counts (n_nodes, M), got {values.shape} and "
                         f"{counts.shape}")
    if np.any(np.diff(values) < 0):
        raise ValueError("values must be ascending")
    n = counts.sum(axis=1)
    if n.size == 0 or n[0] < 1 or np.any(n != n[0]):
        raise ValueError(f"every node needs the same positive number of samples, got {n}")
    gap = math.ceil(int(n[0]) / num_thr)
    ranks = np.arange(0, int(n[0]), gap)
    cumulative = np.cumsum(counts, axis=1)
    picked = np.stack([np.searchsorted(row, ranks, side="right") for row in cumulative], axis=1)
    ones = np.ones((1, counts.shape[0]))
    return np.vstack([0 * ones, values[picked], ones])


def reference_mean_variance(values, counts, confidence: float = REFERENCE_CONFIDENCE,
                            num_thr: int = REFERENCE_THRESHOLDS) -> tuple[np.ndarray, np.ndarray]:
    """``(mean_bound, var_bound)`` exactly as `SmoothDiscrete.estimate_bounds` computes them
    (module docstring, items 2 and 4). NOT confidence bounds: ``var_bound`` can be below the
    variance, and ``confidence`` applies to each node alone."""
    thresholds = reference_thresholds(values, counts, num_thr)
    n = int(np.asarray(counts).sum(axis=1)[0])
    eps = math.sqrt(math.log(2 / confidence) / (2 * n))  # calc_eps
    m = thresholds.shape[0] - 2
    tail = np.linspace(1, 1 / m, m)  # empirical survival on each interval
    steps = np.diff(thresholds[:-1], axis=0)
    mean = thresholds[0] + steps.T @ tail
    mean_bound = thresholds[0] + steps.T @ np.maximum(tail - eps, 0.0)
    ends = np.stack([thresholds[:-1], thresholds[1:]], axis=-1)
    top = np.max((ends - mean[None, :, None]) ** 2, axis=-1)
    change = np.diff(top, axis=0)
    weight = np.where(change < 0, np.maximum(tail - eps, 0.0)[:, None], 0.0)
    var_bound = top[0] + (change * weight).sum(axis=0)
    return mean_bound, var_bound


def reference_claimed_radius(mean_bound, var_bound) -> np.ndarray:
    """``ln(1 + (mean - 1/2)^2 / var^2)``: zeta squared, no abstention (items 1 and 3).
    NOT a certified radius."""
    mean = np.asarray(mean_bound, dtype=np.float64)
    var = np.asarray(var_bound, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log1p((mean - 0.5) ** 2 / var**2)


def score_distribution(hist: np.ndarray, score_sum: np.ndarray, score_sq_sum: np.ndarray,
                       n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, counts)`` of each node's candidate scores from graphcert's statistics.

    0/1 scores (one-hot smoothing, score temperature 0) are recovered exactly from their sums.
    Otherwise the histogram is used with every sample at its bin's midpoint (exact up to half
    a bin width). A single-bin histogram of non-binary scores cannot be used.
    """
    hist = np.asarray(hist)
    score_sum = np.asarray(score_sum, dtype=np.float64)
    binary = np.all(score_sum == np.round(score_sum)) and np.array_equal(
        np.asarray(score_sq_sum, dtype=np.float64), score_sum)
    if binary:
        ones = score_sum.astype(np.int64)
        return np.array([0.0, 1.0]), np.stack([np.asarray(n) - ones, ones], axis=1)
    if hist.shape[1] < 2:
        raise ValueError("scores are not 0/1 and the statistics keep no histogram "
                         f"(n_bins == {hist.shape[1]}); rerun with bounds 'dkw' (n_bins > 1)")
    m = hist.shape[1]
    return (np.arange(m) + 0.5) / m, hist


def _largest_certified(certified_upto: np.ndarray) -> int:
    """Largest r with radius r certified, given a non-increasing bool vector over r = 0, 1, ..."""
    return int(certified_upto.sum()) - 1


def single_bit_radii(p: float, theta_plus: float, theta_minus: float, max_additions: int,
                     max_deletions: int) -> dict[str, tuple[int, int]]:
    """Largest certified (additions, deletions) of a one-hot base classifier whose class
    probability p is known exactly, under isotropic noise S(x, theta_plus, theta_minus).

    * ``neyman_pearson``: the exact, tight certificate (docs/theory.md §4; SparseSmooth);
    * ``variance_constrained``: docs/theory.md §3 with mu = p and zeta = p (1 - p), the variance of
    0/1
      scores (sound, so never above the tight one);
    * ``reference_formula``: the same with zeta squared (NOT a certificate).

    -1 means not even budget 0 is certified; values are capped at the ``max_*`` budgets.
    """
    p = float(check_probabilities(p, "p"))
    region = sparse_smooth_region(np.array([p]), theta_plus, theta_minus, max_additions,
                                  max_deletions)[0]
    out = {"neyman_pearson": (_largest_certified(region[:, 0]),
                              _largest_certified(region[0, :]))}
    gamma_plus, gamma_minus = sparsity_aware_weights(theta_plus, theta_minus)
    variance = p * (1 - p)
    etas = {"variance_constrained": variance_constrained_radius(p, variance),
            "reference_formula": reference_claimed_radius(p, variance)}
    for name, eta in etas.items():
        radii = []
        for gamma, cap in ((gamma_plus, max_additions), (gamma_minus, max_deletions)):
            weights = np.concatenate([[0.0], np.arange(1, cap + 1) * gamma])
            radii.append(_largest_certified(np.logical_and.accumulate(weights < eta)))
        out[name] = tuple(radii)
    return out


def single_bit_table(theta_minus=(0.3, 0.5, 0.7, 0.9), p=(0.9, 0.99, 0.999),
                     theta_plus: float = 0.01) -> str:
    """Markdown: `single_bit_radii` (additions / deletions) over a grid of settings."""
    lines = [("| theta_minus | p | Neyman-Pearson (tight) | variance-constrained (sound) | "
              "reference formula (NOT sound) |"), "|---|---|---|---|---|"]
    for tm in theta_minus:
        for prob in p:
            radii = single_bit_radii(prob, theta_plus, tm, 100, 400)
            lines.append(f"| {tm} | {prob} | " + " | ".join(
                f"{a} / {d}" for a, d in radii.values()) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(single_bit_table())
