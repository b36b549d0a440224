"""The K-ary Hamming certificate and weight (docs/theory.md §9, §3) against independent
computations.

* brute force over all K^D noise outcomes with exact fractions (outcomes sorted by their own
  likelihood ratio, no region structure) and a linear program over all outcomes;
* the thresholds Lee et al. (2019) published for ImageNet, computed with exact big integers
  over all D = 150,528 coordinates (github.com/guanghelee/neurips19-certificates-of-robustness,
  ImageNet_exp/main/thresholds/imagenet/<alpha>.txt);
* mpmath at 50 digits for large radii (which exercises the dropped negligible regions);
* K = 2 against SparseSmooth with theta_plus = theta_minus.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from scipy.optimize import linprog

from graphcert.certificates import (
    KARY_UNBOUNDED_RADIUS,
    kary_hamming_certified,
    kary_hamming_radius,
    kary_hamming_region,
    kary_hamming_thresholds,
    kary_hamming_worst_mass,
    kary_weights,
    sparse_smooth_certified,
    sparse_smooth_worst_mass,
    sparsity_aware_weights,
    variance_constrained_radius,
)


# ----------------------------------------------------------------------------- brute force
def _outcome_masses(keep, k: int, r: int, n_same: int) -> list[tuple]:
    """(Pr_x(z), Pr_x'(z)) for every z in {0..K-1}^D, D = r + n_same; x = 0, x' = 1 on the
    first r coordinates (exact when keep is a Fraction)."""
    b = (1 - keep) / k
    x, x_new = [0] * (r + n_same), [1] * r + [0] * n_same

    def pr(clean, z):
        out = 1
        for c, v in zip(clean, z, strict=True):
            out *= keep + b if v == c else b
        return out

    return [(pr(x, z), pr(x_new, z)) for z in itertools.product(range(k), repeat=r + n_same)]


def _fill(masses, p):
    """Neyman-Pearson worst case over single outcomes: fill x-mass p by increasing ratio;
    outcomes impossible under x go last (ratio +inf)."""
    cells = sorted(masses, key=lambda m: (m[0] == 0, m[1] / m[0] if m[0] else 0))
    acc_x, acc_xp = 0 * p, 0 * p
    for px, pxp in cells:
        if px and acc_x + px >= p:
            return acc_xp + (p - acc_x) * pxp / px
        acc_x, acc_xp = acc_x + px, acc_xp + pxp
    return acc_xp


def test_worst_mass_matches_exact_enumeration_of_all_outcomes():
    rng = np.random.default_rng(0)
    decided = 0
    for k, r, n_same in [(2, 1, 1), (2, 3, 1), (3, 1, 1), (3, 2, 1), (3, 3, 0), (4, 2, 1),
                         (5, 2, 0), (4, 3, 0), (2, 4, 0), (3, 4, 0)]:
        for _ in range(12):
            keep = Fraction(int(rng.integers(0, 101)), 100)
            masses = _outcome_masses(keep, k, r, n_same)
            for p in (Fraction(int(rng.integers(1, 10**6)), 10**6), Fraction(1), Fraction(0)):
                exact = _fill(masses, p)
                got = kary_hamming_worst_mass(float(p), float(keep), k, r)
                assert float(got) == pytest.approx(float(exact), abs=1e-12)
                if abs(exact - Fraction(1, 2)) > Fraction(1, 10**9):
                    certified = bool(kary_hamming_certified(float(p), float(keep), k, r))
                    assert certified == (exact > Fraction(1, 2))
                    decided += 1
    assert decided > 300


def test_worst_mass_matches_linear_program():
    """min sum_z phi(z) Pr_x'(z) s.t. sum_z phi(z) Pr_x(z) = p, 0 <= phi <= 1, over all z."""
    rng = np.random.default_rng(1)
    for _ in range(12):
        keep, k, r = rng.uniform(0.05, 0.95), int(rng.integers(2, 5)), int(rng.integers(1, 4))
        p = rng.uniform(0.3, 0.999)
        px, pxp = np.array(_outcome_masses(keep, k, r, 1), dtype=float).T
        res = linprog(pxp, A_eq=px[None], b_eq=[p], bounds=(0, 1), method="highs")
        assert res.status == 0
        assert float(kary_hamming_worst_mass(p, keep, k, r)) == pytest.approx(res.fun, abs=1e-9)


# ----------------------------------------------------------------------------- Lee et al.
# rho_r^{-1}(0.5), r = 0, 1, ..., from Lee et al.'s repository (exact integer arithmetic over
# all D = 224 * 224 * 3 coordinates, 20 digits). Their alpha = Pr[z_d = x_d] with the other
# 255 values equally likely, i.e. keep = 1 - 256 (1 - alpha) / 255 here.
LEE_IMAGENET = {
    0.1: [0.5, 0.59647058823529411765, 0.68295363321799307959, 0.76055123631182576837,
          0.83023729891356664791, 0.89287305667932925640, 0.94922067338412486925,
          0.98739814896523242496],
    0.2: [0.5, 0.69686274509803921569, 0.85373533256439830835, 0.97898829668830238747,
          0.99493645881485561183, 0.99619020439204454170, 0.99744272681434420339,
          0.99864514829441225005, 0.99976849778447424675, 0.99993970389648837618],
    0.3: [0.5, 0.79725490196078431373, 0.99624083044982698962, 0.99737874187152754220,
          0.99857087933149658082, 0.99968292599595758167, 0.99997922147009668803],
    0.4: [0.5, 0.89764705882352941177, 0.99799446366782006921, 0.99911282882149399553,
          0.99998884763927634967, 0.99999357395773349007],
    0.5: [0.5, 0.99803921568627450981, 0.99901576316801230297, 0.99998848105178249693,
          0.99999708638368616099],
}


@pytest.mark.parametrize("alpha", sorted(LEE_IMAGENET))
def test_thresholds_match_lee_et_al_imagenet(alpha):
    published = np.array(LEE_IMAGENET[alpha])
    keep = 1 - 256 * (1 - alpha) / 255
    thr = kary_hamming_thresholds(keep, 256, published.size - 1)
    np.testing.assert_allclose(thr, published, rtol=0, atol=1e-13)
    # the radius of p_lower just above / at each threshold
    radius = kary_hamming_radius(published[1:] + 1e-11, keep, 256)
    np.testing.assert_array_equal(radius, np.arange(1, published.size))


# ----------------------------------------------------------------------------- mpmath, large r
def _mp_threshold(keep: float, k: int, r: int, dps: int = 50) -> float:
    """p*(r) from the 2r + 1 region masses as explicit multinomial sums in mpmath."""
    with mpmath.workdps(dps):
        a = mpmath.mpf(keep)
        b = (1 - a) / k
        same, new, other = a + b, b, (k - 2) * b
        px = []
        for t in range(-r, r + 1):
            total = mpmath.mpf(0)
            for u in range(max(0, -t), (r - t) // 2 + 1):  # v = u + t, w = r - u - v >= 0
                v, w = u + t, r - 2 * u - t
                total += (mpmath.factorial(r)
                          / (mpmath.factorial(u) * mpmath.factorial(v) * mpmath.factorial(w))
                          * same**u * new**v * other**w)
            px.append(total)
        pxp = px[::-1]
        acc_x = acc_xp = mpmath.mpf(0)
        for mx, mxp in zip(px, pxp, strict=True):
            if acc_xp + mxp > mpmath.mpf(1) / 2:
                return float(acc_x + (mpmath.mpf(1) / 2 - acc_xp) * mx / mxp)
            acc_x, acc_xp = acc_x + mx, acc_xp + mxp
        return 1.0


@pytest.mark.parametrize("keep,k,r", [(0.05, 3, 60), (0.02, 256, 80), (0.3, 5, 40), (0.01, 2, 150)])
def test_thresholds_agree_with_mpmath_at_large_radii(keep, k, r):
    assert kary_hamming_thresholds(keep, k, r)[r] == pytest.approx(_mp_threshold(keep, k, r),
                                                                   abs=1e-12)


# ----------------------------------------------------------------------------- K = 2
def test_binary_alphabet_equals_sparse_smooth():
    rng = np.random.default_rng(2)
    p = np.array([0.3, 0.5, 0.51, 0.6, 0.8, 0.9, 0.99, 0.9999, 1.0])
    for keep in [0.0, 0.1, 0.37, 0.5, 0.8, 0.95, 1.0]:
        theta = (1 - keep) / 2
        for r in range(0, 13, 3):
            r_add = int(rng.integers(0, r + 1))
            want = sparse_smooth_worst_mass(p, theta, theta, r_add, r - r_add)
            # p = 1 (exact value 1 when keep < 1) is ill-conditioned for the fill at huge ratios
            np.testing.assert_allclose(kary_hamming_worst_mass(p, keep, 2, r)[:-1], want[:-1],
                                       atol=1e-12)
            np.testing.assert_array_equal(kary_hamming_certified(p, keep, 2, r),
                                          sparse_smooth_certified(p, theta, theta, r_add, r - r_add)
                                          | ((keep < 1) & (p == 1.0)) | ((keep == 0) & (p > 0.5)))


# ----------------------------------------------------------------------------- monotonicity
@pytest.mark.parametrize("keep,k", [(0.2, 2), (0.5, 3), (0.1, 256), (0.8, 7), (0.03, 4)])
def test_monotone_in_p_and_radius(keep, k):
    p = np.linspace(0.0, 1.0, 41)
    radii = np.arange(0, 25)
    worst = kary_hamming_worst_mass(p[:, None], keep, k, radii[None])
    assert (np.diff(worst, axis=0) >= -1e-12).all()  # more p never hurts
    assert (np.diff(worst, axis=1) <= 1e-12).all()  # a larger radius never helps
    np.testing.assert_allclose(worst[:, 0], p, atol=1e-15)
    cert = kary_hamming_certified(p[:, None], keep, k, radii[None])
    assert (cert[:-1] <= cert[1:]).all() and (cert[:, 1:] <= cert[:, :-1]).all()
    thr = kary_hamming_thresholds(keep, k, 24)
    assert (np.diff(thr) >= 0).all() and thr[0] == 0.5


@pytest.mark.parametrize("keep,k", [(0.2, 2), (0.5, 3), (0.1, 256), (0.03, 4), (1.0, 3)])
def test_radius_region_and_certified_agree(keep, k):
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(0.0, 1.0, 200), [0.5, 0.5 + 1e-12, 0.0]])
    radius = kary_hamming_radius(p, keep, k)
    assert radius.dtype == np.int64 and radius.shape == p.shape
    np.testing.assert_array_equal(radius == -1, p <= 0.5)
    top = int(radius.max()) + 2
    region = kary_hamming_region(p, keep, k, top)
    assert region.shape == (p.size, top + 1)
    grid = kary_hamming_certified(p[:, None], keep, k, np.arange(top + 1)[None])
    np.testing.assert_array_equal(region, grid)
    np.testing.assert_array_equal(region.sum(axis=1) - 1, radius)
    assert region[:, 0].sum() == (p > 0.5).sum()


