"""Naive and collective certificates over the exact localized regions (docs/theory.md §11).

The adversary picks one allocation ``(a, d)``: bits added / deleted per input cluster, within
the clusters' capacities (and merged local budgets) and the global budgets. A target of
output group g with lower bound p stays certified iff ``p > p*_g(a, d)``
(`graphcert.certificates._localized_regions.RowThresholds`). The collective certificate is

    min over admissible (a, d) of  sum_g #{targets n of group g : p_n > p*_g(a, d)},

solved exactly by branch and bound over the clusters' counts (best first): a node fixes the
counts of the first clusters and confines the next cluster's to a box, which expanding the
node halves; its bound is, per group, the count left by that group's own most damaging
completion (Blackwell order, docs/theory.md §11; it relaxes the local budgets), summed over
groups, raised by a bound that shares the remaining budget between the groups. Bounds only
grow down the tree, so the search stops with the exact optimum once no open node's bound is
below the best allocation found. If the search exceeds ``max_nodes`` it stops early and
returns the smallest bound of the open nodes (a valid lower bound, never above the optimum)
and says so.

Deletion budgets without additions are first solved by evaluating every allocation with
closed-form thresholds (`graphcert.certificates._localized_deletions`, docs/theory.md §11.3):
exactly where the top cell decides, else a lower bound that the search starts from.
"""
from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from graphcert.certificates._localized_deletions import top_cell_budget, top_cell_thresholds
from graphcert.certificates._localized_exact import merged_clusters
from graphcert.certificates._localized_regions import (
    BlackwellOrder,
    ClusterCapacities,
    RowThresholds,
    _threshold,
)
from graphcert.utils.validation import check_nonnegative_integers, check_probabilities

__all__ = ["LocalizedExactCollective", "LocalizedExactResult"]


@dataclass(frozen=True)
class LocalizedExactResult:
    """A collective count, whether the search proved it optimal (else a lower bound), the
    nodes it expanded and a worst allocation found (additions, deletions per cluster).

    Args:
        count (int): the collective count.
        exact (bool): whether the search proved it optimal.
        nodes (int): search nodes expanded.
        additions (np.ndarray): worst allocation's additions per cluster, (K,).
        deletions (np.ndarray): its deletions per cluster, (K,).
    """

    count: int
    exact: bool
    nodes: int
    additions: np.ndarray
    deletions: np.ndarray


def _monotone_steps(value, top: int) -> np.ndarray:
    """``[value(0), ..., value(top)]`` of a non-increasing integer function, evaluated only
    where it may change: a stretch with equal values at both ends is constant."""
    out = np.empty(top + 1, dtype=np.int64)
    out[0], out[top] = value(0), value(top)
    stack = [(0, top)]
    while stack:
        lo, hi = stack.pop()
        if out[lo] == out[hi]:
            out[lo:hi + 1] = out[lo]
        elif hi - lo > 1:
            mid = (lo + hi) // 2
            out[mid] = value(mid)
            stack += [(lo, mid), (mid, hi)]
    return out


#: the most allocations `LocalizedExactCollective` enumerates for one budget
MAX_ENUMERATED = 5_000_000


@lru_cache(maxsize=512)
def _compositions(total: int, parts: int) -> np.ndarray:
    """All ways to write `total` as an ordered sum of `parts` non-negative integers:
    (C(total + parts - 1, parts - 1), parts) int32, read-only."""
    if parts == 1:
        out = np.array([[total]], dtype=np.int32)
    else:
        blocks = []
        for first in range(total, -1, -1):
            rest = _compositions(total - first, parts - 1)
            blocks.append(np.hstack([np.full((rest.shape[0], 1), first, dtype=np.int32),
                                     rest]))
        out = np.concatenate(blocks)
    out.flags.writeable = False
    return out


