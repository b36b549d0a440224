"""The exact base certificate for cluster-wise sparsity-aware noise (docs/theory.md §11)."""
from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from graphcert.certificates import (
    localized_exact_certified,
    localized_exact_threshold,
    localized_exact_worst_case,
    sparse_smooth_worst_mass,
    sparsity_aware_weights,
    variance_constrained_radius,
)
from tests.helpers import exact_np_fill


def _outcomes(tp, tm, additions, deletions):
    """(Pr_x(z), Pr_x'(z)) in exact rationals for every outcome z of the perturbed bits."""
    bits = []  # (Pr[z = 1 | x], Pr[z = 1 | x'])
    for k in range(len(tp)):
        p, m = Fraction(float(tp[k])), Fraction(float(tm[k]))
        bits += [(p, 1 - m)] * int(additions[k]) + [(1 - m, p)] * int(deletions[k])
    out = []
    for z in itertools.product((0, 1), repeat=len(bits)):
        px = pxp = Fraction(1)
        for (on_x, on_xp), bit in zip(bits, z, strict=True):
            px *= on_x if bit else 1 - on_x
            pxp *= on_xp if bit else 1 - on_xp
        out.append((px, pxp))
    return out


def _random_setting(rng, max_bits=8):
    while True:
        k = int(rng.integers(1, 4))
        tp, tm = rng.uniform(0.02, 0.98, k), rng.uniform(0.02, 0.98, k)
        if rng.random() < 0.4:
            tp[:] = tp[0]  # the papers' fixed theta_plus
        if rng.random() < 0.3 and k > 1:
            tm[1] = tm[0]  # two clusters with one noise: merged
            tp[1] = tp[0]
        additions, deletions = rng.integers(0, 3, k), rng.integers(0, 3, k)
        if 0 < additions.sum() + deletions.sum() <= max_bits:
            return tp, tm, additions, deletions


def test_equals_brute_force_over_all_outcomes():
    rng = np.random.default_rng(0)
    for _ in range(60):
        tp, tm, additions, deletions = _random_setting(rng)
        outcomes = _outcomes(tp, tm, additions, deletions)
        p = rng.uniform(0.0, 0.999, 4)
        got = localized_exact_worst_case(p, tp, tm, additions, deletions)
        exact = np.array([float(exact_np_fill(outcomes, Fraction(float(v)))) for v in p])
        assert np.all(got <= exact)  # a lower bound ...
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-9)  # ... within 1e-9


def test_certified_and_threshold_agree_with_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(30):
        tp, tm, additions, deletions = _random_setting(rng)
        outcomes = _outcomes(tp, tm, additions, deletions)
        thr = localized_exact_threshold(tp, tm, additions, deletions)
        p = np.concatenate([rng.uniform(0.5, 1.0, 20), [thr, min(thr + 1e-9, 1.0)]])
        got = localized_exact_certified(p, tp, tm, additions, deletions)
        assert np.all(got[p > thr])  # the threshold is conservative by a few ulps at most
        assert not np.any(got[p < thr * (1 - 1e-12)])
        for value, certified in zip(p, got, strict=True):
            if certified:
                assert exact_np_fill(outcomes, Fraction(float(value))) > Fraction(1, 2)


def test_one_cluster_is_sparse_smooth():
    p = np.linspace(0.0, 0.999, 37)
    for tp, tm, a, d in [(0.01, 0.3, 3, 40), (0.2, 0.6, 5, 5), (0.01, 0.95, 20, 100),
                         (0.7, 0.6, 4, 0), (0.01, 0.5, 0, 30)]:
        got = localized_exact_worst_case(p, [tp], [tm], [a], [d])
        np.testing.assert_allclose(got, sparse_smooth_worst_mass(p, tp, tm, a, d), atol=1e-9)


def test_equal_clusters_merge_into_one():
    p = np.linspace(0.5, 0.999, 11)
    split = localized_exact_worst_case(p, [0.01, 0.01, 0.2], [0.4, 0.4, 0.7], [1, 2, 0],
                                       [3, 4, 0])
    np.testing.assert_allclose(split, sparse_smooth_worst_mass(p, 0.01, 0.4, 3, 7), atol=1e-9)


def test_never_below_the_variance_constrained_certificate():
    """A binary classifier with Pr_x = p has variance p (1 - p): whatever the
    variance-constrained certificate certifies with (mu, zeta) = (p, p (1 - p)), the exact
    worst case certifies too (docs/theory.md §3, §11)."""
    rng = np.random.default_rng(2)
    checked = 0
    for _ in range(300):
        k = int(rng.integers(1, 5))
        tp, tm = np.full(k, 0.01), rng.uniform(0.4, 0.95, k)
        additions, deletions = rng.integers(0, 2, k), rng.integers(0, 5, k)
        p = rng.uniform(0.9, 0.99999)
        eta = variance_constrained_radius(p, p * (1 - p))
        w_plus, w_minus = sparsity_aware_weights(tp, tm)
        if w_plus @ additions + w_minus @ deletions < eta:
            checked += 1
            assert localized_exact_certified(p, tp, tm, additions, deletions)
    assert checked > 30


def test_monotone_in_every_count_and_in_p():
    rng = np.random.default_rng(3)
    tp, tm = np.array([0.01, 0.02, 0.3]), np.array([0.3, 0.6, 0.9])
    p = np.linspace(0.5, 0.999, 25)
    for _ in range(20):
        additions, deletions = rng.integers(0, 3, 3), rng.integers(0, 6, 3)
        base = localized_exact_worst_case(p, tp, tm, additions, deletions)
        assert np.all(np.diff(base) >= 0)
        for k in range(3):
            for counts in ((additions + np.eye(3, dtype=int)[k], deletions),
                           (additions, deletions + np.eye(3, dtype=int)[k])):
                assert np.all(localized_exact_worst_case(p, tp, tm, *counts) <= base)


def test_shapes_and_no_change():
    p = np.array([[0.6, 0.7], [0.8, 0.95]])
    out = localized_exact_worst_case(p, [0.01, 0.02], [0.3, 0.5], [0, 1], [2, 0])
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(
        localized_exact_worst_case(p, [0.01, 0.02], [0.3, 0.5], [0, 0], [0, 0]), p)
    assert localized_exact_worst_case(0.7, [0.01], [0.3], [0], [1]).shape == ()
    assert localized_exact_threshold([0.01], [0.3], [0], [0]) == 0.5


@pytest.mark.parametrize("kwargs, match", [
    (dict(theta_plus=[0.01, 0.02]), "theta_minus has shape"),
    (dict(theta_minus=[0.0]), "theta_minus"),
    (dict(theta_plus=[1.0]), "theta_plus"),
    (dict(additions=[-1]), "additions"),
    (dict(deletions=[1.5]), "deletions"),
    (dict(deletions=[1, 2]), "deletions has shape"),
    (dict(p_lower=1.2), "p_lower"),
    (dict(theta_plus=[[0.01]]), "theta_plus must be one-dimensional"),
    (dict(theta_plus=[0.01, 0.02, 0.03, 0.04], theta_minus=[0.3, 0.4, 0.5, 0.6],
          additions=[0] * 4, deletions=[100] * 4), "MAX_CELLS"),
])
def test_bad_input_names_the_argument(kwargs, match):
    args = dict(p_lower=0.8, theta_plus=[0.01], theta_minus=[0.3], additions=[1],
                deletions=[2])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        localized_exact_worst_case(**args)
