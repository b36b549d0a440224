"""Hierarchical smoothing with cluster-wise lower-level noise (docs/theory.md §14.1), by brute
force: every outcome (selection of the rows, then the bits of the selected rows, each row with
its cluster's flip probabilities) under x and under every x' within the budget, and the
Neyman-Pearson fill over single outcomes, without any merging."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from graphcert.certificates._hierarchical import hierarchical_worst_case
from graphcert.certificates._hierarchical_localized import (
    hierarchical_localized_certified,
    hierarchical_localized_node_radius,
    hierarchical_localized_worst_case,
)


def _masses(x: np.ndarray, clusters: np.ndarray, p_sel: float, tp, tm) -> np.ndarray:
    """Probability of every outcome (tau_i, W_i)_i, each row's outcomes in
    ``(tau, bits)`` order, the joint outcome the Kronecker product over rows."""
    n, d = x.shape
    bits = np.array(list(itertools.product((0, 1), repeat=d)))  # (2^d, d)
    out = np.ones(1)
    for i in range(n):
        j = clusters[i]
        on = np.where(x[i] == 1, 1.0 - tm[j], tp[j])
        selected = p_sel * np.where(bits == 1, on, 1.0 - on).prod(axis=1)
        clean = (1.0 - p_sel) * np.all(bits == x[i], axis=1)
        out = np.kron(out, np.concatenate((clean, selected)))
    return out


def _fill(px: np.ndarray, pxp: np.ndarray, p: float, increasing: bool = True) -> float:
    """Smallest (largest: ``increasing=False``) x'-mass of a test of x-mass p."""
    keep = px > 0
    ratio = pxp[keep] / px[keep]
    order = np.argsort(ratio if increasing else -ratio, kind="stable")
    mx, mxp = px[keep][order], pxp[keep][order]
    cum = np.concatenate(([0.0], np.cumsum(mx)))
    k = min(np.searchsorted(cum[1:], p, side="left"), mx.size - 1)
    gained = mxp[:k].sum() + (p - cum[k]) / mx[k] * mxp[k]
    return gained + (0.0 if increasing else pxp[~keep].sum())


def _reachable(x: np.ndarray, r: int, additions: int, deletions: int):
    """Every x' != x with at most r changed rows, ``additions`` 0 -> 1, ``deletions`` 1 -> 0."""
    for flat in itertools.product((0, 1), repeat=x.size):
        xp = np.array(flat).reshape(x.shape)
        rows = np.any(xp != x, axis=1).sum()
        add, dele = ((x == 0) & (xp == 1)).sum(), ((x == 1) & (xp == 0)).sum()
        if 0 < rows <= r and add <= additions and dele <= deletions:
            yield xp


def _brute(x, clusters, p_sel, tp, tm, r, additions, deletions, p):
    """Minimum over every reachable x' of the exact fill of each entry of p."""
    px = _masses(x, clusters, p_sel, tp, tm)
    worst = np.array(p, dtype=float)
    for xp in _reachable(x, r, additions, deletions):
        pxp = _masses(xp, clusters, p_sel, tp, tm)
        worst = np.minimum(worst, [_fill(px, pxp, v) for v in p])
    return worst


def _brute_multiclass(x, clusters, p_sel, tp, tm, r, additions, deletions, low, high):
    """For every reachable x': worst(low) > best(high) (the adversary picks one x')."""
    px = _masses(x, clusters, p_sel, tp, tm)
    ok = np.asarray(low) > np.asarray(high)
    for xp in _reachable(x, r, additions, deletions):
        pxp = _masses(xp, clusters, p_sel, tp, tm)
        ok &= np.array([_fill(px, pxp, a) > _fill(px, pxp, b, increasing=False)
                        for a, b in zip(low, high, strict=True)])
    return ok


P = np.linspace(0.3, 0.995, 15)
TP, TM = np.array([0.15, 0.3]), np.array([0.55, 0.8])

# every row and every cluster can hold the whole budget: the bound is exact
EXACT = [
    # (x, clusters, r, additions, deletions)
    (np.array([[1, 1, 0], [1, 1, 0]]), np.array([0, 1]), 1, 1, 2),
    (np.array([[1, 0], [1, 0], [1, 0], [1, 0]]), np.array([0, 0, 1, 1]), 2, 1, 1),
    (np.array([[1, 0], [1, 0], [1, 0], [1, 0]]), np.array([0, 0, 1, 1]), 2, 2, 2),
    (np.array([[1, 0], [1, 0], [1, 0], [1, 0]]), np.array([0, 1, 0, 1]), 2, 0, 2),
]


@pytest.mark.parametrize("x, clusters, r, additions, deletions", EXACT)
def test_equals_the_brute_force_fill_when_capacity_does_not_bind(x, clusters, r, additions,
                                                                  deletions):
    p_sel = 0.7
    got = hierarchical_localized_worst_case(P, p_sel, r, TP, TM, additions, deletions)
    want = _brute(x, clusters, p_sel, TP, TM, r, additions, deletions, P)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert np.all(got <= want + 1e-15)
    assert got.min() < P.min()  # the budget bites


