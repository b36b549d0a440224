"""Node pairs as units of the collective certificate (docs/theory.md §5, §8).

The structure bits are the unordered node pairs. Pairs of one cluster pair {a, b} share their
weights for every output group, so they merge into one unit per cluster pair column
(`graphcert.utils.pairs`) with capacity ``edges between a and b`` for deletions and ``absent
pairs between a and b`` for additions: exact, as for merged attribute units.

Per-node local budgets (at most ``rho_i`` changed pairs incident to node i; an edge counts for
both endpoints) break the merging. Deletions then get one 0/1 variable per clean edge (exact)
and additions one count per node, ``t_i <= absent partners of i``, linked to the cluster
pairs by ``sum_{i in a} t_i >= sum_b mult(a, b) y_{a,b}`` (mult = 2 for a = b, else 1). Every
real allocation satisfies these constraints, so the program's optimum is a sound (possibly
weaker) certificate; the degree sequences it allows need not be realizable as graphs. The
problem has E + N more variables: use local budgets on small graphs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from graphcert.utils.pairs import (
    cluster_pairs,
    pair_column,
    pair_counts,
    undirected_pairs,
)
from graphcert.utils.validation import (
    check_index_array,
    check_nonnegative_integers,
    check_real,
)

__all__ = ["PairUnits"]

_MIP_TOL = 1e-6


@dataclass(frozen=True)
class PairLocalBudget:
    """What per-node budgets on changed pairs need: the clean edges (2, E) with their cluster
    pair columns, every node's cluster, absent partners (``free``) and budget."""

    budget: np.ndarray
    edges: np.ndarray
    edge_column: np.ndarray
    node_group: np.ndarray
    free: np.ndarray

    def binds(self, eps_plus: float, eps_minus: float) -> bool:
        """Whether some node's budget is below the changes it could see."""
        degree = np.bincount(self.edges.ravel(), minlength=self.budget.size)
        reach = np.minimum(self.free, eps_plus) + np.minimum(degree, eps_minus)
        return bool(np.any(self.budget < reach))


