"""Collective certificates against adversarial and injected nodes (docs/theory.md §14, §15).

A K-layer message-passing model's output at target t depends only on the features of the
nodes within K hops of t and on the edges incident to them: its receptive field F_t. The
adversary places units on clean nodes (a controlled node: one unit on it; an injected edge:
one unit on its clean endpoint), at most ``capacity`` per node and ``budget`` in all. Target
t is broken only if its field holds at least ``need[t]`` units (its per-target certificate
holds below that). The largest number of targets broken together is the integer program

    max sum_t b_t   s.t.  need_t b_t <= sum_{w in F_t} x_w,  sum_w x_w <= budget,
                          0 <= x_w <= capacity,  x integer,  b binary,

whose HiGHS dual bound (sound whatever the incumbent) is used, as for the pair units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from graphcert.certificates._hierarchical import hierarchical_certified, hierarchical_node_radius
from graphcert.certificates._hierarchical_localized import (
    hierarchical_localized_certified,
    hierarchical_localized_node_radius,
)
from graphcert.certificates._injection import (
    _check_deletion,
    injection_certified,
    lower_bound,
    node_factors,
)
from graphcert.utils.validation import check_index_array, check_int, check_probabilities

__all__ = ["NodeCollective", "hierarchical_collective", "hierarchical_localized_collective",
           "injection_collective", "most_broken_targets", "receptive_fields"]

_MIP_TOL = 1e-6


def receptive_fields(edge_index, num_nodes: int, hops: int, targets) -> sp.csr_matrix:
    """(T, N) 0/1 matrix: row t marks the nodes within ``hops`` hops of ``targets[t]``
    (undirected, the target included)."""
    num_nodes = check_int(num_nodes, "num_nodes", "[1, inf)")
    hops = check_int(hops, "hops", "[0, inf)")
    edges = check_index_array(edge_index, "edge_index", num_nodes, ndim=2)
    if edges.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {edges.shape}")
    targets = check_index_array(targets, "targets", num_nodes, ndim=1)
    ones = np.ones(edges.shape[1])
    adj = sp.coo_matrix((ones, (edges[0], edges[1])), shape=(num_nodes, num_nodes))
    step = (adj + adj.T + sp.identity(num_nodes)).tocsr()
    step.data[:] = 1.0
    field = sp.csr_matrix((np.ones(targets.size), (np.arange(targets.size), targets)),
                          shape=(targets.size, num_nodes))
    for _ in range(hops):
        field = field @ step
        field.data[:] = 1.0
    return field


def most_broken_targets(fields, need, budget: int, capacity: int, *,
                        time_limit: float | None = None) -> int:
    """Upper bound on the number of targets broken together (module docstring).

    Args:
        fields: (T, N) 0/1 sparse or dense receptive fields.
        need: (T,) units a target's field must hold to break it (0: broken anyway; larger
            than the budget or than its field can hold: never).
        budget: units the adversary has; capacity: units one node can take.
        time_limit: seconds for HiGHS; its dual bound stays sound when it stops early.
    """
    fields = sp.csr_matrix(fields)
    need = np.asarray(need, dtype=float)
    if need.shape != (fields.shape[0],):
        raise ValueError(f"need must have shape ({fields.shape[0]},), got {need.shape}")
    budget = check_int(budget, "budget", "[0, inf)")
    capacity = check_int(capacity, "capacity", "[0, inf)")
    room = np.minimum(budget, capacity * np.asarray(fields.sum(axis=1)).ravel())
    always = int(np.sum(need <= 0))
    open_ = np.flatnonzero((need > 0) & (need <= room))
    if open_.size == 0:
        return always
    sub = fields[open_]
    cols = np.flatnonzero(np.asarray(sub.sum(axis=0)).ravel() > 0)
    sub = sub[:, cols]
    n_x, n_b = cols.size, open_.size
    cover = sp.hstack([-sub, sp.diags(need[open_])]).tocsr()
    total = sp.hstack([sp.csr_matrix(np.ones((1, n_x))), sp.csr_matrix((1, n_b))])
    gain = np.r_[np.zeros(n_x), -np.ones(n_b)]
    options = {"mip_rel_gap": 0.0}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(gain, constraints=[LinearConstraint(cover, -np.inf, 0.0),
                                  LinearConstraint(total, -np.inf, budget)],
               integrality=np.ones(n_x + n_b), bounds=Bounds(0, np.r_[np.full(n_x, capacity),
                                                                       np.ones(n_b)]),
               options=options)
    bound = getattr(res, "mip_dual_bound", None)
    if res.status not in (0, 1) or bound is None or not np.isfinite(bound):
        return always + n_b  # no bound: every breakable target counts as broken
    return always + min(n_b, int(math.floor(-bound + _MIP_TOL * max(1.0, abs(bound)))))


@dataclass(frozen=True)
class NodeCollective:
    """Certified targets against a node budget: ``naive`` (T,) bool, each target alone
    against the whole budget; ``collective`` the number certified together (>= naive's
    count); ``need`` (T,) units per target (inf: never broken)."""

    naive: np.ndarray
    collective: int
    need: np.ndarray


def _collective(naive, need, fields, budget, capacity, time_limit) -> NodeCollective:
    fields = sp.csr_matrix(fields)
    if fields.shape[0] != naive.size:
        raise ValueError(f"fields has {fields.shape[0]} rows, p_lower has {naive.size}")
    broken = most_broken_targets(fields, np.where(np.isinf(need), budget + 1, need), budget,
                                 capacity, time_limit=time_limit)
    return NodeCollective(naive, naive.size - broken, need)


def hierarchical_collective(p_lower, fields, p_select, r, theta_plus, theta_minus, additions,
                            deletions, *, p_upper=None, time_limit=None) -> NodeCollective:
    """Collective certificate against r controlled nodes among all targets (§14).

    ``fields`` (T, N) receptive fields (:func:`receptive_fields` with the model's depth);
    the other arguments as in `hierarchical_certified`, per target. A controlled node needs a
    changed bit, so at most ``min(r, additions + deletions)`` nodes count. Target t breaks only
    with more controlled nodes in its field than its node radius.
    """
    fields = sp.csr_matrix(fields)
    r = check_int(r, "r", "[0, inf)")
    if r > fields.shape[1]:
        raise ValueError(f"r == {r}, must be in [0, num_nodes={fields.shape[1]}]")
    budget = min(r, check_int(additions, "additions", "[0, inf)")
                 + check_int(deletions, "deletions", "[0, inf)"))
    p = np.atleast_1d(check_probabilities(p_lower, "p_lower"))
    radius = hierarchical_node_radius(p, p_select, theta_plus, theta_minus, additions,
                                      deletions, budget, p_upper=p_upper)
    naive = np.atleast_1d(hierarchical_certified(p, p_select, budget, theta_plus, theta_minus,
                                                  additions, deletions, p_upper=p_upper))
    need = np.where(radius >= budget, np.inf, radius + 1.0)
    return _collective(naive, need, fields, budget, 1, time_limit)


def hierarchical_localized_collective(p_lower, fields, clusters, p_select, r, theta_plus,
                                     theta_minus, additions, deletions, *, p_upper=None,
                                     time_limit=None) -> NodeCollective:
    """Collective certificate against r controlled nodes for cluster-wise lower-level noise
    (docs/theory.md §14.1).

    As `hierarchical_collective`, but target t's node radius is certified against rows in
    the clusters of its receptive field only (the nodes outside it do not change its output);
    ``naive`` (T,) is each target alone against rows in any cluster.

    Args:
        p_lower (array_like): lower bounds on the top class's probability, (T,).
        fields (scipy.sparse matrix): (T, N) receptive fields (:func:`receptive_fields`).
        clusters (array_like): (N,) cluster in [0, K) of every node.
        p_select (float): probability in (0, 1] that a row gets lower-level noise.
        r (int): number of nodes the adversary controls.
        theta_plus, theta_minus (array_like): (K,) lower-level flip probabilities per cluster.
        additions, deletions (int): bits the controlled nodes may add / delete, in all.
        p_upper (array_like, optional): runner-up upper bounds (T,); None: binary variant.
        time_limit (float, optional): seconds for HiGHS.

    Returns:
        NodeCollective: naive (T,), the collective count and the units each target needs.
    """
    fields = sp.csr_matrix(fields)
    r = check_int(r, "r", "[0, inf)")
    if r > fields.shape[1]:
        raise ValueError(f"r == {r}, must be in [0, num_nodes={fields.shape[1]}]")
    tp, tm = np.atleast_1d(theta_plus), np.atleast_1d(theta_minus)
    clusters = check_index_array(clusters, "clusters", tp.size, shape=(fields.shape[1],))
    budget = min(r, check_int(additions, "additions", "[0, inf)")
                 + check_int(deletions, "deletions", "[0, inf)"))
    p = np.atleast_1d(check_probabilities(p_lower, "p_lower"))
    upper = None if p_upper is None else np.atleast_1d(p_upper)
    naive = np.atleast_1d(hierarchical_localized_certified(
        p, p_select, budget, tp, tm, additions, deletions, p_upper=upper))
    radius = np.full(p.shape, -1, dtype=np.int64)
    seen = sp.csr_matrix((np.ones(fields.nnz), fields.indices, fields.indptr),
                         shape=fields.shape) @ sp.csr_matrix(
        (np.ones(clusters.size), (np.arange(clusters.size), clusters)),
        shape=(clusters.size, tp.size))
    present = seen.toarray() > 0  # (T, K): clusters with a node in the field
    groups, group_of = np.unique(present, axis=0, return_inverse=True)
    for g, mask in enumerate(groups):
        members = np.flatnonzero(group_of.ravel() == g)
        if not mask.any():  # an empty field: nothing reaches the target
            radius[members] = budget
            continue
        radius[members] = hierarchical_localized_node_radius(
            p[members], p_select, tp[mask], tm[mask], additions, deletions, budget,
            p_upper=None if upper is None else upper[members])
    need = np.where(radius >= budget, np.inf, radius + 1.0)
    return _collective(naive, need, fields, budget, 1, time_limit)


def _spread_probabilities(p_node: float, p_edge: float, rho: int, tau: int
                          ) -> tuple[np.ndarray, ...]:
    """(rho * tau + 1,) each: the smallest P, Q and Q' (`injection_probabilities`) of e
    edges into one field from rho nodes with at most tau each. Every factor's log is concave
    in the node's edges, so spreading the edges evenly minimizes all three at once (§15)."""
    e = np.arange(rho * tau + 1)
    q, s = np.divmod(e, max(rho, 1))
    low, high = node_factors(p_node, p_edge, q), node_factors(p_node, p_edge, q + 1)
    return tuple(a ** (rho - s) * b**s for a, b in zip(low, high, strict=True))


def injection_collective(p_lower, fields, p_node, p_edge, rho, tau, *, p_upper=None,
                         time_limit=None) -> NodeCollective:
    """Collective certificate against ``rho`` injected nodes with at most ``tau`` edges each
    among all targets (§15). Units are the injected edges (budget rho tau, at most rho per
    clean node); target t breaks only with at least ``need[t]`` of them in its field (edges
    elsewhere cannot reach it)."""
    p_n, p_e = _check_deletion(p_node, p_edge)
    rho = check_int(rho, "rho", "[0, inf)")
    tau = check_int(tau, "tau", "[0, inf)")
    p = np.atleast_1d(check_probabilities(p_lower, "p_lower"))
    cut, sep, kept = (a[None] for a in _spread_probabilities(p_n, p_e, rho, tau))
    low = lower_bound(p[:, None], p_n, cut, sep, kept)
    if p_upper is None:
        holds = low > 0.5
    else:
        rival = np.atleast_1d(check_probabilities(p_upper, "p_upper"))[:, None]
        holds = low > 1.0 - lower_bound(1.0 - rival, p_n, cut, sep, kept)
    fails = ~holds
    need = np.where(fails.any(axis=1), np.argmax(fails, axis=1).astype(float), np.inf)
    naive = np.atleast_1d(injection_certified(p, p_n, p_e, rho, tau, p_upper=p_upper))
    return _collective(naive, need, fields, rho * tau, rho, time_limit)
