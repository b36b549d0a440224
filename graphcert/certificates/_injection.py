"""Injected nodes under node-aware bi-smoothing (docs/theory.md §15; Lai et al. 2023).

Smoothing deletes every edge with probability ``p_e`` and every node with probability ``p_n``
(a deleted node loses all its edges and keeps its features). The adversary injects rho nodes
with at most tau edges each. The output of a message-passing GNN at a clean target t stays the
same when t is deleted (it is alone in both graphs) or when every surviving injected node is
apart from the clean graph. Three lower bounds on the top class's probability follow
(docs/theory.md §15 proves them); each injected node u with c edges to clean nodes contributes
one factor, and the worst injection gives every node tau edges (and an edge to t):

* E, own coins: ``P = prod_u (p_n + (1 - p_n) p_e^c)``, independent of the clean noise:
  ``max(0, p_A - (1 - p_n)) + min(p_A, 1 - p_n) P``;
* D, own or clean endpoint's coin (Harris' inequality): ``Q = prod_u (p_n + (1 - p_n) s^c)``
  with ``s = p_n + (1 - p_n) p_e``: ``p_A - (1 - Q)``;
* D given t kept: ``Q' = prod_u (p_n + (1 - p_n) p_e s^(c - 1))``:
  ``p_A - (1 - p_n)(1 - Q')``.

The largest of the three bounds the top class; the runner-up's best case is ``1 - lower(1 -
p_B)``.
"""
from __future__ import annotations

import numpy as np

from graphcert.utils.validation import check_int, check_probabilities, check_real

__all__ = ["injection_certified", "injection_node_radius", "injection_probabilities",
           "injection_worst_case", "lower_bound", "node_factors"]


def _check_deletion(p_node, p_edge) -> tuple[float, float]:
    """Deletion probabilities in [0, 1) (1 would delete the whole graph)."""
    values = []
    for name, value in (("p_node", p_node), ("p_edge", p_edge)):
        v = check_real(value, name, "[0, 1)")
        if np.ndim(v) != 0:
            raise ValueError(f"{name} must be a scalar in [0, 1), got shape {np.shape(value)}")
        values.append(float(v))
    return values[0], values[1]


def _budget(rho, tau) -> tuple[int, int]:
    return check_int(rho, "rho", "[0, inf)"), check_int(tau, "tau", "[0, inf)")


def node_factors(p_node: float, p_edge: float, edges) -> tuple[np.ndarray, ...]:
    """Per injected node with ``edges`` edges to clean nodes: its factors of P, Q and Q'."""
    c = np.asarray(edges, dtype=float)
    s = p_node + (1.0 - p_node) * p_edge
    cut = p_node + (1.0 - p_node) * p_edge**c
    sep = p_node + (1.0 - p_node) * s**c
    kept = np.where(c > 0, p_node + (1.0 - p_node) * p_edge * s ** np.maximum(c - 1, 0), 1.0)
    return cut, sep, kept


def lower_bound(p, p_node: float, cut, sep, kept):
    """The largest of the three lower bounds on the top class (module docstring)."""
    alone = 1.0 - p_node  # mass where the target keeps its edges
    first = np.maximum(p - alone, 0.0) + np.minimum(p, alone) * cut
    return np.maximum(first, np.maximum(p - (1.0 - sep), p - alone * (1.0 - kept)))


def injection_probabilities(p_node, p_edge, rho, tau) -> tuple[float, float, float]:
    """(P, Q, Q') of the worst injection of ``rho`` nodes with ``tau`` edges each (§15).

    Args:
        p_node (float): node deletion probability p_n in [0, 1).
        p_edge (float): edge deletion probability p_e in [0, 1).
        rho (int): number of injected nodes, >= 0.
        tau (int): edges per injected node, >= 0.

    Returns:
        tuple[float, float, float]: (P, Q, Q').
    """
    p_n, p_e = _check_deletion(p_node, p_edge)
    rho, tau = _budget(rho, tau)
    return tuple(float(f**rho) for f in node_factors(p_n, p_e, tau))


def injection_worst_case(p_lower, p_node, p_edge, rho, tau):
    """Lower bound on the probability of the predicted class under ``rho`` injected nodes
    with at most ``tau`` edges each (§15); a float for a float ``p_lower``, else an array of
    its shape.

    Args:
        p_lower (float or np.ndarray): lower bound on the top class's probability.
        p_node (float): node deletion probability p_n in [0, 1).
        p_edge (float): edge deletion probability p_e in [0, 1).
        rho (int): number of injected nodes, >= 0.
        tau (int): edges per injected node, >= 0.

    Returns:
        float or np.ndarray: the largest of the three lower bounds, of ``p_lower``'s shape.
    """
    cut, sep, kept = injection_probabilities(p_node, p_edge, rho, tau)
    p = check_probabilities(p_lower, "p_lower")
    out = lower_bound(p, float(p_node), cut, sep, kept)
    return float(out) if np.ndim(p_lower) == 0 else out


def injection_certified(p_lower, p_node, p_edge, rho, tau, *, p_upper=None):
    """Binary (``p_upper`` None): the worst case of ``p_lower`` above 1/2; multi-class: above
    the runner-up's best case ``1 - worst(1 - p_upper)`` (§15). A bool or a bool array.

    Args:
        p_lower (float or np.ndarray): lower bound on the top class's probability.
        p_node (float): node deletion probability p_n in [0, 1).
        p_edge (float): edge deletion probability p_e in [0, 1).
        rho (int): number of injected nodes, >= 0.
        tau (int): edges per injected node, >= 0.
        p_upper (float or np.ndarray, optional): upper bound on the runner-up's probability;
            None: binary variant.

    Returns:
        bool or np.ndarray: certified or not, of ``p_lower``'s shape.
    """
    cut, sep, kept = injection_probabilities(p_node, p_edge, rho, tau)
    p = check_probabilities(p_lower, "p_lower")
    low = lower_bound(p, float(p_node), cut, sep, kept)
    if p_upper is None:
        ok = low > 0.5
    else:
        rival = check_probabilities(p_upper, "p_upper")
        ok = low > 1.0 - lower_bound(1.0 - rival, float(p_node), cut, sep, kept)
    return bool(ok) if np.ndim(ok) == 0 else ok


def injection_node_radius(p_lower, p_node, p_edge, tau, max_nodes: int, *,
                          p_upper=None) -> np.ndarray:
    """Largest rho <= ``max_nodes`` certified by :func:`injection_certified` per node (-1
    where rho = 0 is not: the smoothed prediction is not the class).

    Args:
        p_lower (array_like): lower bounds on the top class's probability, shape (n,).
        p_node (float): node deletion probability p_n in [0, 1).
        p_edge (float): edge deletion probability p_e in [0, 1).
        tau (int): edges per injected node, >= 0.
        max_nodes (int): largest rho tried, >= 0.
        p_upper (array_like, optional): runner-up upper bounds (n,); None: binary variant.

    Returns:
        np.ndarray: int64 (n,), the certified number of injected nodes (-1: none).
    """
    max_nodes = check_int(max_nodes, "max_nodes", "[0, inf)")
    p = np.atleast_1d(check_probabilities(p_lower, "p_lower"))
    upper = None if p_upper is None else np.atleast_1d(p_upper)
    radius = np.full(p.shape, -1, dtype=np.int64)
    for rho in range(max_nodes + 1):
        ok = injection_certified(p, p_node, p_edge, rho, tau, p_upper=upper)
        ok &= radius == rho - 1
        if not ok.any():
            break
        radius[ok] = rho
    return radius
