"""Hierarchical smoothing against adversarial nodes (docs/theory.md §14), by brute force.

Every outcome (selection of the rows, then the bits of the selected rows; unselected rows stay
clean and the selection is visible) is enumerated for a 2 x 4 binary matrix, under x and
under every x' the adversary may reach; the Neyman-Pearson fill over single outcomes is
computed without any merging.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import norm

from graphcert.certificates import (
    hierarchical_certified,
    hierarchical_gaussian_certified,
    hierarchical_gaussian_worst_case,
    hierarchical_node_radius,
    hierarchical_worst_case,
    sparse_smooth_worst_mass,
)

X = np.array([[0, 0, 1, 1], [0, 1, 0, 1]])  # every row can take 2 additions and 2 deletions
N, D = X.shape
P_SEL, TP, TM = 0.7, 0.2, 0.6
SELECTIONS = np.array(list(itertools.product((0, 1), repeat=N)))
BITS = np.array(list(itertools.product((0, 1), repeat=N * D))).reshape(-1, N, D)


def _masses(x: np.ndarray) -> np.ndarray:
    """(selections, bit patterns) probability of every outcome under hierarchical noise."""
    on = np.where(x == 1, 1.0 - TM, TP)  # Pr[bit = 1] on a selected row
    bit_prob = np.where(BITS == 1, on, 1.0 - on).prod(axis=2)  # (patterns, N)
    clean = np.all(BITS == x, axis=2).astype(float)  # (patterns, N)
    sel = SELECTIONS[:, None, :]
    per_row = np.where(sel == 1, P_SEL * bit_prob[None], (1.0 - P_SEL) * clean[None])
    return per_row.prod(axis=2).ravel()


def _fill(px: np.ndarray, pxp: np.ndarray, p: float, increasing: bool = True) -> float:
    """Smallest (largest: ``increasing=False``) x'-mass of a set of x-mass p."""
    keep = px > 0
    with np.errstate(divide="ignore"):
        ratio = pxp[keep] / px[keep]
    order = np.argsort(ratio if increasing else -ratio, kind="stable")
    mx, mxp = px[keep][order], pxp[keep][order]
    cum = np.concatenate(([0.0], np.cumsum(mx)))
    k = min(np.searchsorted(cum[1:], p, side="left"), mx.size - 1)
    gained = mxp[:k].sum() + (p - cum[k]) / mx[k] * mxp[k]
    return gained + (0.0 if increasing else pxp[~keep].sum())


def _reachable(r: int, additions: int, deletions: int):
    """Every x' with at most r changed rows, ``additions`` 0 -> 1 and ``deletions`` 1 -> 0."""
    for flat in itertools.product((0, 1), repeat=N * D):
        xp = np.array(flat).reshape(N, D)
        rows = np.any(xp != X, axis=1).sum()
        add, dele = ((X == 0) & (xp == 1)).sum(), ((X == 1) & (xp == 0)).sum()
        if rows <= r and add <= additions and dele <= deletions:
            yield xp


BUDGETS = [(r, a, d) for r in (0, 1, 2) for a in range(3) for d in range(3)]
P_A = np.array([0.35, 0.55, 0.8, 0.93, 0.99])


