"""SparseSmooth jointly over attributes and graph structure (docs/theory.md §8)."""
from __future__ import annotations

import itertools
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from graphcert.certificates import (
    sparse_smooth_certified,
    sparse_smooth_joint_region,
    sparse_smooth_region,
    sparse_smooth_thresholds,
    sparse_smooth_worst_mass,
)
from tests.helpers import exact_np_fill


def _outcomes(families, one=Fraction(1)):
    """(Pr_x(z), Pr_x'(z)) of every z over the changed bits, enumerated bit by bit.

    ``families``: (tp, tm, n_added, n_deleted) per independent family of bits; an added bit
    is 0 in x and 1 in x', a deleted bit the reverse.
    """
    bits = []  # (Pr[z = 1 | x], Pr[z = 1 | x'])
    for tp, tm, n_add, n_del in families:
        bits += [(tp, one - tm)] * n_add + [(one - tm, tp)] * n_del
    out = []
    for z in itertools.product((0, 1), repeat=len(bits)):
        px = pxp = one
        for (on_x, on_xp), zb in zip(bits, z, strict=True):
            px *= on_x if zb else one - on_x
            pxp *= on_xp if zb else one - on_xp
        out.append((px, pxp))
    return out


def _mp_unmerged(probs, tp, tm, ra, rd, tpa, tma, sa, sd, dps=40):
    """Every (i, j, k, l) cell of docs/theory.md §8 in mpmath, sorted by its exact ratio, filled."""
    with mpmath.workdps(dps):
        tp, tm, tpa, tma = (mpmath.mpf(v) for v in (tp, tm, tpa, tma))

        def binom(n, k, q):
            return mpmath.binomial(n, k) * q**k * (1 - q) ** (n - k)

        cells = []
        for i, j, k, m in itertools.product(range(ra + 1), range(rd + 1), range(sa + 1),
                                            range(sd + 1)):
            px = binom(ra, i, tp) * binom(rd, j, 1 - tm) * binom(sa, k, tpa) * binom(sd, m, 1 - tma)
            pxp = (binom(ra, i, 1 - tm) * binom(rd, j, tp) * binom(sa, k, 1 - tma)
                   * binom(sd, m, tpa))
            cells.append((px, pxp))
        return [float(exact_np_fill(cells, mpmath.mpf(p))) for p in probs]


def _random_setting(rng):
    frac = lambda: Fraction(int(rng.integers(1, 100)), 100)  # noqa: E731
    return frac(), frac(), frac(), frac()


def test_no_structure_change_is_section_4_exactly():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.3, 1.0, 50)
    for tp, tm, ra, rd in itertools.product([0.0, 0.01, 0.3, 0.8], [0.05, 0.6, 1.0], [0, 2, 9],
                                            [0, 3, 30]):
        plain = sparse_smooth_worst_mass(p, tp, tm, ra, rd)
        joint = sparse_smooth_worst_mass(p, tp, tm, ra, rd, theta_plus_adj=0.2,
                                         theta_minus_adj=0.7, s_add=0, s_del=0)
        assert np.array_equal(plain, joint)
        assert np.array_equal(sparse_smooth_certified(p, tp, tm, ra, rd),
                              sparse_smooth_certified(p, tp, tm, ra, rd, theta_plus_adj=0.2,
                                                      theta_minus_adj=0.7))


def test_no_attribute_change_is_section_4_with_the_pair_thetas():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.3, 1.0, 50)
    for tpa, tma, sa, sd in itertools.product([0.0, 0.001, 0.2, 0.7], [0.1, 0.5, 1.0],
                                              [0, 1, 6], [0, 4, 25]):
        pairs = sparse_smooth_worst_mass(p, 0.01, 0.6, 0, 0, theta_plus_adj=tpa,
                                         theta_minus_adj=tma, s_add=sa, s_del=sd)
        assert np.array_equal(pairs, sparse_smooth_worst_mass(p, tpa, tma, sa, sd))
        assert np.array_equal(
            sparse_smooth_certified(p, 0.01, 0.6, 0, 0, theta_plus_adj=tpa,
                                    theta_minus_adj=tma, s_add=sa, s_del=sd),
            sparse_smooth_certified(p, tpa, tma, sa, sd))


