"""Exact (Neyman-Pearson) base certificate for cluster-wise sparsity-aware noise
(docs/theory.md §11).

The noise flips the bits of input cluster k with ``(theta_plus[k], theta_minus[k])``; the
adversary adds ``additions[k]`` and deletes ``deletions[k]`` bits of cluster k. Only the
perturbed bits differ in law. Per cluster the outcomes merge, as in SparseSmooth, into
``q_k = (#added bits that are 1 in z) + (#deleted bits that are 0 in z)``: the likelihood
ratio of cluster k is ``c_k * exp(q_k L_k)`` with ``L_k = ln((1 - tp)(1 - tm) / (tp tm))``.
Clusters are independent, so the cells are the vectors ``(q_1, ..., q_K)``, with product
masses; clusters with equal ``(theta_plus, theta_minus)`` are one cluster (their bits are
exchangeable, so the merge is exact). The worst case fills mass ``p_lower`` under x into the
cells in increasing ratio order (the last one partially) and sums their mass under x'.
Structure noise uses the same routine with clusters of node pairs.

Floating point. The result is a lower bound on the exact worst case, below it by at most a
proven margin (a relative ``~1e-10``): see :func:`_Cells.worst_case` and docs/theory.md §11.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from graphcert.certificates._neyman_pearson import log_add_bernoulli
from graphcert.utils.validation import check_nonnegative_integers, check_probabilities

__all__ = ["localized_exact_certified", "localized_exact_threshold",
           "localized_exact_worst_case"]

#: unit roundoff of float64
_U = 2.0**-53
#: the most cells one perturbation may have (prod_k (a_k + d_k + 1)); each takes ~50 bytes
MAX_CELLS = 2**25
#: rounding errors per elementary operation, in units of _U (glibc's exp, log, log1p are
#: within 1-2 ulp; 16 leaves room for the few operations that form each value)
_OPS = 16.0


@dataclass(frozen=True)
class _Cells:
    """Cells of one perturbation in fill order, with their rounding errors folded in.

    ``log_px`` is an upper bound on each cell's log mass under x and ``log_px + log_ratio``
    a lower bound on its log mass under x' (each computed log moved by its proven error
    bound, see `exact_cells`); the cells are sorted by ``log_ratio``.
    """

    log_px: np.ndarray
    log_ratio: np.ndarray

    @property
    def _cumulative(self) -> tuple[np.ndarray, np.ndarray, float]:
        n = self.log_px.size
        cum_x, cum_xp = np.zeros(n + 1), np.zeros(n + 1)
        np.cumsum(np.exp(self.log_px), out=cum_x[1:])
        np.cumsum(np.exp(self.log_px + self.log_ratio), out=cum_xp[1:])
        # sequential summation of n terms, each with relative error <= 2u (exp):
        # |computed - exact partial sum| <= (n + 2) * 2u * total
        tau = 2.0 * _U * (n + 2) * max(1.0, cum_x[-1], cum_xp[-1]) * 1.01
        return cum_x, cum_xp, tau

    def worst_case(self, p: np.ndarray) -> np.ndarray:
        """Lower bound on the smallest x'-mass of a test with x-mass ``p`` (any shape).

        With P, Q the exact cell masses and P^ = exp(log_px) >= P, Q^ = exp(log_px +
        log_ratio) <= Q the measures the stored logs define exactly, the cells are sorted
        exactly by Q^/P^. Any test phi with P(phi) = p has P^(phi) >= p and Q(phi) >=
        Q^(phi) >= F^(p), F^ the Neyman-Pearson fill of (P^, Q^). F^ is convex, so F^(s) >=
        F^(t_k) + (s - t_k) r_k at the start t_k <= s of any cell k; the rounding of the
        partial sums (tau) is absorbed by evaluating at s - 2 tau and subtracting tau.
        """
        cum_x, cum_xp, tau = self._cumulative
        s = p - 2.0 * tau
        k = np.clip(np.searchsorted(cum_x, s, side="right") - 1, 0, self.log_px.size - 1)
        rest = np.maximum(s - cum_x[k], 0.0)
        with np.errstate(divide="ignore", over="ignore"):
            partial = np.exp(np.log(rest) + self.log_ratio[k]) * (1.0 - 8.0 * _U)
        partial = np.where(rest > 0, partial, 0.0)
        bound = (cum_xp[k] - tau + partial) * (1.0 - 8.0 * _U)
        return np.where(s > 0, np.clip(bound, 0.0, 1.0), 0.0)

    def threshold(self) -> float:
        """The p* with ``worst_case(p) > 1/2  <=>  p > p*`` (1.0: nothing certified).

        Inverts the bound of `worst_case` (increasing in p), then moves p* up by a few ulps
        against the rounding of the inversion."""
        cum_x, cum_xp, tau = self._cumulative
        target = 0.5 / (1.0 - 8.0 * _U) + tau  # what cum_xp[k] + partial must exceed
        k = int(np.searchsorted(cum_xp[1:], target, side="right"))
        if k >= self.log_px.size:
            return 1.0
        rest = target - cum_xp[k]
        step = np.exp(np.log(rest) - self.log_ratio[k]) / (1.0 - 8.0 * _U) if rest > 0 else 0.0
        p = (cum_x[k] + step + 2.0 * tau) * (1.0 + 16.0 * _U)
        return float(min(p, 1.0))


def _bit_logs(tp: float, tm: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Per added / deleted bit, (log P[counts in q], log P[does not]) under x.

    q counts an added bit that is 1 in z (probability tp under x) and a deleted bit that is
    0 in z (probability tm under x)."""
    return (np.log(tp), np.log1p(-tp)), (np.log(tm), np.log1p(-tm))