@pytest.mark.parametrize("r, a, d", BUDGETS)
def test_worst_case_is_the_exact_minimum_over_every_reachable_matrix(r, a, d):
    px = _masses(X)
    brute = [min(_fill(px, _masses(xp), p) for xp in _reachable(r, a, d)) for p in P_A]
    got = hierarchical_worst_case(P_A, P_SEL, r, TP, TM, a, d)
    np.testing.assert_allclose(got, brute, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("r, a, d", [(1, 1, 1), (2, 2, 1), (1, 2, 2), (2, 1, 2)])
def test_multiclass_certificate_matches_every_reachable_matrix(r, a, d):
    px = _masses(X)
    pairs = [(0.6, 0.3), (0.8, 0.15), (0.9, 0.05), (0.97, 0.02), (0.5, 0.45), (0.99, 0.005)]
    for p_a, p_b in pairs:
        brute = all(_fill(px, _masses(xp), p_a) > _fill(px, _masses(xp), p_b, False)
                    for xp in _reachable(r, a, d))
        assert hierarchical_certified(p_a, P_SEL, r, TP, TM, a, d, p_upper=p_b) == brute
        binary = all(_fill(px, _masses(xp), p_a) > 0.5 for xp in _reachable(r, a, d))
        assert hierarchical_certified(p_a, P_SEL, r, TP, TM, a, d) == binary


def test_multiclass_variant_certifies_where_binary_does_not():
    # r = 1, one deleted bit: runner-up far below 1 - p_A
    assert not hierarchical_certified(0.7, 0.9, 1, 0.01, 0.6, 0, 1)
    assert hierarchical_certified(0.7, 0.9, 1, 0.01, 0.6, 0, 1, p_upper=0.02)


def test_selecting_every_row_is_sparse_smooth_and_shapes_follow_p_lower():
    p = np.array([[0.6, 0.9], [0.95, 0.999]])
    expected = np.minimum.reduce([sparse_smooth_worst_mass(p, TP, TM, a, d)
                                  for a in range(3) for d in range(2)])
    got = hierarchical_worst_case(p, 1.0, 3, TP, TM, 2, 1)
    assert got.shape == p.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert isinstance(hierarchical_worst_case(0.9, 0.8, 1, TP, TM, 1, 0), float)


def test_below_the_unselected_mass_nothing_is_left():
    # p_A <= 1 - p^r: the adversary's rows unselected cover all of p_A
    assert hierarchical_worst_case(0.18, 0.9, 2, TP, TM, 1, 1) == 0.0
    assert 0 < hierarchical_worst_case(0.2, 0.9, 2, TP, TM, 1, 1) < 1e-2


def test_node_radius_is_the_largest_certified_r():
    p = np.array([0.4, 0.9, 0.99, 0.9999])
    for a, d, expected in ((3, 3, [-1, 0, 0, 2]), (1, 1, [-1, 0, 1, 6])):
        radius = hierarchical_node_radius(p, 0.9, 0.01, 0.6, a, d, 6)
        np.testing.assert_array_equal(radius, expected)  # (1, 1): at most 2 rows change
        for n, rad in enumerate(radius):
            for r in range(7):
                assert hierarchical_certified(p[n], 0.9, r, 0.01, 0.6, a, d) == (r <= rad)


def _gaussian_brute(p_a: float, p_sel: float, sigma: float, eps: float) -> float:
    """One row, one feature: the unselected atoms (ratio 0 and inf) and the selected
    Gaussian part on a fine grid, filled outcome by outcome."""
    edges = np.linspace(-12 * sigma, 12 * sigma + eps, 400_001)
    px = p_sel * np.diff(norm.cdf(edges, 0.0, sigma))
    pxp = p_sel * np.diff(norm.cdf(edges, eps, sigma))
    px = np.concatenate((px, [1 - p_sel, 0.0]))
    pxp = np.concatenate((pxp, [0.0, 1 - p_sel]))
    return _fill(px, pxp, p_a)


@pytest.mark.parametrize("p_a", [0.3, 0.6, 0.9, 0.99])
def test_gaussian_lower_level_matches_a_discretized_fill(p_a):
    got = hierarchical_gaussian_worst_case(p_a, 0.75, 1, 0.5, 0.4)
    assert abs(got - _gaussian_brute(p_a, 0.75, 0.5, 0.4)) < 2e-4


def test_gaussian_reduces_to_cohen_and_scales_with_p_power_r():
    p = np.array([0.7, 0.95])
    np.testing.assert_allclose(hierarchical_gaussian_worst_case(p, 1.0, 4, 1.0, 0.5),
                               norm.cdf(norm.ppf(p) - 0.5))
    q = 0.9**3
    np.testing.assert_allclose(hierarchical_gaussian_worst_case(p, 0.9, 3, 1.0, 0.5),
                               q * norm.cdf(norm.ppf((p - 1 + q) / q) - 0.5))
    assert hierarchical_gaussian_certified(0.99, 0.95, 1, 1.0, 0.5)
    assert not hierarchical_gaussian_certified(0.99, 0.95, 20, 1.0, 0.5)
    assert not hierarchical_gaussian_certified(0.7, 0.95, 1, 1.0, 0.5)
    assert hierarchical_gaussian_certified(0.7, 0.95, 1, 1.0, 0.5, p_upper=0.05)


@pytest.mark.parametrize("kwargs, match", [
    ({"p_select": 0.0}, r"p_select == 0.0, must be in \(0, 1\]"),
    ({"p_select": 1.2}, r"p_select == 1.2, must be in \(0, 1\]"),
    ({"r": -1}, r"r == -1, must be >= 0"),
    ({"r": 3, "num_nodes": 2}, r"r == 3, must be in \[0, num_nodes=2\]"),
    ({"additions": -1}, r"additions == -1"),
    ({"theta_plus": 1.5}, r"theta_plus == 1.5"),
    ({"p_lower": 1.1}, r"p_lower"),
])
def test_bad_input_is_named(kwargs, match):
    args = {"p_lower": 0.9, "p_select": 0.8, "r": 1, "theta_plus": TP, "theta_minus": TM,
            "additions": 1, "deletions": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        hierarchical_worst_case(**args)
    with pytest.raises(ValueError, match=match):
        hierarchical_certified(**args)