@pytest.mark.parametrize("x, clusters, r, additions, deletions", EXACT[:3])
def test_multiclass_decision_equals_the_brute_force_one(x, clusters, r, additions,
                                                        deletions):
    rng = np.random.default_rng(5)
    low = rng.uniform(0.4, 1.0, 40)
    high = rng.uniform(0.0, 1.0, 40) * (1 - low)
    p_sel = 0.8
    got = hierarchical_localized_certified(low, p_sel, r, TP, TM, additions, deletions,
                                           p_upper=high)
    want = _brute_multiclass(x, clusters, p_sel, TP, TM, r, additions, deletions, low, high)
    assert got.dtype == bool and np.array_equal(got, want)
    assert 0 < want.sum() < want.size  # both outcomes occur
    binary = hierarchical_localized_certified(low, p_sel, r, TP, TM, additions, deletions)
    np.testing.assert_array_equal(binary, _brute(x, clusters, p_sel, TP, TM, r, additions,
                                                 deletions, low) > 0.5)


def test_never_above_the_brute_force_on_random_instances():
    rng = np.random.default_rng(0)
    tight = 0
    for _ in range(40):
        n, d = rng.integers(2, 4), rng.integers(1, 4)
        x = rng.integers(0, 2, size=(n, d))
        clusters = rng.integers(0, 2, size=n)
        tp, tm = rng.uniform(0.02, 0.5, 2), rng.uniform(0.3, 0.95, 2)
        r, additions, deletions = rng.integers(1, 3), rng.integers(0, 3), rng.integers(0, 3)
        p_sel = rng.uniform(0.3, 1.0)
        present = np.unique(clusters)
        got = hierarchical_localized_worst_case(P, p_sel, r, tp[present], tm[present],
                                                additions, deletions)
        want = _brute(x, clusters, p_sel, tp, tm, r, additions, deletions, P)
        assert np.all(got <= want + 1e-12)
        tight += np.allclose(got, want, atol=1e-9)
    assert tight >= 5  # and often exact despite rows of 1-3 bits


@pytest.mark.parametrize("r, additions, deletions", [(1, 0, 1), (2, 1, 2), (3, 2, 3), (5, 0, 5)])
def test_one_shared_noise_reduces_to_hierarchical_worst_case(r, additions, deletions):
    got = hierarchical_localized_worst_case(P, 0.81, r, [0.05, 0.05, 0.05], [0.8, 0.8, 0.8],
                                            additions, deletions)
    want = hierarchical_worst_case(P, 0.81, r, 0.05, 0.8, additions, deletions)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_a_less_noisy_cluster_only_lowers_the_bound_and_r_zero_keeps_p():
    one = hierarchical_localized_worst_case(P, 0.81, 2, [0.05], [0.9], 0, 2)
    both = hierarchical_localized_worst_case(P, 0.81, 2, [0.05, 0.05], [0.9, 0.6], 0, 2)
    weak = hierarchical_localized_worst_case(P, 0.81, 2, [0.05], [0.6], 0, 2)
    assert np.all(both <= one) and np.any(both < one - 1e-3)
    np.testing.assert_allclose(both, weak, atol=1e-12)  # the adversary takes the weak cluster
    assert np.array_equal(hierarchical_localized_worst_case(P, 0.81, 0, [0.1], [0.8], 3, 3), P)
    assert isinstance(hierarchical_localized_worst_case(0.9, 0.81, 1, [0.1], [0.8], 0, 1), float)


def test_node_radius_is_the_largest_certified_r():
    p = np.array([0.4, 0.6, 0.9, 0.99, 0.999])
    tp, tm = [0.05, 0.1], [0.8, 0.9]
    radius = hierarchical_localized_node_radius(p, 0.81, tp, tm, 0, 4, 4)
    for r in range(5):
        ok = hierarchical_localized_certified(p, 0.81, r, tp, tm, 0, 4)
        assert np.array_equal(ok, radius >= r)
    assert radius[0] == -1 and radius[-1] >= 1


@pytest.mark.parametrize("kwargs, match", [
    ({"theta_minus": [0.8, 0.9, 0.7]}, "same length"),
    ({"theta_plus": [0.05, 1.2]}, "theta_plus"),
    ({"theta_minus": [-0.1, 0.5]}, "theta_minus"),
    ({"theta_plus": [[0.1, 0.2]]}, "theta_plus"),
    ({"r": -1}, "r"),
    ({"p_select": 0.0}, "p_select"),
    ({"p_select": 1.5}, "p_select"),
    ({"deletions": -2}, "deletions"),
    ({"p_lower": 1.5}, "p_lower"),
])
def test_bad_input_names_the_argument(kwargs, match):
    args = {"p_lower": 0.9, "p_select": 0.8, "r": 1, "theta_plus": [0.05, 0.1],
            "theta_minus": [0.8, 0.9], "additions": 0, "deletions": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        hierarchical_localized_worst_case(**args)
    with pytest.raises(ValueError, match=match):
        hierarchical_localized_certified(**args)
