"""Voting certificates over hash-divided subgraphs (docs/theory.md §12), numpy and scipy only.

The base classifier votes once per subgraph. With N_c votes for class c, the prediction A is
the most voted class, ties to the smaller index. If at most m votes change, a class B != A wins
only if N_B + m > N_A - m, or N_B + m = N_A - m and B < A (a changed vote lowers N_A - N_B by
at most 2, moving a vote from A to B). So A is kept against every change of at most

    m* = min over B != A of floor((N_A - N_B - [B < A]) / 2)

votes, and m* + 1 votes moved from A to the runner-up B flip it: m* is exact (`vote_margin`).
A division that moves at most k votes per perturbation certifies ``floor(m* / k)``
perturbations (`certified_radius`).

The collective certificate (`CollectiveVoting`) bounds how many targets r edge changes can
flip at once under edge hashing with a model whose output at a node depends only on the
subgraph within `hops` hops of it (docs/theory.md §12 states and proves the reach).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from graphcert.utils.validation import check_index_array, check_int, check_real

__all__ = ["CollectiveVoting", "certified_radius", "coverage_sets", "share_bound",
           "vote_counts", "vote_margin", "voted_class"]


def vote_counts(votes, n_classes: int) -> np.ndarray:
    """Votes per class: `votes` (T, n) holds each subgraph's class of each node; returns
    int64 (n, n_classes) counts N_c.

    Args:
        votes (array_like): class per subgraph and node, shape (T, n).
        n_classes (int): number of classes C >= 2.

    Returns:
        np.ndarray: int64 (n, C).
    """
    n_classes = check_int(n_classes, "n_classes", "[2, inf)")
    votes = check_index_array(votes, "votes", n_classes, ndim=2)
    counts = np.zeros((votes.shape[1], n_classes), dtype=np.int64)
    np.add.at(counts, (np.broadcast_to(np.arange(votes.shape[1]), votes.shape), votes), 1)
    return counts


def voted_class(counts: np.ndarray) -> np.ndarray:
    """The most voted class per row of `counts` (n, C), ties to the smaller index.

    Args:
        counts (np.ndarray): votes per class, shape (n, C).

    Returns:
        np.ndarray: int64 (n,).
    """
    return np.asarray(counts).argmax(axis=1)


def vote_margin(counts: np.ndarray) -> np.ndarray:
    """m* per row of `counts` (n, C): how many votes may change while the voted class stays,
    min over B != A of floor((N_A - N_B - [B < A]) / 2). int64 (n,), always >= 0.

    Args:
        counts (np.ndarray): votes per class, shape (n, C).

    Returns:
        np.ndarray: int64 (n,).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[1] < 2:
        raise ValueError(f"counts must have shape (n, C) with C >= 2, got {counts.shape}")
    top = voted_class(counts)
    rows = np.arange(counts.shape[0])
    gap = counts[rows, top][:, None] - counts - (np.arange(counts.shape[1]) < top[:, None])
    gap[rows, top] = np.iinfo(np.int64).max  # B ranges over the other classes
    return gap.min(axis=1) // 2


def certified_radius(margin: np.ndarray, votes_per_change: int) -> np.ndarray:
    """Perturbations certified when each moves at most `votes_per_change` votes:
    floor(m* / k) (c * r <= m* for every whole r <= this).

    Args:
        margin (np.ndarray): vote margins m*, shape (n,).
        votes_per_change (int): votes one perturbation moves at most, k >= 1.

    Returns:
        np.ndarray: int64 (n,).
    """
    votes_per_change = check_int(votes_per_change, "votes_per_change", "[1, inf)")
    return np.asarray(margin, dtype=np.int64) // votes_per_change