def test_largest_radius_is_found_past_a_big_gap_in_p():
    """Nodes of one setting with very different p share one scan."""
    p = np.array([0.55, 0.999999, 0.7])
    radius = kary_hamming_radius(p, 0.05, 10)
    for node in range(3):
        assert kary_hamming_certified(p[node], 0.05, 10, radius[node])
        assert not kary_hamming_certified(p[node], 0.05, 10, radius[node] + 1)
    assert radius[1] > 100 > radius[0]


# ----------------------------------------------------------------------------- edge cases
def test_keep_one_is_no_noise():
    assert kary_hamming_radius(0.9, 1.0, 5) == 0 and kary_hamming_radius(0.5, 1.0, 5) == -1
    assert kary_hamming_radius(1.0, 1.0, 5) == 0
    assert kary_hamming_certified(1.0, 1.0, 5, 0) and not kary_hamming_certified(1.0, 1.0, 5, 1)
    assert kary_hamming_worst_mass(1.0, 1.0, 5, 3) == 0.0
    np.testing.assert_array_equal(kary_hamming_thresholds(1.0, 5, 3), [0.5, 1, 1, 1])


def test_keep_zero_ignores_the_input():
    assert kary_hamming_certified(0.51, 0.0, 4, 10**9)
    assert not kary_hamming_certified(0.5, 0.0, 4, 3)
    assert float(kary_hamming_worst_mass(0.7, 0.0, 4, 9)) == pytest.approx(0.7, abs=1e-12)
    np.testing.assert_array_equal(kary_hamming_radius([0.51, 0.4], 0.0, 4, max_radius=77), [77, -1])
    np.testing.assert_array_equal(kary_hamming_thresholds(0.0, 4, 3), [0.5] * 4)
    np.testing.assert_array_equal(kary_hamming_radius([0.51, 0.4, 0.5, 1.0], 0.0, 4),
                                  [KARY_UNBOUNDED_RADIUS, -1, -1, KARY_UNBOUNDED_RADIUS])


