"""Injected nodes under node-aware bi-smoothing (docs/theory.md §15), by brute force.

A path 0 - 1 - 2 is the clean graph. Every injection of 1 or 2 nodes (3, 4) with at most tau
edges each (to clean nodes or to each other) and every outcome of the deletion noise (a node
coin per node, an edge coin per edge) is enumerated. The classifiers are every function of the
target's connected component (nodes and edges): message passing sees nothing else. The
Neyman-Pearson fill over the components gives the exact worst case for each injection.
"""
from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from graphcert.certificates import (
    injection_certified,
    injection_node_radius,
    injection_probabilities,
    injection_worst_case,
)

CLEAN_EDGES = [(0, 1), (1, 2)]
P_N, P_E = 0.3, 0.6


def _component(target, n_nodes, edges, node_keep, edge_keep):
    alive = [e for e, k in zip(edges, edge_keep, strict=True)
             if k and node_keep[e[0]] and node_keep[e[1]]]
    seen, frontier = {target}, [target]
    while frontier:
        v = frontier.pop()
        for a, b in alive:
            for x, y in ((a, b), (b, a)):
                if x == v and y not in seen:
                    seen.add(y)
                    frontier.append(y)
    return frozenset(seen), frozenset(e for e in alive if e[0] in seen)


def _distribution(target, n_nodes, edges):
    """Probability of every component of ``target`` under the deletion noise."""
    out = defaultdict(float)
    for coins in itertools.product((0, 1), repeat=n_nodes + len(edges)):
        nodes, kept = coins[:n_nodes], coins[n_nodes:]
        prob = np.prod([1 - P_N if c else P_N for c in nodes]) * np.prod(
            [1 - P_E if c else P_E for c in kept])
        out[_component(target, n_nodes, edges, nodes, kept)] += prob
    return out


def _fill(clean, attacked, p, increasing=True):
    """Smallest (largest: ``increasing=False``) attacked mass of a set of clean mass p."""
    keys = set(clean) | set(attacked)
    cells = [(clean.get(k, 0.0), attacked.get(k, 0.0)) for k in keys]
    sign = 1 if increasing else -1
    cells = sorted((c for c in cells if c[0] > 0), key=lambda c: sign * c[1] / c[0])
    got = 0.0 if increasing else sum(attacked.get(k, 0.0) for k in keys if clean.get(k, 0) == 0)
    acc = 0.0
    for px, pxp in cells:
        take = min(px, p - acc)
        if take <= 0:
            break
        got += take / px * pxp
        acc += take
    return got


def _injections(rho, tau):
    """Edge lists of every injection of ``rho`` nodes with at most ``tau`` edges each."""
    injected = list(range(3, 3 + rho))
    choices = [s for k in range(tau + 1) for s in itertools.combinations(range(3), k)]
    for ends in itertools.product(choices, repeat=rho):
        for link in ((False, True) if rho == 2 else (False,)):
            if any(len(s) + link > tau for s in ends):
                continue
            edges = [(w, u) for u, s in zip(injected, ends, strict=True) for w in s]
            yield edges + ([(3, 4)] if link else [])


P_A = [0.2, 0.45, 0.7, 0.9, 0.99]


@pytest.mark.parametrize("target", [0, 1])
@pytest.mark.parametrize("rho, tau", [(1, 0), (1, 1), (1, 2), (2, 1), (2, 2)])
def test_certificate_never_exceeds_the_exact_worst_case(target, rho, tau):
    clean = _distribution(target, 3, CLEAN_EDGES)
    attacked = [_distribution(target, 3 + rho, CLEAN_EDGES + e) for e in _injections(rho, tau)]
    for p in P_A:
        brute = min(_fill(clean, a, p) for a in attacked)
        assert injection_worst_case(p, P_N, P_E, rho, tau) <= brute + 1e-12
    for p_a, p_b in [(0.7, 0.2), (0.9, 0.05), (0.99, 0.01), (0.6, 0.4)]:
        if injection_certified(p_a, P_N, P_E, rho, tau, p_upper=p_b):
            assert all(_fill(clean, a, p_a) > _fill(clean, a, p_b, False) for a in attacked)
        if injection_certified(p_a, P_N, P_E, rho, tau):
            assert all(_fill(clean, a, p_a) > 0.5 for a in attacked)