def test_joint_matches_brute_force_enumeration_with_exact_fractions():
    rng = np.random.default_rng(2)
    decided = 0
    for _ in range(150):
        tp, tm, tpa, tma = _random_setting(rng)
        ra, rd, sa, sd = (int(v) for v in rng.integers(0, 3, 4))
        p = Fraction(int(rng.integers(1, 10**6)), 10**6)
        exact = exact_np_fill(_outcomes([(tp, tm, ra, rd), (tpa, tma, sa, sd)]), p)
        kwargs = dict(theta_plus_adj=float(tpa), theta_minus_adj=float(tma), s_add=sa, s_del=sd)
        got = sparse_smooth_worst_mass(float(p), float(tp), float(tm), ra, rd, **kwargs)
        assert float(got) == pytest.approx(float(exact), abs=1e-12)
        if abs(exact - Fraction(1, 2)) > Fraction(1, 10**9):
            certified = sparse_smooth_certified(float(p), float(tp), float(tm), ra, rd, **kwargs)
            assert bool(certified) == (exact > Fraction(1, 2))
            decided += 1
    assert decided > 100


@pytest.mark.parametrize("thetas", [(0.0, 0.3, 0.2, 0.0), (1.0, 0.2, 0.0, 1.0),
                                    (0.5, 0.5, 0.01, 0.6), (0.7, 0.3, 0.9, 0.4),
                                    (0.0, 0.0, 1.0, 1.0), (0.01, 0.6, 0.01, 0.6)])
def test_joint_degenerate_and_tied_thetas(thetas):
    """Probabilities 0 and 1 (cells impossible under x or x'), tp + tm = 1 (ratio 1) and equal
    families (tied ratios across families)."""
    tp, tm, tpa, tma = thetas
    for ra, rd, sa, sd in itertools.product(range(3), repeat=4):
        masses = _outcomes([(Fraction(tp), Fraction(tm), ra, rd),
                            (Fraction(tpa), Fraction(tma), sa, sd)])
        for p in (0.0, 0.3, 0.6, 0.97, 1.0):
            exact = exact_np_fill(masses, Fraction(p))
            got = sparse_smooth_worst_mass(p, tp, tm, ra, rd, theta_plus_adj=tpa,
                                           theta_minus_adj=tma, s_add=sa, s_del=sd)
            assert float(got) == pytest.approx(float(exact), abs=1e-9)
            if exact != Fraction(1, 2):
                assert bool(sparse_smooth_certified(
                    p, tp, tm, ra, rd, theta_plus_adj=tpa, theta_minus_adj=tma, s_add=sa,
                    s_del=sd)) == (exact > Fraction(1, 2))


def test_joint_matches_unmerged_cells_at_larger_radii():
    """An independent fill over every (i, j, k, l) cell in 40-digit arithmetic."""
    probs = [0.51, 0.7, 0.9, 0.99, 0.9999]
    for tp, tm, tpa, tma, ra, rd, sa, sd in [(0.01, 0.6, 0.001, 0.4, 3, 8, 2, 6),
                                             (0.2, 0.3, 0.05, 0.8, 6, 2, 5, 3),
                                             (0.6, 0.7, 0.3, 0.3, 4, 4, 4, 4),
                                             (0.01, 0.6, 0.01, 0.6, 3, 9, 4, 7)]:
        got = sparse_smooth_worst_mass(probs, tp, tm, ra, rd, theta_plus_adj=tpa,
                                       theta_minus_adj=tma, s_add=sa, s_del=sd)
        want = _mp_unmerged(probs, tp, tm, ra, rd, tpa, tma, sa, sd)
        np.testing.assert_allclose(got, want, atol=1e-10)


def test_more_changes_never_help():
    p = np.array([0.6, 0.8, 0.95, 0.999])
    radii = np.arange(6)
    kwargs = dict(theta_plus_adj=0.001, theta_minus_adj=0.4)
    base = sparse_smooth_worst_mass(p[:, None], 0.01, 0.6, 2, 3, s_add=radii[None], **kwargs)
    assert (np.diff(base, axis=1) <= 1e-12).all()
    base = sparse_smooth_worst_mass(p[:, None], 0.01, 0.6, 2, 3, s_del=radii[None], **kwargs)
    assert (np.diff(base, axis=1) <= 1e-12).all()
    # one attribute and one pair change cost more than either alone
    both = sparse_smooth_worst_mass(p, 0.01, 0.6, 1, 0, s_del=1, **kwargs)
    assert (both <= sparse_smooth_worst_mass(p, 0.01, 0.6, 1, 0) + 1e-12).all()
    assert (both <= sparse_smooth_worst_mass(p, 0.001, 0.4, 0, 1) + 1e-12).all()


