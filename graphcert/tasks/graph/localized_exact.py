"""Localized smoothing certified exactly: Holm-corrected vote bounds, each target's exact
region over per-cluster allocations, naive and collective counts (docs/theory.md §11).

The statistics are those of the localized method (same noise, same samples): the votes of
the smoothed classifier at every target. ``p_lower`` is the one-sided Clopper-Pearson bound
on the vote share of the predicted class (the most voted class of the main sample) with
Holm's correction over the targets (docs/theory.md §4.1), as SparseSmooth uses; a target that
fails its Holm test abstains. Its region: the allocations ``(a, d)`` of added / deleted bits
per input cluster with ``p_lower > p*_g(a, d)`` for the noise row g of its output cluster.
"""
from __future__ import annotations

import numpy as np

from graphcert.certificates.bounds import holm_lower_bounds
from graphcert.certificates.collective import LocalizedExactCollective
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.results import Curve, MethodResult, joint_grid
from graphcert.tasks.graph.surface import AttackSurface

__all__ = ["cluster_capacities", "localized_exact_result"]

#: the p_lower bound and its correction, recorded in results.json
BOUND = "clopper-pearson, holm"


def cluster_capacities(surface: AttackSurface, labels: np.ndarray, n_clusters: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per input cluster: bits that can be added and deleted, and the merged local budget
    (None without one). Node u with local budget r admits ``a <= min(zeros, r)``,
    ``d <= min(ones, r)``, ``a + d <= r``; summed over a cluster's nodes this is exact
    (`graphcert.certificates.collective`, sums of integral polymatroids).

    Args:
        surface (AttackSurface): per-node capacities and local budget.
        labels (np.ndarray): input cluster of every node, (N,).
        n_clusters (int): number of clusters C.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray | None]: int64 (C,) each.
    """
    cap_p, cap_m = surface.cap_plus.astype(float), surface.cap_minus.astype(float)
    rho = np.inf if surface.local_budget is None else float(surface.local_budget)
    a, d = np.minimum(cap_p, rho), np.minimum(cap_m, rho)
    r = np.minimum(rho, a + d)
    merged = [np.bincount(labels, weights=v, minlength=n_clusters).astype(np.int64)
              for v in (a, d)]
    local = None if surface.local_budget is None else \
        np.bincount(labels, weights=r, minlength=n_clusters).astype(np.int64)
    return merged[0], merged[1], local


def localized_exact_result(method: str, stats: SmoothingStats, y: np.ndarray,
                           targets: np.ndarray, theta_plus: np.ndarray,
                           theta_minus: np.ndarray, surface: AttackSurface, *, alpha: float,
                           max_deletions: int = 100, max_additions: int = 20,
                           max_nodes: int = 3000, joint_max_nodes: int = 400
                           ) -> MethodResult:
    """Certified-accuracy curves (deletions, additions) and the joint grid, naive and
    collective, of the exact localized certificate.

    Args:
        stats: the localized method's statistics (votes; ``stats.labels`` are the clusters).
        theta_plus, theta_minus: (C, C) flip probabilities, row = output cluster, column =
            input cluster.
        surface: per-node capacities and local budget of the adversary.
        max_nodes: branch-and-bound nodes (box halvings) per budget of the two curves; a
            search stopped there reports a lower bound (``collective_exact`` False in
            ``extra``).
        joint_max_nodes: the same for the joint grid's rows with additions (``joint_exact``
            in ``extra``): the grid has twenty times the budgets of the curves.

    Returns:
        MethodResult: predictions, the two curves and the joint grid.
    """
    targets = np.asarray(targets, dtype=np.int64)
    predicted = stats.candidate_vote[targets]
    p_lower, passed = holm_lower_bounds(stats.votes[targets, predicted], stats.n[targets],
                                        alpha)
    p_lower = np.where(passed, p_lower, 0.0)
    correct = predicted == y[targets]
    n_clusters = np.asarray(theta_plus).shape[0]
    caps = cluster_capacities(surface, stats.labels, n_clusters)
    group = stats.labels[targets]

    def certifier(chosen: np.ndarray, nodes: int = max_nodes) -> LocalizedExactCollective:
        return LocalizedExactCollective(p_lower, group, theta_plus, theta_minus, caps[0],
                                        caps[1], local=caps[2], targets=chosen,
                                        max_nodes=nodes)

    accurate, everyone = certifier(correct), certifier(np.ones(targets.size, dtype=bool))
    naive = accurate.naive_grid(max_additions, max_deletions)
    ratio = everyone.naive_grid(max_additions, max_deletions)
    result = MethodResult(method, predicted, correct, ~passed,
                          extra={"p_lower": p_lower.tolist(), "bounds": BOUND})
    deletions = accurate.sweep(0, np.arange(max_deletions + 1))
    additions = accurate.sweep(np.arange(max_additions + 1), 0)
    n = targets.size
    result.curves["deletions"] = Curve(list(range(max_deletions + 1)), naive[0].tolist(),
                                       _counts(deletions, naive[0]), ratio[0].tolist(), n)
    result.curves["additions"] = Curve(list(range(max_additions + 1)), naive[:, 0].tolist(),
                                       _counts(additions, naive[:, 0]), ratio[:, 0].tolist(), n)
    searches = deletions + additions
    joint, rows = np.zeros_like(naive), []
    joint[0] = result.curves["deletions"].collective
    grid = certifier(correct, joint_max_nodes)
    for budget_plus in range(1, max_additions + 1):  # rows stop once nothing is certified
        if joint[budget_plus - 1, 0] == 0:
            break
        row = grid.sweep(budget_plus, np.arange(max_deletions + 1))
        rows += row
        joint[budget_plus] = [r.count for r in row]
    joint = np.maximum(joint, naive)  # as in `_counts`, along both axes
    joint = np.flip(np.maximum.accumulate(np.maximum.accumulate(np.flip(joint), 0), 1))
    result.extra["joint"] = joint_grid(range(max_additions + 1), range(max_deletions + 1),
                                       naive.tolist(), joint.tolist(), n)
    result.extra["collective_exact"] = all(r.exact for r in searches)
    result.extra["joint_exact"] = all(r.exact for r in rows)
    result.extra["search_nodes"] = int(sum(r.nodes for r in searches + rows))
    return result


def _counts(results: list, naive: np.ndarray) -> list[int]:
    """Collective counts along a sweep. A stopped search gives a lower bound; the count at a
    budget is also at least the naive count and any bound at a larger budget (counts fall
    with the budget), so take the largest of these (exact counts are unchanged)."""
    counts = np.maximum([r.count for r in results], naive)
    return np.maximum.accumulate(counts[::-1])[::-1].astype(int).tolist()