@pytest.mark.parametrize("rho", [1, 2])
def test_certificate_is_exact_for_edges_to_the_target_below_its_edge_mass(rho):
    # components of target 1 with an edge (mass 0.337) all have the ratio P: a classifier
    # right on p_A <= 0.337 of them loses exactly the factor P
    edges = CLEAN_EDGES + [(1, u) for u in range(3, 3 + rho)]
    clean, attacked = _distribution(1, 3, CLEAN_EDGES), _distribution(1, 3 + rho, edges)
    for p in (0.1, 0.2, 0.33):
        assert abs(injection_worst_case(p, P_N, P_E, rho, 1) - _fill(clean, attacked, p)) < 1e-12


def test_treating_clean_endpoint_deletion_as_independent_over_claims():
    # p_A times the factor p_e + p_n - p_e p_n per edge (clean endpoint deleted or edge
    # deleted) treats the clean endpoint's coin as independent of the prediction; a classifier
    # that is right on the components with an edge of the target and on some of the
    # isolated ones breaks it.
    edges = CLEAN_EDGES + [(1, 3)]
    clean, attacked = _distribution(1, 3, CLEAN_EDGES), _distribution(1, 4, edges)
    p_a = 1 - P_N
    q = injection_probabilities(P_N, P_E, 1, 1)[1]
    assert q == pytest.approx((1 - P_N) * (P_E + P_N - P_E * P_N) + P_N)
    exact = _fill(clean, attacked, p_a)
    assert p_a * q > exact + 0.01
    assert injection_worst_case(p_a, P_N, P_E, 1, 1) <= exact


def test_probabilities_and_radius():
    s = 0.8 + 0.2 * 0.9
    np.testing.assert_allclose(injection_probabilities(0.8, 0.9, 3, 6),
                               [(0.8 + 0.2 * 0.9**6) ** 3, (0.8 + 0.2 * s**6) ** 3,
                                (0.8 + 0.2 * 0.9 * s**5) ** 3])
    assert injection_probabilities(0.8, 0.9, 0, 6) == (1.0, 1.0, 1.0)
    p = np.array([0.4, 0.7, 0.9, 0.99])
    radius = injection_node_radius(p, 0.3, 0.9, 6, 40)
    for n, rad in enumerate(radius):
        for rho in range(41):
            assert injection_certified(p[n], 0.3, 0.9, rho, 6) == (rho <= rad)
    assert radius[0] == -1 and 0 < radius[1] < radius[2] < radius[3]
    # the target alone (deleted) w.p. p_n = 0.8: p_A > 1/2 + 0.2 holds against any rho
    np.testing.assert_array_equal(injection_node_radius([0.69, 0.71], 0.8, 0.9, 6, 200),
                                  [injection_node_radius([0.69], 0.8, 0.9, 6, 200)[0], 200])


@pytest.mark.parametrize("kwargs, match", [
    ({"tau": -1}, r"tau == -1, must be >= 0"),
    ({"rho": -2}, r"rho == -2, must be >= 0"),
    ({"p_node": 1.0}, r"p_node == 1.0, must be in \[0, 1\)"),
    ({"p_edge": -0.1}, r"p_edge == -0.1, must be in \[0, 1\)"),
])
def test_bad_input_is_named(kwargs, match):
    args = {"p_lower": 0.9, "p_node": 0.5, "p_edge": 0.5, "rho": 1, "tau": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        injection_worst_case(**args)
    with pytest.raises(ValueError, match=match):
        injection_certified(**args)
