"""Per-node exact regions of localized smoothing over per-cluster allocations
(docs/theory.md §11).

A target of output group g is certified against an allocation ``(a, d)`` (bits added /
deleted per input cluster) iff its ``p_lower`` exceeds the threshold
``p*_g(a, d)`` of :func:`graphcert.certificates.localized_exact_threshold`. ``p*_g`` is
non-decreasing in every count, so each node's certified set is a downward-closed staircase
in the per-cluster counts. Against a global budget ``(A, D)`` (at most A additions and D
deletions, within the clusters' capacities) a node is certified iff ``p_lower`` exceeds the
largest threshold over the admissible allocations (the naive certificate).

That maximum is found without enumerating allocations when the clusters of a row are totally
ordered by Blackwell informativeness, separately for added and for deleted bits (the
papers' fixed theta_plus gives this: the order of theta_minus): then the most damaging
allocation fills the most informative clusters first (`BlackwellOrder`). Otherwise the
maximal allocations are enumerated.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from graphcert.certificates._localized_exact import cluster_threshold, merged_clusters
from graphcert.utils.validation import check_nonnegative_integers, check_probabilities

__all__ = ["BlackwellOrder", "ClusterCapacities", "RowThresholds", "dominates"]


def _normalized(alpha: Fraction, beta: Fraction) -> tuple[Fraction, Fraction]:
    """A binary experiment (Pr_x[z = 1], Pr_x'[z = 1]) with z renamed so that beta >= alpha."""
    return (alpha, beta) if beta >= alpha else (1 - alpha, 1 - beta)


def dominates(first: tuple[float, float], second: tuple[float, float]) -> bool:
    """Whether binary experiment `first` is Blackwell-more informative than `second`, both
    as (Pr_x[z = 1], Pr_x'[z = 1]) strictly inside (0, 1), decided in exact rational
    arithmetic.

    `second` is a garbling of `first` iff its point lies in the convex hull of (0, 0),
    (1, 1) and `first`'s two points (z and 1 - z): below the concave ROC curve of `first`
    once both are normalized to lie above the diagonal."""
    a1, b1 = _normalized(*map(Fraction, first))
    a2, b2 = _normalized(*map(Fraction, second))
    upper = b1 / a1 * a2 if a2 <= a1 else b1 + (1 - b1) / (1 - a1) * (a2 - a1)
    return b2 <= upper


def _order(experiments: list[tuple[float, float]]) -> tuple[int, ...] | None:
    """Indices from most to least informative if `experiments` are totally ordered by
    Blackwell dominance, else None."""
    order = sorted(range(len(experiments)),
                   key=lambda k: -abs(experiments[k][1] - experiments[k][0]))
    for first, second in itertools.pairwise(order):
        if not dominates(experiments[first], experiments[second]):
            return None
    return tuple(order)


@dataclass(frozen=True)
class BlackwellOrder:
    """Clusters of one row from most to least informative, for added and for deleted bits
    (None where the clusters are not totally ordered).

    An added bit is the experiment (tp, 1 - tm), a deleted bit (1 - tm, tp). Replacing a
    bit by a bit of a more informative cluster can only lower the Neyman-Pearson worst case
    (the product with the less informative bit is a garbling of the product with the more
    informative one), so the most damaging allocation of A additions fills the clusters in
    `plus` order up to their capacities, and likewise for deletions.
    """

    plus: tuple[int, ...] | None
    minus: tuple[int, ...] | None

    @classmethod
    def of(cls, theta_plus: np.ndarray, theta_minus: np.ndarray) -> "BlackwellOrder":
        tp, tm = theta_plus.tolist(), theta_minus.tolist()
        return cls(_order([(p, 1 - m) for p, m in zip(tp, tm, strict=True)]),
                   _order([(1 - m, p) for p, m in zip(tp, tm, strict=True)]))

    @property
    def total(self) -> bool:
        return self.plus is not None and self.minus is not None

    @staticmethod
    def fill(order: tuple[int, ...], capacity: np.ndarray, budget: int,
             start: np.ndarray | None = None, free: np.ndarray | None = None) -> np.ndarray:
        """`start` plus `budget` more bits in `order`, up to `capacity`, in the clusters
        where `free` is True (default: all)."""
        out = np.zeros(capacity.size, dtype=np.int64) if start is None else start.copy()
        for k in order:
            if budget <= 0:
                break
            if free is not None and not free[k]:
                continue
            take = min(budget, int(capacity[k] - out[k]))
            out[k] += take
            budget -= take
        return out


@dataclass(frozen=True)
class ClusterCapacities:
    """What the adversary can change per input cluster: ``cap_plus`` zeros, ``cap_minus``
    ones and at most ``local`` changes in all (the per-node local budgets summed over the
    cluster's nodes, an exact merge, see `graphcert.certificates.collective`; inf: none)."""

    cap_plus: np.ndarray
    cap_minus: np.ndarray
    local: np.ndarray

    @classmethod
    def of(cls, cap_plus, cap_minus, local=None) -> "ClusterCapacities":
        cap_p = check_nonnegative_integers(cap_plus, "cap_plus").astype(np.int64)
        cap_m = check_nonnegative_integers(cap_minus, "cap_minus").astype(np.int64)
        if cap_p.ndim != 1 or cap_p.shape != cap_m.shape:
            raise ValueError(f"cap_plus and cap_minus must be (K,) arrays of one length, got "
                             f"shapes {cap_p.shape} and {cap_m.shape}")
        if local is None:
            loc = np.full(cap_p.size, np.inf)
        else:
            loc = np.broadcast_to(check_nonnegative_integers(local, "local"),
                                  cap_p.shape).astype(float)
        return cls(cap_p, cap_m, np.minimum(loc, cap_p + cap_m))

    @property
    def binds(self) -> bool:
        return bool(np.any(self.local < self.cap_plus + self.cap_minus))

    def allocations(self, budget_plus: int, budget_minus: int):
        """All maximal admissible allocations (a, d) of at most the budgets (a generator).

        Only allocations that no single added bit or deleted bit can extend are maximal;
        the thresholds are monotone, so the others never give a larger threshold."""
        k = self.cap_plus.size
        ranges = [[(a, d) for a in range(min(budget_plus, self.cap_plus[j]) + 1)
                   for d in range(min(budget_minus, self.cap_minus[j]) + 1)
                   if a + d <= self.local[j]] for j in range(k)]
        for choice in itertools.product(*ranges):
            a = np.array([c[0] for c in choice], dtype=np.int64)
            d = np.array([c[1] for c in choice], dtype=np.int64)
            if a.sum() > budget_plus or d.sum() > budget_minus:
                continue
            room = self.local - a - d > 0
            can_add = a.sum() < budget_plus and np.any(room & (a < self.cap_plus))
            can_del = d.sum() < budget_minus and np.any(room & (d < self.cap_minus))
            if not (can_add or can_del):
                yield a, d


@lru_cache(maxsize=2**20)
def _threshold(clusters: tuple[tuple[float, float, int, int], ...]) -> float:
    return cluster_threshold(clusters)


class RowThresholds:
    """Thresholds of one output group (a row of theta over the K input clusters), memoized
    across calls (equal merged perturbations share one value, docs/theory.md §11)."""

    def __init__(self, theta_plus, theta_minus):
        self.theta_plus = check_probabilities(theta_plus, "theta_plus").astype(float)
        self.theta_minus = check_probabilities(theta_minus, "theta_minus").astype(float)
        if self.theta_plus.ndim != 1 or self.theta_plus.shape != self.theta_minus.shape:
            raise ValueError(f"theta_plus and theta_minus must be (K,) rows of one length, "
                             f"got {self.theta_plus.shape} and {self.theta_minus.shape}")
        inside = (self.theta_plus > 0) & (self.theta_plus < 1) & (self.theta_minus > 0) & \
            (self.theta_minus < 1)
        if not inside.all():
            raise ValueError(f"theta_plus == {self.theta_plus.tolist()}, theta_minus == "
                             f"{self.theta_minus.tolist()}: every entry must be in (0, 1)")
        self.order = BlackwellOrder.of(self.theta_plus, self.theta_minus)

    def __call__(self, additions: np.ndarray, deletions: np.ndarray) -> float:
        """p* of one allocation: certified iff p_lower > p*."""
        return _threshold(merged_clusters(self.theta_plus, self.theta_minus, additions,
                                          deletions))

    def worst(self, capacities: ClusterCapacities, budget_plus: int, budget_minus: int,
              max_allocations: int = 10**5) -> float:
        """Largest p* over the admissible allocations of at most the budgets (the naive
        certificate's threshold): by `BlackwellOrder` when it is total and no local budget
        binds, else over the maximal allocations (at most `max_allocations`)."""
        if self.order.total and not capacities.binds:
            a = BlackwellOrder.fill(self.order.plus, capacities.cap_plus, budget_plus)
            d = BlackwellOrder.fill(self.order.minus, capacities.cap_minus, budget_minus)
            return self(a, d)
        worst = 0.5
        for count, (a, d) in enumerate(capacities.allocations(budget_plus, budget_minus)):
            if count >= max_allocations:
                raise ValueError(f"more than max_allocations={max_allocations} maximal "
                                 "allocations: the clusters are not ordered by informativeness "
                                 "(or a local budget binds); use smaller budgets")
            worst = max(worst, self(a, d))
        return worst

    def worst_grid(self, capacities: ClusterCapacities, max_plus: int, max_minus: int
                   ) -> np.ndarray:
        """`worst` for every budget up to (max_plus, max_minus): (max_plus + 1, max_minus +
        1), non-decreasing along both axes."""
        grid = np.array([[self.worst(capacities, a, d) for d in range(max_minus + 1)]
                         for a in range(max_plus + 1)])
        np.maximum.accumulate(grid, axis=0, out=grid)
        np.maximum.accumulate(grid, axis=1, out=grid)
        return grid