@lru_cache(maxsize=2**16)
def _cluster_cells(tp: float, tm: float, n_add: int, n_del: int) -> np.ndarray:
    """Log pmf of q under x for one cluster, q = 0..n_add + n_del: one Bernoulli
    convolution per bit, from the cached pmf with one bit fewer (read-only array)."""
    if n_add + n_del == 0:
        log_pmf = np.zeros(1)
    else:
        (a1, a0), (d1, d0) = _bit_logs(tp, tm)
        if n_del:
            log_pmf = log_add_bernoulli(_cluster_cells(tp, tm, n_add, n_del - 1), d1, d0)
        else:
            log_pmf = log_add_bernoulli(_cluster_cells(tp, tm, n_add - 1, 0), a1, a0)
    log_pmf.flags.writeable = False
    return log_pmf


@lru_cache(maxsize=2**16)
def _cluster_log_ratio(tp: float, tm: float, n_add: int, n_del: int) -> np.ndarray:
    """ln(Pr_x' / Pr_x) of the q-cells of one cluster: an added bit is 1 in z with
    probability 1 - tm under x' (tp under x), a deleted bit is 0 in z with probability
    1 - tp under x' (tm under x). (Read-only array.)"""
    q = np.arange(n_add + n_del + 1, dtype=np.float64)
    log_l = np.log1p(-tp) + np.log1p(-tm) - np.log(tp) - np.log(tm)
    const = n_add * (np.log(tm) - np.log1p(-tp)) + n_del * (np.log(tp) - np.log1p(-tm))
    out = const + q * log_l
    out.flags.writeable = False
    return out


@lru_cache(maxsize=2**10)
def _log_magnitude(tp: float, tm: float) -> float:
    """|ln tp| + |ln(1 - tp)| + |ln tm| + |ln(1 - tm)|: bounds the terms of a log ratio."""
    return abs(np.log(tp)) + abs(np.log1p(-tp)) + abs(np.log(tm)) + abs(np.log1p(-tm))


def merged_clusters(theta_plus, theta_minus, additions, deletions
                    ) -> tuple[tuple[float, float, int, int], ...]:
    """The perturbation as a canonical, sorted tuple of ``(tp, tm, a, d)`` with one entry per
    distinct ``(tp, tm)`` among the perturbed clusters (counts summed; clusters without
    changes dropped). Equal tuples have equal certificates."""
    merged: dict[tuple[float, float], list[int]] = {}
    for tp, tm, a, d in zip(theta_plus, theta_minus, additions, deletions, strict=True):
        if a or d:
            entry = merged.setdefault((float(tp), float(tm)), [0, 0])
            entry[0] += int(a)
            entry[1] += int(d)
    return tuple(sorted((tp, tm, a, d) for (tp, tm), (a, d) in merged.items()))