class LocalizedExactCollective:
    """Naive and collective certificates of targets over exact localized regions.

    Args:
        p_lower: (n,) lower bounds on the probability of each target's prediction; targets
            with ``p_lower <= 1/2`` (abstaining) and those not in ``targets`` never count.
        group: (n,) output group (row of theta) of each target.
        theta_plus, theta_minus: (G, K) flip probabilities in (0, 1), row = output group,
            column = input cluster.
        cap_plus, cap_minus: (K,) bits the adversary can add / delete per input cluster.
        local: None or (K,) merged local budget per input cluster.
        targets: None (all) or boolean (n,) mask of the targets to count.
        max_nodes: branch-and-bound nodes per `certify` before it stops with a lower bound.
    """

    def __init__(self, p_lower, group, theta_plus, theta_minus, cap_plus, cap_minus, *,
                 local=None, targets=None, max_nodes: int = 200_000):
        p = check_probabilities(p_lower, "p_lower").ravel()
        grp = check_nonnegative_integers(group, "group").ravel()
        tp = check_probabilities(theta_plus, "theta_plus")
        tm = check_probabilities(theta_minus, "theta_minus")
        if tp.ndim != 2 or tp.shape != tm.shape:
            raise ValueError(f"theta_plus and theta_minus must be (groups, clusters) arrays of "
                             f"one shape, got {tp.shape} and {tm.shape}")
        if grp.shape != p.shape or (grp.size and grp.max() >= tp.shape[0]):
            raise ValueError(f"group must be ({p.size},) with entries < {tp.shape[0]}")
        self.capacities = ClusterCapacities.of(cap_plus, cap_minus, local)
        if self.capacities.cap_plus.size != tp.shape[1]:
            raise ValueError(f"cap_plus has {self.capacities.cap_plus.size} clusters, theta "
                             f"has {tp.shape[1]} columns")
        chosen = np.ones(p.size, dtype=bool) if targets is None else \
            np.asarray(targets, dtype=bool).ravel()
        if chosen.shape != p.shape:
            raise ValueError(f"targets must be a boolean mask of shape {p.shape}")
        chosen &= p > 0.5
        self.groups = np.unique(grp[chosen])
        self.rows = [RowThresholds(tp[g], tm[g]) for g in self.groups]
        self.p_sorted = [np.sort(p[chosen & (grp == g)]) for g in self.groups]
        self.total = int(chosen.sum())
        self._top_cell_budget = min((top_cell_budget(row.theta_plus, row.theta_minus)
                                     for row in self.rows), default=-1)
        self.max_nodes = int(max_nodes)
        self._best: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ counting
    def _count(self, index: int, clusters: tuple) -> int:
        """Targets of group `index` certified under a perturbation given as
        `merged_clusters`. Thresholds only grow with the counts, so if one cluster's part
        alone (few cells, cached) already reaches the group's largest p_lower, none is, and
        the joint cells are never built."""
        ps = self.p_sorted[index]
        if not ps.size or any(_threshold((part,)) >= ps[-1] for part in clusters):
            return 0
        return self._certified(index, _threshold(clusters) if clusters else 0.5)

    def _certified(self, index: int, threshold: float) -> int:
        ps = self.p_sorted[index]
        return int(ps.size - np.searchsorted(ps, threshold, side="right"))

    def count(self, additions: np.ndarray, deletions: np.ndarray) -> int:
        """Targets still certified under one allocation.

        Args:
            additions (np.ndarray): bits added per input cluster, (K,).
            deletions (np.ndarray): bits deleted per input cluster, (K,).

        Returns:
            int: certified targets.
        """
        return sum(self._count(i, merged_clusters(row.theta_plus, row.theta_minus, additions,
                                                  deletions))
                   for i, row in enumerate(self.rows))

    def naive(self, budget_plus: int, budget_minus: int) -> int:
        """Targets certified against every admissible allocation on their own.

        Args:
            budget_plus (int): bits added.
            budget_minus (int): bits deleted.

        Returns:
            int: certified targets.
        """
        return sum(self._certified(i, row.worst(self.capacities, budget_plus, budget_minus))
                   for i, row in enumerate(self.rows))

    def naive_grid(self, max_plus: int, max_minus: int) -> np.ndarray:
        """`naive` on the grid of budgets (max_plus + 1, max_minus + 1).

        Args:
            max_plus (int): largest addition budget.
            max_minus (int): largest deletion budget.

        Returns:
            np.ndarray: int64 (max_plus + 1, max_minus + 1).
        """
        out = np.zeros((max_plus + 1, max_minus + 1), dtype=np.int64)
        for i, row in enumerate(self.rows):
            grid = row.worst_grid(self.capacities, max_plus, max_minus)
            ps = self.p_sorted[i]
            out += ps.size - np.searchsorted(ps, grid, side="right")
        return out

    # ------------------------------------------------------------------ the search
    def _box_caps(self, k: int, top_plus: int, top_minus: int) -> tuple[np.ndarray, np.ndarray]:
        """The clusters' capacities with cluster k's counts capped at the box's upper ends."""
        cap_a, cap_d = self.capacities.cap_plus.copy(), self.capacities.cap_minus.copy()
        cap_a[k], cap_d[k] = top_plus, top_minus
        return cap_a, cap_d

    def _bound(self, a: np.ndarray, d: np.ndarray, fixed: int, rest_plus: int,
               rest_minus: int, cap_a: np.ndarray, cap_d: np.ndarray) -> int:
        """Sum over groups of the count left by the group's most damaging completion of
        ``(a, d)`` over the clusters from `fixed` on, within ``cap_a``, ``cap_d`` (local
        budgets relaxed); 0 for a group whose clusters are not totally ordered."""
        free = np.arange(a.size) >= fixed
        total = 0
        for i, row in enumerate(self.rows):
            if not row.order.total:
                continue
            worst_a = BlackwellOrder.fill(row.order.plus, cap_a, rest_plus, a, free)
            worst_d = BlackwellOrder.fill(row.order.minus, cap_d, rest_minus, d, free)
            total += self._count(i, merged_clusters(row.theta_plus, row.theta_minus, worst_a,
                                                    worst_d))
        return total

    def _split_bound(self, a: np.ndarray, d: np.ndarray, fixed: int, rest_plus: int,
                     rest_minus: int, cap_a: np.ndarray, cap_d: np.ndarray) -> int:
        """A bound that shares the remaining deletions R between the groups (the remaining
        additions if no deletions remain), for the completions of ``(a, d)`` over the
        clusters from `fixed` on within ``cap_a``, ``cap_d``.

        For group g the other kind's remaining bits go where they hurt g most (its own
        worst completion, as in `_bound`). Of the shared kind, let b be g's most informative
        free cluster (with room left) and s the next one. Upgrading every added bit outside
        b to s's noise (a Blackwell upgrade: the count can only drop) and counting R - t
        such bits when t go to b bounds g's count below by M_g(t), which depends on the
        completion only through t, its count in b. So the count is at least
        ``sum_h F_h(y_h)``, ``F_h(t)`` the sum of M_g(t) over the groups whose b is h,
        minimized over ``sum_h y_h <= R`` by a min-plus recursion over the clusters h.
        0 where an order is not total (then `_bound` decides)."""
        if rest_plus + rest_minus == 0 or not all(r.order.total for r in self.rows):
            return 0
        plus = rest_minus == 0  # the shared kind
        budget = rest_plus if plus else rest_minus
        room = cap_a - a if plus else cap_d - d
        free = np.arange(a.size) >= fixed
        open_ = free & (room > 0)
        tables: dict[int, np.ndarray] = {}
        constant = 0
        for i, row in enumerate(self.rows):
            full_a = a if plus else BlackwellOrder.fill(row.order.plus, cap_a, rest_plus, a,
                                                        free)
            fixed_part = [(tp, tm, int(ak), int(dk)) for tp, tm, ak, dk in zip(
                row.theta_plus, row.theta_minus, full_a, d, strict=True) if ak or dk]
            order = [k for k in (row.order.plus if plus else row.order.minus) if open_[k]]
            if not order:
                constant += self._count(i, merged_clusters(*zip(*fixed_part, strict=True))
                                        if fixed_part else ())
                continue
            best, second = order[0], order[1] if len(order) > 1 else order[0]

            def count(t: int, i=i, row=row, best=best, second=second, part=fixed_part) -> int:
                extra = [(row.theta_plus[best], row.theta_minus[best], t),
                         (row.theta_plus[second], row.theta_minus[second], budget - t)]
                virtual = part + [(tp, tm, n, 0) if plus else (tp, tm, 0, n)
                                  for tp, tm, n in extra]
                return self._count(i, merged_clusters(*zip(*virtual, strict=True)))

            top = int(min(budget, room[best]))
            table = tables.setdefault(best, np.zeros(budget + 1, dtype=np.int64))
            table[:top + 1] += _monotone_steps(count, top)
            table[top + 1:] = np.iinfo(np.int64).max // 4  # more than b can take
        big = np.iinfo(np.int64).max // 4
        spent = np.full(budget + 1, big)  # least sum of F so far, by budget used
        spent[0] = 0
        for table in tables.values():
            new = np.full_like(spent, big)
            for t, value in enumerate(table):
                new[t:] = np.minimum(new[t:], spent[:spent.size - t] + value)
            spent = new
        return constant + int(spent.min())

    def _completions(self, a, d, k, rest_plus, rest_minus, cap_a, cap_d) -> list:
        """Each group's most damaging completion of ``(a, d)`` over the clusters from k on
        within ``cap_a``, ``cap_d``, where it is admissible (no local budget binds): each
        one's count bounds the optimum above."""
        if self.capacities.binds:
            return []
        free = np.arange(a.size) >= k
        distinct = {(tuple(BlackwellOrder.fill(row.order.plus, cap_a, rest_plus, a, free)),
                     tuple(BlackwellOrder.fill(row.order.minus, cap_d, rest_minus, d, free)))
                    for row in self.rows if row.order.total}
        return [(np.array(plus), np.array(minus)) for plus, minus in sorted(distinct)]

    def _box(self, k: int, rest_plus: int, rest_minus: int) -> tuple[int, int]:
        """Upper ends of cluster k's counts when the earlier clusters are fixed."""
        caps = self.capacities
        local = caps.local[k]
        return (int(min(rest_plus, caps.cap_plus[k], local)),
                int(min(rest_minus, caps.cap_minus[k], local)))

    def _leaves(self, a, d, k, rest_plus, rest_minus):
        """The maximal admissible counts of the last cluster k given the earlier ones."""
        caps = self.capacities
        top_a, top_d = min(rest_plus, caps.cap_plus[k]), min(rest_minus, caps.cap_minus[k])
        for ak, dk in itertools.product(range(top_a, -1, -1), range(top_d, -1, -1)):
            room = ak + dk < caps.local[k]
            if ak + dk > caps.local[k] or (ak < top_a and room) or (dk < top_d and room):
                continue
            yield ak, dk

    def certify(self, budget_plus: int, budget_minus: int,
                start: tuple[np.ndarray, np.ndarray] | None = None) -> LocalizedExactResult:
        """Collective count under at most the budgets (exact unless `exact` is False).

        ``start``: an admissible allocation whose count seeds the search (any allocation is
        an upper bound on the optimum).

        A search node fixes the counts of the clusters before k and confines cluster k's to a
        box ``[a_k, top_plus] x [d_k, top_minus]`` (``a``, ``d`` hold the box's lower
        corner); expanding it halves the box along its longer side, and a box of one point
        opens the full box of cluster k + 1 (the last cluster's maximal counts are evaluated
        at once). Halving, unlike one child per count, lets one bound discard many counts.

        Args:
            budget_plus (int): bits added, >= 0.
            budget_minus (int): bits deleted, >= 0.
            start (tuple[np.ndarray, np.ndarray], optional): (additions, deletions) per cluster.

        Returns:
            LocalizedExactResult: the count and the search's outcome.
        """
        eps_p = int(check_nonnegative_integers(budget_plus, "budget_plus"))
        eps_m = int(check_nonnegative_integers(budget_minus, "budget_minus"))
        n_clusters = self.capacities.cap_plus.size
        zero = np.zeros(n_clusters, dtype=np.int64)
        if not self.total:
            return LocalizedExactResult(0, True, 0, zero, zero)
        floor = 0  # a lower bound on the optimum
        if eps_p == 0 and self._enumerable(eps_m):
            floor, candidate = self._enumerate_deletions(eps_m)
            if eps_m <= self._top_cell_budget:
                self._best = candidate
                return LocalizedExactResult(floor, True, 0, *candidate)
            value = self.count(*candidate)
            if value == floor:
                self._best = candidate
                return LocalizedExactResult(floor, True, 0, *candidate)
            if start is None or value < self.count(*start):
                start = candidate
        best = self._seed(eps_p, eps_m, start)
        best_count = self.count(*best)
        tie = itertools.count()
        heap: list = []

        def open_cluster(a, d, k, bound, evaluated=True):
            """Push cluster k's full box below the fixed counts (a, d) of the earlier
            clusters (with the bound of the node it came from), or evaluate the last
            cluster's maximal counts."""
            nonlocal best_count, best
            rest_p, rest_m = eps_p - int(a.sum()), eps_m - int(d.sum())
            if k < n_clusters - 1:
                heapq.heappush(heap, (bound, -k, next(tie), a, d, *self._box(k, rest_p, rest_m),
                                      evaluated))
                return
            for ak, dk in self._leaves(a, d, k, rest_p, rest_m):
                leaf_a, leaf_d = a.copy(), d.copy()
                leaf_a[k], leaf_d[k] = ak, dk
                value = self.count(leaf_a, leaf_d)
                if value < best_count:
                    best_count, best = value, (leaf_a, leaf_d)

        open_cluster(zero, zero, 0, 0, evaluated=False)
        nodes = 0
        while heap and heap[0][0] < best_count and best_count > floor:
            if nodes >= self.max_nodes:
                return LocalizedExactResult(max(floor, min(best_count, heap[0][0])), False,
                                            nodes, *best)
            bound, depth, _, a, d, top_a, top_d, evaluated = heapq.heappop(heap)
            k = -depth
            rest_p, rest_m = eps_p - int(a.sum()), eps_m - int(d.sum())
            cap_a, cap_d = self._box_caps(k, top_a, top_d)
            if not evaluated:
                bound = max(bound, self._bound(a, d, k, rest_p, rest_m, cap_a, cap_d))
                if bound < best_count:
                    bound = max(bound, self._split_bound(a, d, k, rest_p, rest_m, cap_a,
                                                         cap_d))
                if bound < best_count:
                    heapq.heappush(heap, (bound, depth, next(tie), a, d, top_a, top_d, True))
                continue
            nodes += 1
            for completion in self._completions(a, d, k, rest_p, rest_m, cap_a, cap_d):
                value = self.count(*completion)
                if value < best_count:
                    best_count, best = value, completion
            if a[k] == top_a and d[k] == top_d:  # one point: cluster k is fixed
                if a[k] + d[k] <= self.capacities.local[k]:
                    open_cluster(a, d, k + 1, bound)
                continue
            if top_a - a[k] >= top_d - d[k]:
                mid = (int(a[k]) + top_a) // 2
                upper_a, upper_d = a.copy(), d
                upper_a[k] = mid + 1
                halves = [(upper_a, upper_d, top_a, top_d), (a, d, mid, top_d)]
            else:
                mid = (int(d[k]) + top_d) // 2
                upper_a, upper_d = a, d.copy()
                upper_d[k] = mid + 1
                halves = [(upper_a, upper_d, top_a, top_d), (a, d, top_a, mid)]
            for half_a, half_d, half_top_a, half_top_d in halves:
                heapq.heappush(heap, (bound, depth, next(tie), half_a, half_d, half_top_a,
                                      half_top_d, False))
        self._best = best
        return LocalizedExactResult(best_count, True, nodes, *best)

    def _enumerable(self, eps_m: int) -> bool:
        """Whether `_enumerate_deletions` applies to a deletion budget: every allocation of
        exactly `eps_m` deletions is admissible, every row has a top cell
        (`top_cell_budget` >= 0) and there are at most `MAX_ENUMERATED` allocations."""
        caps = self.capacities
        n_clusters = caps.cap_minus.size
        return (not caps.binds and self._top_cell_budget >= 0
                and eps_m <= int(caps.cap_minus.min())
                and math.comb(eps_m + n_clusters - 1, n_clusters - 1) <= MAX_ENUMERATED)

    def _enumerate_deletions(self, eps_m: int) -> tuple[int, tuple[np.ndarray, np.ndarray]]:
        """A lower bound on the collective count under `eps_m` deletions and the allocation
        that attains it: every allocation of exactly `eps_m` (counts only fall with more
        deletions) evaluated with the closed-form thresholds of
        `graphcert.certificates._localized_deletions`, which bound p* above. The bound is
        the exact count up to `top_cell_budget` deletions."""
        allocations = _compositions(eps_m, self.capacities.cap_minus.size)
        as_float = allocations.astype(float)
        counts = np.zeros(allocations.shape[0], dtype=np.int64)
        for row, ps in zip(self.rows, self.p_sorted, strict=True):
            thresholds = top_cell_thresholds(row.theta_plus, row.theta_minus, as_float)
            counts += ps.size - np.searchsorted(ps, thresholds, side="right")
        worst = int(np.argmin(counts))
        deletions = allocations[worst].astype(np.int64)
        return int(counts[worst]), (np.zeros_like(deletions), deletions)

    def _seed(self, eps_p: int, eps_m: int, start) -> tuple[np.ndarray, np.ndarray]:
        """The best of each group's own most damaging allocation (and `start`)."""
        caps = self.capacities
        candidates = [] if start is None else [tuple(np.asarray(v, dtype=np.int64)
                                                     for v in start)]
        for row in self.rows:
            if row.order.total and not caps.binds:
                candidates.append((BlackwellOrder.fill(row.order.plus, caps.cap_plus, eps_p),
                                   BlackwellOrder.fill(row.order.minus, caps.cap_minus,
                                                       eps_m)))
        zero = np.zeros(caps.cap_plus.size, dtype=np.int64)
        candidates.append((zero, zero))
        admissible = [c for c in candidates if self._admissible(*c, eps_p, eps_m)]
        return min(admissible, key=lambda c: self.count(*c))

    def _admissible(self, a, d, eps_p, eps_m) -> bool:
        caps = self.capacities
        return bool(a.sum() <= eps_p and d.sum() <= eps_m and np.all(a <= caps.cap_plus)
                    and np.all(d <= caps.cap_minus) and np.all(a + d <= caps.local))

    def sweep(self, budgets_plus, budgets_minus) -> list[LocalizedExactResult]:
        """`certify` along non-decreasing budgets (scalars broadcast), each search seeded
        with the previous worst allocation; zeros (exact) after the first 0.

        Args:
            budgets_plus (array_like): bits added, (B,) or a scalar.
            budgets_minus (array_like): bits deleted, (B,) or a scalar.

        Returns:
            list[LocalizedExactResult]: B results.
        """
        plus, minus = np.broadcast_arrays(np.atleast_1d(budgets_plus),
                                          np.atleast_1d(budgets_minus))
        if np.any(np.diff(plus) < 0) or np.any(np.diff(minus) < 0):
            raise ValueError("sweep budgets must be non-decreasing")
        out, start = [], None
        for eps_p, eps_m in zip(plus.tolist(), minus.tolist(), strict=True):
            if out and out[-1].count == 0 and out[-1].exact:
                out.append(LocalizedExactResult(0, True, 0, *start))
                continue
            result = self.certify(eps_p, eps_m, start)
            start = (result.additions, result.deletions)
            out.append(result)
        return out