def test_p_lower_one_with_full_support_certifies_every_radius():
    assert kary_hamming_certified(1.0, 0.9, 3, 10**6)
    assert float(kary_hamming_worst_mass(1.0, 0.9, 3, 50)) == pytest.approx(1.0, abs=1e-12)
    assert kary_hamming_radius(1.0, 0.9, 3, max_radius=12) == 12
    assert kary_hamming_region(np.array([1.0, 0.9]), 0.9, 3, 4)[0].all()
    assert kary_hamming_radius(1.0, 0.9, 3) == KARY_UNBOUNDED_RADIUS
    assert kary_hamming_radius(1.0, 1.0, 3) == 0  # no noise: x' has disjoint support


def test_vectorized_radius_with_unbounded_nodes():
    """A node with p_lower = 1 (or keep = 0) gets the sentinel; every other node gets exactly
    its own radius, and ``radius >= r`` is the certificate at every r, the sentinel's too."""
    p = np.array([0.4, 0.6, 1.0, 0.9, 0.99, 1.0, 0.999])
    keep = np.array([0.5, 0.5, 0.5, 0.2, 0.2, 0.0, 1.0])
    radius = kary_hamming_radius(p, keep, 3)
    assert radius.dtype == np.int64
    alone = [int(kary_hamming_radius(pi, ki, 3)) for pi, ki in zip(p, keep, strict=True)]
    np.testing.assert_array_equal(radius, alone)
    np.testing.assert_array_equal(radius == KARY_UNBOUNDED_RADIUS,
                                  [False, False, True, False, False, True, False])
    finite = radius[radius != KARY_UNBOUNDED_RADIUS]
    assert finite.tolist() == [-1, 0, 7, 24, 0]
    for i in np.flatnonzero((radius >= 0) & (radius != KARY_UNBOUNDED_RADIUS)):
        at, beyond = kary_hamming_worst_mass(p[i], keep[i], 3, [radius[i], radius[i] + 1])
        assert at > 0.5 >= beyond
    for r in [0, 1, 5, 30, 10**6]:
        np.testing.assert_array_equal(radius >= r, kary_hamming_certified(p, keep, 3, r))
    # D coordinates bound every change: capped at D, still the largest certified radius
    np.testing.assert_array_equal(kary_hamming_radius(p, keep, 3, max_radius=8),
                                  np.minimum(radius, 8))