def exact_cells(clusters: tuple[tuple[float, float, int, int], ...]) -> _Cells:
    """The cells of a perturbation given as `merged_clusters`, in fill order, each log mass
    moved by its proven error bound (x-mass up, x'-mass down).

    Error bound of a cell c: its log mass under x is formed by ``ops`` roundings (one
    Bernoulli convolution per perturbed bit, the sums over clusters), each off by at most
    ``_OPS u (1 + |value|)``; along the way every value is a log probability >= the final
    one, and logaddexp passes its operands' errors on with weights summing to 1, so
    ``|error| <= _OPS u ops (1 + |log_px_c|)``. The log ratio is a sum of terms of total
    magnitude <= ``m_ratio`` (below), so its error is <= ``_OPS u ops m_ratio``. E_c covers
    both and the rounding of the shifts themselves.
    """
    n_cells = math.prod(a + d + 1 for _, _, a, d in clusters)
    if n_cells > MAX_CELLS:
        raise ValueError(f"the perturbation {[(a, d) for _, _, a, d in clusters]} (additions, "
                         f"deletions per distinct noise) has {n_cells} cells, more than "
                         f"MAX_CELLS={MAX_CELLS}: use smaller budgets or fewer clusters")
    log_px, log_ratio, ops, m_ratio = np.zeros(1), np.zeros(1), 4.0, 1.0
    for tp, tm, a, d in clusters:
        log_px = np.add.outer(log_px, _cluster_cells(tp, tm, a, d)).ravel()
        log_ratio = np.add.outer(log_ratio, _cluster_log_ratio(tp, tm, a, d)).ravel()
        ops += a + d + 8.0
        m_ratio += 2.0 * (a + d + 1) * _log_magnitude(tp, tm)
    slack = _OPS * _U * ops * (2.0 + np.abs(log_px) + m_ratio)
    log_px = log_px + slack
    log_ratio = log_ratio - 2.0 * slack
    order = np.argsort(log_ratio, kind="stable")
    return _Cells(log_px[order], log_ratio[order])


def _check(p_lower, theta_plus, theta_minus, additions, deletions):
    p = check_probabilities(p_lower, "p_lower")
    thetas = []
    for name, value in (("theta_plus", theta_plus), ("theta_minus", theta_minus)):
        theta = check_probabilities(value, name)
        if theta.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional (one entry per cluster), got "
                             f"shape {theta.shape}")
        if np.any((theta <= 0) | (theta >= 1)):
            raise ValueError(f"{name} == {theta.tolist()}, every entry must be in (0, 1)")
        thetas.append(theta)
    counts = [check_nonnegative_integers(value, name) for name, value in
              (("additions", additions), ("deletions", deletions))]
    size = thetas[0].size
    for name, array in zip(("theta_minus", "additions", "deletions"), (thetas[1], *counts),
                           strict=True):
        if array.shape != (size,):
            raise ValueError(f"{name} has shape {array.shape}, theta_plus has {size} "
                             f"clusters: every per-cluster argument needs shape ({size},)")
    return p, merged_clusters(*thetas, *counts)


def localized_exact_worst_case(p_lower, theta_plus, theta_minus, additions,
                               deletions) -> np.ndarray:
    """Smallest probability of the predicted class at x' over all base classifiers whose
    probability at x is ``p_lower`` (docs/theory.md §11), as a lower bound within a proven
    margin (relative ~1e-10) of the exact Neyman-Pearson value.

    Args:
        p_lower: float or array (e.g. one entry per node) in [0, 1].
        theta_plus, theta_minus: (K,) flip probabilities in (0, 1) of each input cluster
            (0 -> 1 and 1 -> 0).
        additions, deletions: (K,) non-negative integer bits added / deleted per cluster.

    Returns:
        array of ``p_lower``'s shape.
    """
    p, clusters = _check(p_lower, theta_plus, theta_minus, additions, deletions)
    if not clusters:
        return p.copy()
    return exact_cells(clusters).worst_case(p)


def localized_exact_certified(p_lower, theta_plus, theta_minus, additions,
                              deletions) -> np.ndarray:
    """True where :func:`localized_exact_worst_case` is above 1/2 (docs/theory.md §11);
    arguments as there, result of ``p_lower``'s shape.

    Args:
        p_lower (array_like): lower bounds on the top class's probability.
        theta_plus, theta_minus (array_like): flip probabilities per input cluster, (K,).
        additions, deletions (array_like): bits added / deleted per input cluster, (K,).

    Returns:
        np.ndarray: bool of ``p_lower``'s shape.
    """
    return localized_exact_worst_case(p_lower, theta_plus, theta_minus, additions,
                                      deletions) > 0.5


def localized_exact_threshold(theta_plus, theta_minus, additions, deletions) -> float:
    """The p* with ``localized_exact_certified(p, ...) <=> p > p*`` (docs/theory.md §11),
    up to the last ulps of the inversion, which move p* up (conservative); 1.0 when no p
    is certified.

    Args:
        theta_plus, theta_minus (array_like): flip probabilities per input cluster, (K,).
        additions, deletions (array_like): bits added / deleted per input cluster, (K,).

    Returns:
        float: p* in [0, 1].
    """
    _, clusters = _check(0.5, theta_plus, theta_minus, additions, deletions)
    return cluster_threshold(clusters)


def cluster_threshold(clusters: tuple[tuple[float, float, int, int], ...]) -> float:
    """`localized_exact_threshold` of a perturbation given as `merged_clusters`."""
    if not clusters:
        return 0.5
    return exact_cells(clusters).threshold()
