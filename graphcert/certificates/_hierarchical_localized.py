"""Hierarchical smoothing with cluster-wise lower-level noise (docs/theory.md §14.1).

Rows are selected with probability p as in `_hierarchical`; a selected row of node cluster j
gets sparsity-aware flips ``(theta_plus[j], theta_minus[j])``. The adversary controls r' <= r
rows, in any of the clusters given, and changes ``a_j`` additions and ``d_j`` deletions among
the bits of its rows in cluster j. As for one noise, with ``q = p^r'`` the Neyman-Pearson fill
is ``q * L((p_A - (1 - q)) / q)``, now with L the exact localized lower-level fill over the
per-cluster counts (docs/theory.md §11, `exact_cells`). It falls as r' grows, and the rows
holding the changed bits touch at least as many clusters as carry changes; the certificate is
the minimum over every allocation of at most ``(additions, deletions)`` bits to clusters that
r rows can hold (at most r clusters changed), at ``r' = min(r, a' + d')``.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from graphcert.certificates._hierarchical import _check_upper, _result, largest_certified_r
from graphcert.certificates._localized_exact import _U, _Cells, exact_cells, merged_clusters
from graphcert.utils.validation import check_int, check_probabilities

__all__ = ["hierarchical_localized_certified", "hierarchical_localized_node_radius",
           "hierarchical_localized_worst_case"]

#: the most distinct allocations one certificate enumerates
MAX_ALLOCATIONS = 200_000


def _check_thetas(theta_plus, theta_minus) -> tuple[np.ndarray, np.ndarray]:
    """(K,) arrays in (0, 1) of equal length."""
    thetas = []
    for name, value in (("theta_plus", theta_plus), ("theta_minus", theta_minus)):
        theta = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if theta.ndim != 1 or theta.size == 0:
            raise ValueError(f"{name} must be a non-empty (K,) array, one entry per cluster, "
                             f"got shape {theta.shape}")
        if not np.all((theta > 0) & (theta < 1)):
            raise ValueError(f"{name} == {theta.tolist()}, every entry must be in (0, 1)")
        thetas.append(theta)
    if thetas[0].shape != thetas[1].shape:
        raise ValueError(f"theta_plus has {thetas[0].size} clusters and theta_minus "
                         f"{thetas[1].size}: they need the same length K")
    return thetas[0], thetas[1]


def _compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    """Every ``parts``-tuple of non-negative integers summing to ``total``."""
    for cuts in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1, *cuts, total + parts - 1)
        yield tuple(b - a - 1 for a, b in itertools.pairwise(edges))


def _perturbations(theta_plus, theta_minus, r: int, additions, deletions
                   ) -> dict[tuple, int]:
    """Every perturbation the adversary can make, as `merged_clusters` -> r' (distinct).

    Clusters with equal thetas are merged first (their bits are exchangeable, and a merged
    cluster needs only one row), then every allocation of a' <= additions and d' <= deletions
    to the distinct clusters, with at most r of them changed, at ``r' = min(r, a' + d')``.
    """
    tp, tm = _check_thetas(theta_plus, theta_minus)
    a_max = check_int(additions, "additions", "[0, inf)")
    d_max = check_int(deletions, "deletions", "[0, inf)")
    pairs = sorted(set(zip(tp.tolist(), tm.tolist(), strict=True)))
    k = len(pairs)
    out: dict[tuple, int] = {}
    for a_total in range(a_max + 1):
        for d_total in range(d_max + 1):
            if a_total + d_total == 0:
                continue
            for a in _compositions(a_total, k):
                for d in _compositions(d_total, k):
                    if sum(1 for x, y in zip(a, d, strict=True) if x or y) > r:
                        continue  # r rows hold the bits of at most r clusters
                    key = merged_clusters([p[0] for p in pairs], [p[1] for p in pairs], a, d)
                    out[key] = min(r, a_total + d_total)
                    if len(out) > MAX_ALLOCATIONS:
                        raise ValueError(f"more than MAX_ALLOCATIONS={MAX_ALLOCATIONS} "
                                         f"allocations of ({additions}, {deletions}) bits to "
                                         f"{k} clusters: use smaller budgets or fewer clusters")
    return out


def _fills(p_select, r, theta_plus, theta_minus, additions, deletions, num_nodes
           ) -> Iterator[tuple[_Cells, float]]:
    """(cells in fill order, q = p^r') of every perturbation; nothing for r = 0."""
    p_sel, r = _check_upper(p_select, r, num_nodes)
    perturbations = _perturbations(theta_plus, theta_minus, r, additions, deletions)
    for clusters, rows in perturbations.items():
        yield exact_cells(clusters), p_sel ** rows


def _scaled(cells: _Cells, p: np.ndarray, q: float) -> np.ndarray:
    """``q * L((p - (1 - q)) / q)``, 0 where ``p <= 1 - q`` (docs/theory.md §14): the ratio-0
    region first, then the lower-level cells scaled by q. The argument and the product are
    moved down by a few ulps, so the rounding of q and t cannot raise the bound (G is
    increasing in both)."""
    t = np.clip((p - (1.0 - q)) / q, 0.0, 1.0) * (1.0 - 8.0 * _U)
    return np.where(t > 0, q * (1.0 - 8.0 * _U) * cells.worst_case(t), 0.0)


def hierarchical_localized_worst_case(p_lower, p_select, r, theta_plus, theta_minus,
                                      additions, deletions, *, num_nodes=None):
    """Smallest probability of the predicted class under r adversarial nodes whose rows lie
    in clusters with lower-level flip probabilities ``theta_plus[j]``, ``theta_minus[j]``
    (docs/theory.md §14.1).

    Args:
        p_lower (float or np.ndarray): lower bound on ``Pr[g = y]`` under the noise.
        p_select (float): probability p in (0, 1] that a row gets lower-level noise.
        r (int): number of nodes the adversary controls (>= 0; <= ``num_nodes`` when given).
        theta_plus, theta_minus (array_like): (K,) flip probabilities in (0, 1), 0 -> 1 and
            1 -> 0, of the clusters the adversary's rows may lie in.
        additions, deletions (int): bits the adversary may add / delete among its rows, in all.
        num_nodes (int, optional): N, to reject ``r > N``.

    Returns:
        float or np.ndarray: the minimum over every allocation of the Neyman-Pearson fill, a
        float for a float ``p_lower``, else an array of its shape.
    """
    _check_upper(p_select, r, num_nodes)
    _check_thetas(theta_plus, theta_minus)
    p = check_probabilities(p_lower, "p_lower")
    out = p.copy()
    for cells, q in _fills(p_select, r, theta_plus, theta_minus, additions, deletions,
                           num_nodes):
        out = np.minimum(out, _scaled(cells, p, q))
    return _result(out, p_lower)


def hierarchical_localized_certified(p_lower, p_select, r, theta_plus, theta_minus, additions,
                                     deletions, *, p_upper=None, num_nodes=None):
    """Whether the prediction provably stays under r adversarial nodes (docs/theory.md §14.1).

    Binary variant (``p_upper`` None): the worst case of ``p_lower`` is above 1/2 for every
    allocation. Multi-class variant: for every allocation the worst case of ``p_lower`` beats
    the best case ``1 - worst(1 - p_upper)`` of the runner-up.

    Args:
        p_lower (float or np.ndarray): lower bound on the top class's probability.
        p_select (float): probability in (0, 1] that a row gets lower-level noise.
        r (int): number of nodes the adversary controls.
        theta_plus, theta_minus (array_like): (K,) flip probabilities of the clusters the
            adversary's rows may lie in.
        additions, deletions (int): bits the adversary may add / delete among its rows, in all.
        p_upper (float or np.ndarray, optional): upper bound on the runner-up's probability, of
            ``p_lower``'s shape; None: binary variant.
        num_nodes (int, optional): N, to reject ``r > N``.

    Returns:
        bool or np.ndarray: certified or not, of ``p_lower``'s shape.
    """
    _check_upper(p_select, r, num_nodes)
    _check_thetas(theta_plus, theta_minus)
    p = check_probabilities(p_lower, "p_lower")
    if p_upper is None:
        ok, rival = p > 0.5, None
    else:
        rival = np.broadcast_to(check_probabilities(p_upper, "p_upper"), p.shape)
        ok = p > rival
    for cells, q in _fills(p_select, r, theta_plus, theta_minus, additions, deletions,
                           num_nodes):
        high = 0.5 if rival is None else 1.0 - _scaled(cells, 1.0 - rival, q)
        ok = ok & (_scaled(cells, p, q) > high)
    return bool(ok) if np.ndim(p_lower) == 0 else ok


def hierarchical_localized_node_radius(p_lower, p_select, theta_plus, theta_minus, additions,
                                       deletions, max_nodes: int, *, p_upper=None
                                       ) -> np.ndarray:
    """Largest r <= ``max_nodes`` certified by :func:`hierarchical_localized_certified` per
    target, -1 where not even r = 0 is; the node budget a target tolerates in the collective
    certificate (docs/theory.md §14.1: certificates decrease in r).

    Args:
        p_lower (array_like): lower bounds on the top class's probability, (n,).
        p_select (float): probability in (0, 1] that a row gets lower-level noise.
        theta_plus, theta_minus (array_like): (K,) flip probabilities of the clusters the
            adversary's rows may lie in (e.g. those of the targets' receptive field).
        additions, deletions (int): bits the controlled nodes may add / delete, in all.
        max_nodes (int): largest r tried, >= 0.
        p_upper (array_like, optional): runner-up upper bounds (n,); None: binary variant.

    Returns:
        np.ndarray: int64 (n,), the certified number of controlled nodes (-1: none).
    """
    return largest_certified_r(
        lambda p, r, upper: hierarchical_localized_certified(
            p, p_select, r, theta_plus, theta_minus, additions, deletions, p_upper=upper),
        p_lower, max_nodes, p_upper)