def test_max_radius_caps_the_answer():
    free = kary_hamming_radius([0.6, 0.99, 0.9999], 0.3, 3)
    np.testing.assert_array_equal(kary_hamming_radius([0.6, 0.99, 0.9999], 0.3, 3, max_radius=2),
                                  np.minimum(free, 2))


def _radius_one_threshold(keep: Fraction, k: int) -> Fraction:
    """p*(1) by hand: regions t = -1, 0, +1 with x-masses (a + b, (K - 2) b, b)."""
    b = (1 - keep) / k
    cells = [(keep + b, b), ((k - 2) * b, (k - 2) * b), (b, keep + b)]
    acc_x, acc_xp = Fraction(0), Fraction(0)
    for px, pxp in cells:
        if acc_xp + pxp > Fraction(1, 2):
            return acc_x + (Fraction(1, 2) - acc_xp) * px / pxp
        acc_x, acc_xp = acc_x + px, acc_xp + pxp
    raise AssertionError


@pytest.mark.parametrize("k", [2, 3, 10, 256, 10**6, 10**12, 2**52])
def test_radius_one_closed_form_including_huge_alphabets(k):
    for keep in [Fraction(1, 1000), Fraction(1, 10), Fraction(1, 2), Fraction(9, 10)]:
        thr = kary_hamming_thresholds(float(keep), k, 5)
        assert np.isfinite(thr).all()
        assert thr[1] == pytest.approx(float(_radius_one_threshold(keep, k)), abs=1e-14)


def test_large_radii_stop_at_the_first_failure():
    assert not kary_hamming_certified(0.9, 0.5, 3, 10**12)
    region = kary_hamming_region(np.array([0.9]), 0.5, 3, 10**5)
    assert region.sum() == kary_hamming_radius(0.9, 0.5, 3) + 1