@dataclass(frozen=True)
class PairUnits:
    """Node pairs as units of the collective certificate (docs/theory.md §8).

    ``w_plus`` / ``w_minus`` (n_groups, P): weight per added / deleted edge, row = output group,
    column = cluster pair (`graphcert.certificates.pair_weight_matrices`); ``cap_plus`` /
    ``cap_minus`` (P,): absent pairs / edges per column; ``local``: per-node budgets (build it
    with :meth:`from_graph`).

    Args:
        w_plus (np.ndarray): weight per added edge, (n_groups, P).
        w_minus (np.ndarray): weight per deleted edge, (n_groups, P).
        cap_plus (np.ndarray): absent pairs per column, (P,).
        cap_minus (np.ndarray): edges per column, (P,).
        local (PairLocalBudget, optional): per-node budgets.
    """

    w_plus: np.ndarray
    w_minus: np.ndarray
    cap_plus: np.ndarray
    cap_minus: np.ndarray
    local: PairLocalBudget | None = None

    def __post_init__(self) -> None:
        w_plus, w_minus = (np.asarray(check_real(getattr(self, name), name, "[0, inf]"))
                           for name in ("w_plus", "w_minus"))
        if w_plus.ndim != 2 or w_plus.shape != w_minus.shape:
            raise ValueError(f"w_plus {w_plus.shape} and w_minus {w_minus.shape} must be equal "
                             "(n_groups, n_cluster_pairs) shapes")
        caps = []
        for name in ("cap_plus", "cap_minus"):
            cap = check_nonnegative_integers(getattr(self, name), name).astype(float)
            if cap.shape != (w_plus.shape[1],):
                raise ValueError(f"{name} must have shape ({w_plus.shape[1]},), got {cap.shape}")
            caps.append(cap)
        object.__setattr__(self, "w_plus", w_plus)
        object.__setattr__(self, "w_minus", w_minus)
        object.__setattr__(self, "cap_plus", caps[0])
        object.__setattr__(self, "cap_minus", caps[1])

    @classmethod
    def from_graph(cls, edges, labels, w_plus, w_minus, *, local_budget=None) -> "PairUnits":
        """Units of a graph: ``edges`` (2, E) undirected (either direction; duplicates and
        self-loops dropped), ``labels`` (N,) clusters (C of them, P = C (C + 1) / 2 columns),
        ``local_budget`` None, scalar or (N,): changed pairs allowed per node.

        Args:
            edges (array_like): undirected edges, (2, E).
            labels (array_like): cluster of every node, (N,).
            w_plus (np.ndarray): weight per added edge, (n_groups, P).
            w_minus (np.ndarray): weight per deleted edge, (n_groups, P).
            local_budget (float or array_like, optional): changed pairs allowed per node.

        Returns:
            PairUnits: the units.
        """
        n_cols = np.shape(w_plus)[1]
        n_clusters = int(round((math.sqrt(8 * n_cols + 1) - 1) / 2))
        if n_clusters * (n_clusters + 1) // 2 != n_cols:
            raise ValueError(f"w_plus has {n_cols} columns, not C (C + 1) / 2 for any C")
        labels = check_index_array(labels, "labels", n_clusters, ndim=1)
        n_nodes = labels.size
        edges = check_index_array(edges, "edges", n_nodes, ndim=2)
        if edges.shape[0] != 2:
            raise ValueError(f"edges must have shape (2, E), got {edges.shape}")
        edges = undirected_pairs(edges, n_nodes)
        absent, present = pair_counts(edges, labels, n_clusters)
        local = None
        if local_budget is not None:
            budget = np.broadcast_to(check_real(local_budget, "local_budget", "[0, inf]"),
                                     (n_nodes,))
            degree = np.bincount(edges.ravel(), minlength=n_nodes)
            local = PairLocalBudget(np.floor(budget), edges,
                                    pair_column(labels[edges[0]], labels[edges[1]], n_clusters),
                                    labels, n_nodes - 1 - degree)
        return cls(w_plus, w_minus, absent, present, local)

    @property
    def n_groups(self) -> int:
        """Number of output groups (rows of the weights)."""
        return self.w_plus.shape[0]

    def clip_budgets(self, eps_plus: float, eps_minus: float) -> tuple[float, float]:
        """The budgets capped at the pairs there are to add / delete.

        Args:
            eps_plus (float): edge additions.
            eps_minus (float): edge deletions.

        Returns:
            tuple[float, float]: the capped budgets.
        """
        return (min(eps_plus, float(self.cap_plus.sum())),
                min(eps_minus, float(self.cap_minus.sum())))

    def program(self, w_plus: np.ndarray, w_minus: np.ndarray, eps_plus, eps_minus
                ) -> tuple[list, list, list]:
        """(blocks, rows, box) of the pair variables for `_CountingProgram`, with weights
        ``w_*`` (rows = the program's groups) and budgets (numbers or cvxpy parameters).
        Row matrices list one entry per pair block (None: not involved).

        Args:
            w_plus (np.ndarray): weight per added edge, (rows, P).
            w_minus (np.ndarray): weight per deleted edge, (rows, P).
            eps_plus: edge additions (a number or a cvxpy parameter).
            eps_minus: edge deletions (a number or a cvxpy parameter).

        Returns:
            tuple[list, list, list]: the variable blocks, the constraint rows and their box bounds.
        """
        n_cols = self.cap_plus.size
        ones = sp.csr_matrix(np.ones((1, n_cols)))
        if self.local is None:
            blocks = [(w_plus, self.cap_plus, True), (w_minus, self.cap_minus, True)]
            rows = [([ones, None], eps_plus), ([None, ones], eps_minus)]
            return blocks, rows, [self.cap_plus, self.cap_minus]
        loc = self.local
        n_edges, n_nodes = loc.edge_column.size, loc.budget.size
        n_clusters = int(loc.node_group.max()) + 1 if n_nodes else 0
        a, b = cluster_pairs(max(n_clusters, 1))
        # endpoints of each column's pairs per cluster: 2 for {a, a}, 1 each for {a, b}
        mult = sp.coo_matrix((np.ones(2 * n_cols), (np.r_[a, b], np.tile(np.arange(n_cols), 2))),
                             shape=(max(n_clusters, 1), n_cols)).tocsr()
        member = sp.csr_matrix((-np.ones(n_nodes), (loc.node_group, np.arange(n_nodes))),
                               shape=(max(n_clusters, 1), n_nodes))
        blocks = [(w_plus, self.cap_plus, True),
                  (w_minus[:, loc.edge_column], np.ones(n_edges), True),
                  (np.zeros((w_plus.shape[0], n_nodes)), loc.free.astype(float), True)]
        rows = [([ones, None, None], eps_plus),
                ([None, sp.csr_matrix(np.ones((1, n_edges))), None], eps_minus),
                ([mult, None, member], np.zeros(max(n_clusters, 1)))]
        limited = np.flatnonzero(np.isfinite(loc.budget))
        if limited.size:
            position = np.full(n_nodes, -1)
            position[limited] = np.arange(limited.size)
            ends = np.r_[loc.edges[0], loc.edges[1]]
            hit = position[ends] >= 0
            incidence = sp.csr_matrix(
                (np.ones(hit.sum()), (position[ends[hit]], np.tile(np.arange(n_edges), 2)[hit])),
                shape=(limited.size, n_edges))
            pick = sp.csr_matrix((np.ones(limited.size), (np.arange(limited.size), limited)),
                                 shape=(limited.size, n_nodes))
            rows.append(([None, incidence, pick], loc.budget[limited]))
        return blocks, rows, [self.cap_plus, np.ones(n_edges), loc.free.astype(float)]

    def local_max(self, w_plus: np.ndarray, w_minus: np.ndarray, eps_plus: float,
                  eps_minus: float) -> np.ndarray:
        """Upper bound per row of ``w_*`` on the adversary's pair weight under the local
        budgets: HiGHS' dual bound of the integer program (sound whatever the incumbent).

        Args:
            w_plus (np.ndarray): weight per added edge, (rows, P).
            w_minus (np.ndarray): weight per deleted edge, (rows, P).
            eps_plus (float): edge additions.
            eps_minus (float): edge deletions.

        Returns:
            np.ndarray: float64 (rows,).
        """
        blocks, rows, box = self.program(w_plus, w_minus, eps_plus, eps_minus)
        sizes = [w.shape[1] for w, _, _ in blocks]
        def zeros(rhs, size: int):
            return sp.csr_matrix((np.shape(rhs)[0] if np.ndim(rhs) else 1, size))

        matrix = sp.vstack([sp.hstack([zeros(rhs, size) if m is None else m
                                       for m, size in zip(mats, sizes, strict=True)])
                            for mats, rhs in rows])
        rhs = np.concatenate([np.atleast_1d(np.asarray(rhs, dtype=float)) for _, rhs in rows])
        upper = np.concatenate(box)
        out = np.empty(w_plus.shape[0])
        for k in range(w_plus.shape[0]):
            gain = np.concatenate([w[k] for w, _, _ in blocks])
            res = milp(-gain, constraints=LinearConstraint(matrix, -np.inf, rhs),
                       integrality=np.ones(gain.size), bounds=Bounds(0, upper),
                       options={"mip_rel_gap": 0.0})
            if res.status != 0:
                raise RuntimeError(f"HiGHS did not solve the pair budget problem: {res.message}")
            bound = -float(res.mip_dual_bound)
            out[k] = bound + _MIP_TOL * max(1.0, abs(bound))
        return out