def coverage_sets(edge_index: np.ndarray, edge_group: np.ndarray, n_nodes: int, n_groups: int,
                  hops: int, nodes: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """What one edge endpoint can reach in each subgraph: for every group t and center a, the
    positions j of `nodes` with dist_{G_t}(a, nodes[j]) <= hops; distinct non-empty sets only,
    singletons inside a larger set of the same group dropped (never better for an adversary).

    Returns (group of each set (S,), the sets as sorted int64 arrays of positions into
    `nodes`). Every node of `nodes` lies in at least one set of every group (its own ball).

    Args:
        edge_index (np.ndarray): edges, shape (2, E).
        edge_group (np.ndarray): subgraph t of each edge, shape (E,).
        n_nodes (int): number of nodes N.
        n_groups (int): number of subgraphs T.
        hops (int): receptive field depth of the model.
        nodes (np.ndarray): target node ids, shape (n,).

    Returns:
        tuple[np.ndarray, list[np.ndarray]]: the group of each set (S,) and the S sets.
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    groups, members = [], []
    seeds = sp.csr_matrix((np.ones(nodes.size), (nodes, np.arange(nodes.size))),
                          shape=(n_nodes, nodes.size))
    for t in range(n_groups):
        pairs = edge_index[:, (edge_group == t) & (edge_index[0] != edge_index[1])]
        adjacency = sp.csr_matrix((np.ones(pairs.shape[1]), (pairs[0], pairs[1])),
                                  shape=(n_nodes, n_nodes))
        adjacency = ((adjacency + adjacency.T) > 0).astype(np.float64)
        reach = seeds.copy()
        for _ in range(hops):  # rows: centers a; columns: nodes within `hops` of a
            reach = ((reach + adjacency @ reach) > 0).astype(np.float64)
        reach = reach.tocsr()
        reach.sort_indices()
        sizes = np.diff(reach.indptr)
        distinct = {tuple(reach.indices[reach.indptr[a]:reach.indptr[a + 1]])
                    for a in np.flatnonzero(sizes > 1)}
        in_larger = set().union(*distinct) if distinct else set()
        singles = {(int(j),) for j in np.unique(reach.indices[reach.indptr[:-1][sizes == 1]])
                   if j not in in_larger}
        for ids in sorted(distinct | singles):
            groups.append(t)
            members.append(np.asarray(ids, dtype=np.int64))
    return np.asarray(groups, dtype=np.int64), members


def share_bound(budget: int, need: np.ndarray, groups: np.ndarray, sets: list[np.ndarray],
                n_groups: int) -> int:
    """Most targets `budget` edge changes can flip, by sharing out the cost of each pick.

    The changes pick at most 2 r coverage sets. Charge each pick 1 / |set| to every member
    it reaches: a pick pays at most 1 in all. A flipped target x is reached in need_x
    distinct groups, in group t by a set of size at most size_t(x) (the largest set of t
    holding x), so it collects at least share_x = the sum of 1 / size_t(x) over the need_x
    groups with the largest size_t(x). Hence the flipped targets F satisfy
    sum_{x in F} share_x <= 2 r, and |F| is at most the number of smallest shares that fit.

    Args:
        budget (int): edge changes r.
        need (np.ndarray): groups each target must lose to flip, need_x, shape (n,).
        groups (np.ndarray): group of each coverage set, shape (S,).
        sets (list[np.ndarray]): the S coverage sets, positions into the targets.
        n_groups (int): number of subgraphs T.

    Returns:
        int: an upper bound on the flipped targets.
    """
    largest = np.zeros((need.size, n_groups))
    for group, members in zip(groups, sets, strict=True):
        np.maximum.at(largest, (members, group), members.size)
    inverse = np.sort(1.0 / np.maximum(largest, 1.0), axis=1)  # own ball: size >= 1
    cumulative = np.cumsum(inverse, axis=1)
    share = cumulative[np.arange(need.size), np.minimum(need, n_groups) - 1]
    share[need > n_groups] = np.inf  # more groups than exist: never flips
    fits = np.cumsum(np.sort(share)) <= 2 * budget * (1 + 1e-12)
    return int(fits.sum())


@dataclass(frozen=True)
class CollectiveResult:
    """Upper bound on the targets r edge changes can flip; `exact` when HiGHS proved it
    optimal for the counting program (else its dual bound)."""
    budget: int
    max_flipped: int
    exact: bool


class CollectiveVoting:
    """How many of the `counted` targets can r edge changes flip together (edge hashing).

    Edge change {a, b} lies in one subgraph t (chosen freely here: the adversary may pick any
    pair, hence any group), and moves only the votes of nodes within `hops` hops of a or b in
    the unperturbed subgraph G_t, whatever the other changes (docs/theory.md §12). A target x
    flips only if its vote changes in at least m*_x + 1 subgraphs. The counting program
    (a MILP, HiGHS) maximizes the flipped targets over such allocations: z_s picks coverage
    set s (one endpoint's ball), c_t counts changes in group t with sum_t c_t <= r and at most
    2 c_t sets in group t, w_{x,t} <= sum of the picked sets of group t holding x (<= 1), and
    (m*_x + 1) y_x <= sum_t w_{x,t}. The returned count is the floor of HiGHS' dual bound, so
    a time limit only loosens it.

    Args:
        edge_index: (2, E) the clean graph.
        edge_group: (E,) the subgraph of each edge.
        n_nodes, n_groups: N and T.
        hops: K, the model's receptive field in hops.
        targets: (n,) node ids.
        margin: (n,) m*_x of each target (`vote_margin`).
        counted: (n,) bool, the targets whose flips count (e.g. the correctly classified).
        time_limit: seconds per program (HiGHS).
        max_incidences: largest program solved (sum of the coverage set sizes); larger
            ones get the share bound alone.
    """

    def __init__(self, edge_index, edge_group, n_nodes: int, n_groups: int, hops: int,
                 targets, margin, counted=None, time_limit: float = 30.0,
                 max_incidences: int = 20_000):
        self.n_nodes = check_int(n_nodes, "n_nodes", "[1, inf)")
        self.n_groups = check_int(n_groups, "n_groups", "[2, inf)")
        self.hops = check_int(hops, "hops", "[0, inf)")
        self.edge_index = check_index_array(edge_index, "edge_index", self.n_nodes, ndim=2)
        self.edge_group = check_index_array(edge_group, "edge_group", self.n_groups, ndim=1)
        if self.edge_group.size != self.edge_index.shape[1]:
            raise ValueError(f"edge_group has {self.edge_group.size} entries for "
                             f"{self.edge_index.shape[1]} edges")
        self.targets = check_index_array(targets, "targets", self.n_nodes, ndim=1)
        self.margin = np.asarray(margin, dtype=np.int64)
        if self.margin.shape != self.targets.shape or (self.margin < 0).any():
            raise ValueError("margin must hold one m* >= 0 per target")
        counted = np.ones(self.targets.size, bool) if counted is None else \
            np.asarray(counted, dtype=bool)
        if counted.shape != self.targets.shape:
            raise ValueError(f"counted must have shape {self.targets.shape}")
        self.counted = counted
        self.time_limit = check_real(time_limit, "time_limit", "(0, inf)")
        self.max_incidences = check_int(max_incidences, "max_incidences", "[0, inf)")
        self._sets: tuple[np.ndarray, list[np.ndarray]] | None = None
        self._counted_ids = np.zeros(0, dtype=np.int64)

    def _restricted_sets(self, candidates: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """`coverage_sets` of the targets at positions `candidates`, from one computation for
        all counted targets: each set cut down to the candidates (renumbered
        0..len(candidates) - 1), empty ones dropped. A dropped singleton {x} lay
        inside a larger set, which still holds x after the cut, so the cut sets are as good."""
        if self._sets is None:
            self._counted_ids = np.flatnonzero(self.counted)
            self._sets = coverage_sets(self.edge_index, self.edge_group, self.n_nodes,
                                       self.n_groups, self.hops,
                                       self.targets[self._counted_ids])
        position = np.full(self.targets.size, -1)
        position[candidates] = np.arange(candidates.size)
        groups, sets = [], []
        for group, members in zip(*self._sets, strict=True):
            kept = position[self._counted_ids[members]]
            kept = kept[kept >= 0]
            if kept.size:
                groups.append(group)
                sets.append(kept)
        return np.asarray(groups, dtype=np.int64), sets

    def naive_count(self, budget: int) -> int:
        """Counted targets with r <= m*: each edge change moves at most one vote.

        Args:
            budget (int): edge changes.

        Returns:
            int: certified targets.
        """
        return int((self.counted & (self.margin >= budget)).sum())

    def max_flipped(self, budget: int) -> CollectiveResult:
        """Sound upper bound on the counted targets that `budget` edge changes flip: the
        smaller of the share bound (`share_bound`) and, when the program has at most
        `max_incidences` (target, set) entries, HiGHS' dual bound of the counting program.

        Args:
            budget (int): edge changes, >= 0.

        Returns:
            CollectiveResult: the bound ``max_flipped`` and whether it is exact.
        """
        budget = check_int(budget, "budget", "[0, inf)")
        candidates = np.flatnonzero(self.counted & (self.margin < budget))
        if budget == 0 or candidates.size == 0:
            return CollectiveResult(budget, 0, True)
        groups, sets = self._restricted_sets(candidates)
        need = self.margin[candidates] + 1
        shares = share_bound(budget, need, groups, sets, self.n_groups)
        if sum(s.size for s in sets) > self.max_incidences:
            return CollectiveResult(budget, shares, shares == 0)
        program = self._solve(budget, need, groups, sets)
        if shares < program.max_flipped:
            return CollectiveResult(budget, shares, False)
        return program

    def certified_count(self, budget: int) -> int:
        """Counted targets no `budget` edge changes can flip together.

        Args:
            budget (int): edge changes, >= 0.

        Returns:
            int: certified targets.
        """
        return int(self.counted.sum()) - self.max_flipped(budget).max_flipped

    def certified_counts(self, budgets) -> np.ndarray:
        """`certified_count` for each budget (int64).

        Args:
            budgets (Iterable[int]): edge-change budgets, shape (B,).

        Returns:
            np.ndarray: int64 (B,).
        """
        return np.array([self.certified_count(b) for b in budgets], dtype=np.int64)

    def _solve(self, budget: int, need: np.ndarray, groups: np.ndarray,
               sets: list[np.ndarray]) -> CollectiveResult:
        n_sets, n_x, n_t = len(sets), need.size, self.n_groups
        set_of = np.repeat(np.arange(n_sets), [s.size for s in sets])
        member = np.concatenate(sets)
        pair = member * n_t + groups[set_of]  # (target, group) of every incidence
        pairs, first, per_pair = np.unique(pair, return_inverse=True, return_counts=True)
        shared = per_pair[first] > 1  # incidences whose (x, t) lies in several sets: w_{x,t}
        w_pairs = np.flatnonzero(per_pair > 1)
        n_w = w_pairs.size
        w_index = np.full(pairs.size, -1)
        w_index[w_pairs] = np.arange(n_w)
        z0, c0, w0, y0 = 0, n_sets, n_sets + n_t, n_sets + n_t + n_w
        n_var = y0 + n_x
        rows, cols, vals, upper = [], [], [], []

        def add(r, c, v):
            rows.append(np.asarray(r)), cols.append(np.asarray(c))
            vals.append(np.broadcast_to(np.asarray(v, float), np.shape(c)))

        row = 0  # flips: need_x y_x - sum(direct z) - sum(w of x) <= 0
        add(row + np.arange(n_x), y0 + np.arange(n_x), need)
        add(row + member[~shared], z0 + set_of[~shared], -1.0)
        add(row + pairs[w_pairs] // n_t, w0 + np.arange(n_w), -1.0)
        upper.append(np.zeros(n_x))
        row += n_x  # w_{x,t} - sum of z of the sets of t holding x <= 0
        add(row + np.arange(n_w), w0 + np.arange(n_w), 1.0)
        add(row + w_index[first[shared]], z0 + set_of[shared], -1.0)
        upper.append(np.zeros(n_w))
        row += n_w  # sets of group t - 2 c_t <= 0
        add(row + groups, z0 + np.arange(n_sets), 1.0)
        add(row + np.arange(n_t), c0 + np.arange(n_t), -2.0)
        upper.append(np.zeros(n_t))
        row += n_t  # sum_t c_t <= r
        add(np.full(n_t, row), c0 + np.arange(n_t), 1.0)
        upper.append([budget])
        row += 1
        matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                       np.concatenate(cols))),
                               shape=(row, n_var))
        integrality = np.ones(n_var)
        integrality[w0:y0] = 0
        high = np.ones(n_var)
        high[c0:w0] = budget
        objective = np.zeros(n_var)
        objective[y0:] = -1.0
        result = milp(objective, integrality=integrality, bounds=Bounds(0, high),
                      constraints=LinearConstraint(matrix, -np.inf, np.concatenate(upper)),
                      options={"time_limit": self.time_limit, "mip_rel_gap": 0.0})
        dual = getattr(result, "mip_dual_bound", None)
        if dual is None or not np.isfinite(dual):
            return CollectiveResult(budget, n_x, False)  # no bound: every candidate flips
        bound = min(n_x, math.floor(-dual + 1e-6 * max(1.0, abs(dual))))
        exact = result.status == 0 and result.fun is not None and \
            round(-result.fun) == bound
        return CollectiveResult(budget, int(bound), bool(exact))