def test_broadcasting():
    p = np.linspace(0.55, 0.99, 12).reshape(3, 4)
    keep = np.array([[0.2], [0.5], [0.7]])
    radii = np.array([0, 1, 2, 3])
    got = kary_hamming_certified(p, keep, np.array([2, 3, 4, 256]), radii)
    assert got.shape == (3, 4) and got.dtype == bool
    rad = kary_hamming_radius(p, keep, 3)
    for i, j in itertools.product(range(3), range(4)):
        assert got[i, j] == kary_hamming_certified(p[i, j], keep[i, 0], [2, 3, 4, 256][j], radii[j])
        assert rad[i, j] == kary_hamming_radius(p[i, j], keep[i, 0], 3)
    assert kary_hamming_radius(np.empty(0), 0.5, 3).shape == (0,)


def test_validation():
    for args in [(1.1, 0.5, 3, 1), (np.nan, 0.5, 3, 1), (0.9, -0.1, 3, 1), (0.9, np.nan, 3, 1),
                 (0.9, 0.5, 1, 1), (0.9, 0.5, 2.5, 1), (0.9, 0.5, 3, -1), (0.9, 0.5, 3, 1.5),
                 (np.ones(3) * 0.9, 0.5, 3, np.ones(2, dtype=int))]:
        with pytest.raises(ValueError):
            kary_hamming_certified(*args)
        with pytest.raises(ValueError):
            kary_hamming_worst_mass(*args)
    with pytest.raises(ValueError, match="n_values must be >= 2, got 1"):
        kary_hamming_radius(0.9, 0.5, 1)
    with pytest.raises(ValueError, match="max_radius"):
        kary_hamming_radius(0.9, 0.5, 3, max_radius=-1)
    with pytest.raises(ValueError, match="one-dimensional"):
        kary_hamming_region(np.full((2, 2), 0.9), 0.5, 3, 3)
    with pytest.raises(ValueError, match="scalars"):
        kary_hamming_region(np.full(2, 0.9), np.array([0.5, 0.6]), 3, 3)
    with pytest.raises(ValueError, match="keep"):
        kary_hamming_thresholds(1.5, 3, 3)


# ----------------------------------------------------------------------------- §3 weight
def _coordinate_chi_square(keep, k: int):
    """sum_z pi_x'(z)^2 / pi_x(z) for one coordinate, x_d = 0 -> x'_d = 1, by enumerating z."""
    b = (1 - keep) / k

    def pi(clean, z):
        return keep + b if z == clean else b

    return sum(pi(1, z) ** 2 / pi(0, z) for z in range(k))


def test_weight_matches_enumeration():
    rng = np.random.default_rng(4)
    for _ in range(60):
        keep, k = Fraction(int(rng.integers(0, 100)), 100), int(rng.integers(2, 9))
        want = math.log(_coordinate_chi_square(keep, k))
        assert float(kary_weights(float(keep), k)) == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_weight_special_cases():
    np.testing.assert_allclose(kary_weights(np.linspace(0, 0.99, 23), 2),
                               sparsity_aware_weights(*2 * [(1 - np.linspace(0, 0.99, 23)) / 2])[0],
                               rtol=1e-12, atol=1e-15)
    assert kary_weights(0.0, 7) == 0.0 and kary_weights(1.0, 7) == np.inf
    w = kary_weights(0.3, np.array([2, 3, 10, 256, 10**9]))
    assert (np.diff(w) > 0).all()  # larger alphabets weigh more
    assert (np.diff(kary_weights(np.linspace(0, 1, 50), 5)) > 0).all()
    with pytest.raises(ValueError, match="n_values"):
        kary_weights(0.3, 1)


def test_weight_gives_the_chi_square_condition():
    """Certified iff r * w < eta  <=>  mu - sqrt(zeta (rho^r - 1)) > 1/2 (docs/theory.md §3)."""
    mu, zeta, keep, k = 0.9, 0.02, 0.6, 5
    eta = float(variance_constrained_radius(mu, zeta))
    rho = float(_coordinate_chi_square(Fraction(3, 5), k))
    for r in range(8):
        chi_square_condition = mu - math.sqrt(zeta * (rho**r - 1)) > 0.5
        assert (r * float(kary_weights(keep, k)) < eta) == chi_square_condition