def test_broadcasting_with_structure_arguments():
    p = np.linspace(0.6, 0.999, 12).reshape(3, 4)
    s_del = np.array([0, 1, 3, 7])
    tma = np.array([[0.3], [0.5], [0.7]])
    got = sparse_smooth_worst_mass(p, 0.01, 0.6, 1, 2, theta_plus_adj=0.01,
                                   theta_minus_adj=tma, s_add=1, s_del=s_del)
    assert got.shape == (3, 4)
    for i, j in itertools.product(range(3), range(4)):
        assert got[i, j] == sparse_smooth_worst_mass(p[i, j], 0.01, 0.6, 1, 2,
                                                     theta_plus_adj=0.01,
                                                     theta_minus_adj=tma[i, 0], s_add=1,
                                                     s_del=s_del[j])
    cert = sparse_smooth_certified(p, 0.01, 0.6, 1, 2, theta_plus_adj=0.01, theta_minus_adj=tma,
                                   s_add=1, s_del=s_del)
    assert cert.shape == (3, 4) and cert.dtype == bool


def test_thresholds_and_joint_region_match_pointwise_certificates():
    rng = np.random.default_rng(4)
    p = 1.0 - 10.0 ** rng.uniform(-7, np.log10(0.55), 200)
    shape = (3, 4, 2, 5)
    region = sparse_smooth_joint_region(p, 0.01, 0.6, 0.002, 0.5, *[s - 1 for s in shape])
    assert region.shape == (p.size, *shape)
    grid = np.indices(shape)
    pointwise = sparse_smooth_certified(
        p[:, None, None, None, None], 0.01, 0.6, grid[0][None], grid[1][None],
        theta_plus_adj=0.002, theta_minus_adj=0.5, s_add=grid[2][None], s_del=grid[3][None])
    closed = pointwise.copy()
    for axis in range(1, 5):
        closed = np.logical_and.accumulate(closed, axis=axis)
    np.testing.assert_array_equal(region, closed)
    assert region[:, 1:, 1:, 1:, 1:].any() and not region.all()
    np.testing.assert_array_equal(region[:, :, :, 0, 0], sparse_smooth_region(p, 0.01, 0.6, 2, 3))
    np.testing.assert_array_equal(region[:, 0, 0], sparse_smooth_region(p, 0.002, 0.5, 1, 4))
    thresholds = sparse_smooth_thresholds(0.01, 0.6, 2, 3, theta_plus_adj=0.002,
                                          theta_minus_adj=0.5, max_add_adj=1, max_del_adj=4)
    np.testing.assert_array_equal(region, p[:, None, None, None, None] > thresholds[None])
    assert thresholds[0, 0, 0, 0] == 0.5


@pytest.mark.parametrize("call, message", [
    (lambda: sparse_smooth_certified(0.9, 0.01, 0.6, 1, 1, s_del=2), "theta_plus_adj is None"),
    (lambda: sparse_smooth_certified(0.9, 0.01, 0.6, 1, 1, theta_plus_adj=0.1, s_add=1),
     "theta_minus_adj is None"),
    (lambda: sparse_smooth_certified(0.9, 0.01, 0.6, 1, 1, theta_plus_adj=1.5,
                                     theta_minus_adj=0.1, s_add=1),
     r"theta_plus_adj == .*must be in \[0, 1\]"),
    (lambda: sparse_smooth_certified(0.9, 0.01, 0.6, 1, 1, theta_plus_adj=0.1,
                                     theta_minus_adj=0.1, s_del=-1), "s_del must be >= 0"),
    (lambda: sparse_smooth_thresholds(0.01, 0.6, 1, 1, max_del_adj=2), "need theta_plus_adj"),
    (lambda: sparse_smooth_joint_region(np.ones((2, 2)), 0.01, 0.6, 0.1, 0.1, 1, 1, 1, 1),
     "one-dimensional"),
])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
