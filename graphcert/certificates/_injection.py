"""Injected nodes under node-aware bi-smoothing (docs/theory.md §15; Lai et al. 2023).

Smoothing deletes every edge with probability ``p_edge`` and every node with probability
``p_node`` (a deleted node loses all its edges and keeps its features). The adversary injects
rho nodes with at most tau edges each. Call an injected node *cut off* when it is deleted or
all its edges to the clean graph are deleted; these events use only the coins of the injected
nodes and edges, so they are independent of the clean graph's noise, and

    Pr[all injected nodes cut off] = prod_u (p_node + (1 - p_node) p_edge^{c_u})
                                   >= (p_node + (1 - p_node) p_edge^tau)^rho =: P

(c_u <= tau edges of u to clean nodes). When all are cut off, the injected nodes form components
apart from the clean graph, which a message-passing GNN's output at a clean node ignores. Hence
``Pr'[g = y] >= p_A P`` for the top class and ``Pr'[g = y_B] <= p_B P + 1 - P`` for any other.
"""
from __future__ import annotations

import numpy as np

from graphcert.utils.validation import check_int, check_probabilities, check_real

__all__ = ["injection_certified", "injection_cutoff_probability", "injection_node_radius",
           "injection_worst_case"]


def _check_deletion(p_node, p_edge) -> tuple[float, float]:
    """Deletion probabilities in [0, 1) (1 would delete the whole graph)."""
    values = []
    for name, value in (("p_node", p_node), ("p_edge", p_edge)):
        v = check_real(value, name, "[0, 1)")
        if np.ndim(v) != 0:
            raise ValueError(f"{name} must be a scalar in [0, 1), got shape {np.shape(value)}")
        values.append(float(v))
    return values[0], values[1]


def injection_cutoff_probability(p_node, p_edge, rho, tau) -> float:
    """``(p_node + (1 - p_node) p_edge^tau)^rho``: the smallest probability, over every
    injection of ``rho`` nodes with at most ``tau`` edges each, that all injected nodes are cut
    off from the clean graph (§15)."""
    p_n, p_e = _check_deletion(p_node, p_edge)
    rho = check_int(rho, "rho", "[0, inf)")
    tau = check_int(tau, "tau", "[0, inf)")
    return float((p_n + (1.0 - p_n) * p_e**tau) ** rho)


def injection_worst_case(p_lower, p_node, p_edge, rho, tau):
    """Lower bound ``p_lower * P`` on the probability of the predicted class under ``rho``
    injected nodes with at most ``tau`` edges each (§15); a float for a float ``p_lower``,
    else an array of its shape."""
    cut = injection_cutoff_probability(p_node, p_edge, rho, tau)
    p = check_probabilities(p_lower, "p_lower")
    out = p * cut
    return float(out) if np.ndim(p_lower) == 0 else out


def injection_certified(p_lower, p_node, p_edge, rho, tau, *, p_upper=None):
    """Binary (``p_upper`` None): ``p_lower P > 1/2``; multi-class: ``p_lower P > p_upper P
    + 1 - P`` with ``p_upper`` the runner-up's upper bound (§15). A bool or a bool array."""
    cut = injection_cutoff_probability(p_node, p_edge, rho, tau)
    p = check_probabilities(p_lower, "p_lower")
    if p_upper is None:
        ok = p * cut > 0.5
    else:
        ok = p * cut > check_probabilities(p_upper, "p_upper") * cut + 1.0 - cut
    return bool(ok) if np.ndim(ok) == 0 else ok


def injection_node_radius(p_lower, p_node, p_edge, tau, max_nodes: int, *,
                          p_upper=None) -> np.ndarray:
    """Largest rho <= ``max_nodes`` certified by :func:`injection_certified` per node (-1
    where rho = 0 is not: the smoothed prediction is not the class)."""
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
