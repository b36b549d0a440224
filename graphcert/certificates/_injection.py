"""Injected nodes under node-aware bi-smoothing (docs/theory.md §15; Lai et al. 2023).

Smoothing deletes every edge with probability ``p_edge`` and every node with probability
``p_node`` (a deleted node loses all its edges and keeps its features). The adversary injects
rho nodes with at most tau edges each. Two events leave a message-passing GNN's output at a
clean target unchanged, because every surviving injected node is then apart from the clean
graph:

* E: every injected node is deleted or all its edges to clean nodes are deleted by their own
  coins. E uses only the injected coins, so it is independent of the clean noise, and
  ``Pr[E] >= P = (p_n + (1 - p_n) p_e^tau)^rho``; hence ``Pr'[g = y] >= p_A P``.
* D: every injected node is deleted or each of its edges to a clean node w is deleted or has
  w deleted. D depends on the clean coins, but by Harris' inequality
  ``Pr[D] >= Q = (p_n + (1 - p_n)(p_n + (1 - p_n) p_e)^tau)^rho``; hence
  ``Pr'[g = y] >= Pr[g = y] - Pr[not D] >= p_A - (1 - Q)``.

The certificate takes the larger lower bound for the top class and the smaller upper bound
``min(1 - (1 - p_B) P, p_B + 1 - Q)`` for any other class.
"""
from __future__ import annotations

import numpy as np

from graphcert.utils.validation import check_int, check_probabilities, check_real

__all__ = ["injection_certified", "injection_cutoff_probability", "injection_node_radius",
           "injection_separation_probability", "injection_worst_case"]


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


def injection_cutoff_probability(p_node, p_edge, rho, tau) -> float:
    """P = ``(p_node + (1 - p_node) p_edge^tau)^rho``: the smallest probability, over every
    injection of ``rho`` nodes with at most ``tau`` edges each, that every injected node is
    deleted or loses all its edges to the clean graph by their own coins (event E, §15)."""
    p_n, p_e = _check_deletion(p_node, p_edge)
    rho, tau = _budget(rho, tau)
    return float((p_n + (1.0 - p_n) * p_e**tau) ** rho)


def injection_separation_probability(p_node, p_edge, rho, tau) -> float:
    """Q = ``(p_node + (1 - p_node)(p_node + (1 - p_node) p_edge)^tau)^rho``: a lower bound,
    over every such injection, on the probability that every injected node is deleted or
    each of its edges to a clean node dies by its own coin or its clean endpoint's (event D,
    §15; Harris' inequality over the shared clean endpoints)."""
    p_n, p_e = _check_deletion(p_node, p_edge)
    rho, tau = _budget(rho, tau)
    edge_dies = p_n + (1.0 - p_n) * p_e
    return float((p_n + (1.0 - p_n) * edge_dies**tau) ** rho)


def _class_bounds(p_lower, p_upper, cut: float, sep: float):
    """Lower bound for the top class, upper bound for the runner-up (None: binary, 1/2)."""
    low = np.maximum(p_lower * cut, p_lower - (1.0 - sep))
    if p_upper is None:
        return low, 0.5
    return low, np.minimum(1.0 - (1.0 - p_upper) * cut, p_upper + 1.0 - sep)


def injection_worst_case(p_lower, p_node, p_edge, rho, tau):
    """Lower bound ``max(p_lower P, p_lower - (1 - Q))`` on the probability of the predicted
    class under ``rho`` injected nodes with at most ``tau`` edges each (§15); a float for a
    float ``p_lower``, else an array of its shape."""
    cut = injection_cutoff_probability(p_node, p_edge, rho, tau)
    sep = injection_separation_probability(p_node, p_edge, rho, tau)
    p = check_probabilities(p_lower, "p_lower")
    out, _ = _class_bounds(p, None, cut, sep)
    return float(out) if np.ndim(p_lower) == 0 else out


def injection_certified(p_lower, p_node, p_edge, rho, tau, *, p_upper=None):
    """Binary (``p_upper`` None): the worst case of ``p_lower`` above 1/2; multi-class: above
    ``min(1 - (1 - p_upper) P, p_upper + 1 - Q)``, the runner-up's best case (§15). A bool or
    a bool array."""
    cut = injection_cutoff_probability(p_node, p_edge, rho, tau)
    sep = injection_separation_probability(p_node, p_edge, rho, tau)
    p = check_probabilities(p_lower, "p_lower")
    rival = None if p_upper is None else check_probabilities(p_upper, "p_upper")
    low, high = _class_bounds(p, rival, cut, sep)
    ok = low > high
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
