"""Tests of graphcert.certificates against independent computations (docs/theory.md §3, §4).

SparseSmooth is checked four ways: brute-force enumeration of z with exact fractions, a linear
program over all z, an mpmath high-precision cell enumeration (radii up to 100), and a
re-implementation of the published reference code (Bojchevski et al. 2020,
github.com/abojchevski/sparse_smoothing, sparse_smoothing/cert.py).
"""
from __future__ import annotations

import itertools
import math
import warnings
from fractions import Fraction
from statistics import NormalDist

import mpmath
import numpy as np
import pytest
from scipy.optimize import linprog

from graphcert.certificates import (
    BaseCertificate,
    gaussian_l2_radius,
    gaussian_radius,
    localized_weight_matrices,
    sparse_smooth_certified,
    sparse_smooth_region,
    sparse_smooth_worst_mass,
    sparsity_aware_weights,
    uniform_l1_radius,
    variance_constrained_radius,
)
from tests.helpers import exact_np_fill


# ----------------------------------------------------------------------------- §3 weights
def _bit_chi_square(theta_plus: float, theta_minus: float, x: int, x_new: int) -> float:
    """ln sum_z pi_x'(z)^2 / pi_x(z) for one bit flipped x -> x_new, enumerating z in {0, 1}."""
    def pr(bit: int, z: int) -> float:
        p_one = theta_plus if bit == 0 else 1 - theta_minus
        return p_one if z == 1 else 1 - p_one

    return math.log(sum(pr(x_new, z) ** 2 / pr(x, z) for z in (0, 1)))


def test_weights_match_per_bit_enumeration():
    rng = np.random.default_rng(0)
    tp, tm = rng.uniform(0.01, 0.99, 50), rng.uniform(0.01, 0.99, 50)
    gamma_plus, gamma_minus = sparsity_aware_weights(tp, tm)
    for k in range(50):
        assert gamma_plus[k] == pytest.approx(_bit_chi_square(tp[k], tm[k], 0, 1), rel=1e-12,
                                              abs=1e-14)
        assert gamma_minus[k] == pytest.approx(_bit_chi_square(tp[k], tm[k], 1, 0), rel=1e-12,
                                               abs=1e-14)


def test_weights_bernoulli_special_case():
    theta = np.linspace(0.01, 0.99, 25)
    expected = np.log((1 - theta) ** 2 / theta + theta**2 / (1 - theta))
    gamma_plus, gamma_minus = sparsity_aware_weights(theta, theta)
    np.testing.assert_allclose(gamma_plus, np.maximum(expected, 0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gamma_minus, np.maximum(expected, 0), rtol=1e-12, atol=1e-15)
    assert sparsity_aware_weights(0.5, 0.5) == (0.0, 0.0)  # pure noise: nothing to learn


def test_weights_limits_without_nan_or_warnings():
    tp = np.array([0.0, 0.3, 0.0, 1.0, 0.0, 1.0, 1.0, 0.4, 1e-300])
    tm = np.array([0.3, 0.0, 0.0, 0.3, 1.0, 0.0, 1.0, 0.6, 0.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gp, gm = sparsity_aware_weights(tp, tm)
    assert not np.isnan(gp).any() and not np.isnan(gm).any()
    assert (gp >= 0).all() and (gm >= 0).all()
    assert gp[0] == np.inf and gm[0] == pytest.approx(math.log(1 / 0.3))  # no additions certifiable
    assert gm[1] == np.inf and gp[1] == pytest.approx(math.log(1 / 0.3))  # no deletions certifiable
    assert gp[2] == np.inf and gm[2] == np.inf  # no noise at all
    assert gp[3] == np.inf and np.isfinite(gm[3])  # theta_plus = 1: z_b = 1 always under x = 0
    # theta_plus + theta_minus = 1: the noisy bit ignores x, so weights vanish (also at the corners)
    assert gp[4] == gm[4] == gp[5] == gm[5] == 0.0 and gp[7] == pytest.approx(0, abs=1e-15)
    assert gp[6] == np.inf and gm[6] == np.inf
    assert gp[8] > 600 and np.isfinite(gp[8])  # tiny theta: huge but finite (continuity at 0)


def test_weights_broadcast_and_validate():
    gp, gm = sparsity_aware_weights(np.full((3, 1), 0.01), np.array([0.2, 0.5, 0.8]))
    assert gp.shape == gm.shape == (3, 3)
    for bad in (-0.1, 1.1, np.nan):
        with pytest.raises(ValueError):
            sparsity_aware_weights(bad, 0.5)
        with pytest.raises(ValueError):
            sparsity_aware_weights(0.5, bad)


def test_localized_weight_matrices():
    rng = np.random.default_rng(1)
    theta_minus = rng.uniform(0.1, 0.9, (4, 4))
    w_plus, w_minus = localized_weight_matrices(0.01, theta_minus)
    assert w_plus.shape == w_minus.shape == (4, 4)
    for i, j in itertools.product(range(4), range(4)):
        assert w_plus[i, j] == pytest.approx(_bit_chi_square(0.01, theta_minus[i, j], 0, 1),
                                             rel=1e-12)
        assert w_minus[i, j] == pytest.approx(_bit_chi_square(0.01, theta_minus[i, j], 1, 0),
                                              rel=1e-12)
    labels = np.array([0, 3, 3, 1, 2])
    assert w_plus[:, labels].shape == (4, 5)  # per-node units: unit_group = labels
    with pytest.raises(ValueError):
        localized_weight_matrices(0.01, np.full((2, 3), 0.5))


# ----------------------------------------------------------------------------- §3 radius
def test_variance_constrained_radius_spec_example():
    assert variance_constrained_radius(0.9, 0.01) == pytest.approx(math.log(17))
    assert variance_constrained_radius(0.9, 0.01) < math.log(1601) - 4  # not the squared form


def test_variance_constrained_radius_matches_chi_square_condition():
    """eta is the largest ln(rho) with mu - sqrt(zeta (rho - 1)) >= 1/2 (docs/theory.md §3)."""
    rng = np.random.default_rng(2)
    mu, zeta = rng.uniform(0.5001, 1, 200), rng.uniform(1e-4, 0.25, 200)
    rho = np.exp(variance_constrained_radius(mu, zeta))
    np.testing.assert_allclose(mu - np.sqrt(zeta * (rho - 1)), 0.5, atol=1e-9)


def test_variance_constrained_radius_edges_and_validation():
    eta = variance_constrained_radius([0.5, 0.3, -0.2, 0.8, 0.8, 1.0],
                                      [0.01, 0.01, 0.01, 0.0, np.inf, 0.0])
    assert eta[:3].tolist() == [-np.inf] * 3
    assert eta[3] == np.inf and eta[4] == 0.0 and eta[5] == np.inf
    assert variance_constrained_radius(np.full((2, 3), 0.7), 0.1).shape == (2, 3)
    for mu, zeta in ((np.nan, 0.1), (0.7, np.nan), (1.1, 0.1), (0.7, -0.1)):
        with pytest.raises(ValueError):
            variance_constrained_radius(mu, zeta)
    with pytest.raises(ValueError):
        variance_constrained_radius(np.ones(3) * 0.7, np.ones(2) * 0.1)


# ------------------------------------------------- §4 SparseSmooth: brute force
def _z_masses(tp, tm, r_add: int, r_del: int, n_same: int, one=1):
    """Exact (Pr_x(z), Pr_x'(z)) for all z over the changed bits plus n_same unchanged bits.

    Added bits: x = 0, x' = 1. Deleted bits: x = 1, x' = 0. Unchanged bits alternate 0/1.
    """
    x = [0] * r_add + [1] * r_del + [k % 2 for k in range(n_same)]
    x_new = [1] * r_add + [0] * r_del + [k % 2 for k in range(n_same)]

    def pr(bit, z):
        p_one = tp if bit == 0 else one - tm
        return p_one if z == 1 else one - p_one

    out = []
    for z in itertools.product((0, 1), repeat=len(x)):
        px, pxp = one, one
        for b, zb in enumerate(z):
            px *= pr(x[b], zb)
            pxp *= pr(x_new[b], zb)
        out.append((px, pxp))
    return out


def test_worst_mass_matches_exact_fraction_enumeration():
    rng = np.random.default_rng(3)
    for _ in range(120):
        tp, tm = Fraction(int(rng.integers(1, 100)), 100), Fraction(int(rng.integers(1, 100)), 100)
        r_add, r_del = int(rng.integers(0, 4)), int(rng.integers(0, 4))
        n_same = int(rng.integers(0, 3))
        p = Fraction(int(rng.integers(1, 10**6)), 10**6)
        exact = exact_np_fill(_z_masses(tp, tm, r_add, r_del, n_same, Fraction(1)), p)
        got = sparse_smooth_worst_mass(float(p), float(tp), float(tm), r_add, r_del)
        assert float(got) == pytest.approx(float(exact), abs=1e-9)
        if abs(exact - Fraction(1, 2)) > Fraction(1, 10**9):
            certified = sparse_smooth_certified(float(p), float(tp), float(tm), r_add, r_del)
            assert bool(certified) == (exact > Fraction(1, 2))


@pytest.mark.parametrize("tp,tm", [(0.0, 0.3), (0.3, 0.0), (0.0, 0.0), (1.0, 0.2), (0.2, 1.0),
                                   (0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (0.5, 0.5), (0.7, 0.3)])
def test_worst_mass_degenerate_thetas(tp, tm):
    for r_add, r_del, p in itertools.product(range(3), range(3), (0.0, 0.3, 0.6, 0.97, 1.0)):
        exact = exact_np_fill(_z_masses(Fraction(tp), Fraction(tm), r_add, r_del, 1, Fraction(1)),
                              Fraction(p))
        worst = float(sparse_smooth_worst_mass(p, tp, tm, r_add, r_del))
        assert worst == pytest.approx(float(exact), abs=1e-12)
        if exact != Fraction(1, 2):
            certified = bool(sparse_smooth_certified(p, tp, tm, r_add, r_del))
            assert certified == (exact > Fraction(1, 2))


def test_p_one_is_not_certified_when_only_impossible_cells_reach_half():
    """theta_plus = 0: the x'-mass beyond 1/2 lies in z's impossible under x; the cell masses
    sum to 1 - 1e-16 in floating point, which must not let p_lower = 1 through."""
    assert float(sparse_smooth_worst_mass(1.0, 0.0, 0.05, 1, 2)) == pytest.approx(0.05)
    assert not sparse_smooth_certified(1.0, 0.0, 0.05, 1, 2)
    assert not sparse_smooth_region(np.array([1.0]), 0.0, 0.05, 1, 2)[0, 1, 2]


def test_worst_mass_matches_linear_program():
    """min sum_z phi(z) Pr_x'(z) s.t. sum_z phi(z) Pr_x(z) = p, 0 <= phi <= 1 (no
    Neyman-Pearson)."""
    rng = np.random.default_rng(4)
    for _ in range(15):
        tp, tm = rng.uniform(0.01, 0.99, 2)
        r_add, r_del, n_same = (int(v) for v in rng.integers(0, 4, 3))
        p = rng.uniform(0.3, 0.999)
        px, pxp = np.array(_z_masses(tp, tm, r_add, r_del, n_same)).T
        res = linprog(pxp, A_eq=px[None], b_eq=[p], bounds=(0, 1), method="highs")
        assert res.status == 0
        worst = float(sparse_smooth_worst_mass(p, tp, tm, r_add, r_del))
        assert worst == pytest.approx(res.fun, abs=1e-8)


def test_broadcasting_and_grouping():
    p = np.linspace(0.55, 0.99, 12).reshape(3, 4)
    r_add = np.array([0, 1, 2, 3])
    got = sparse_smooth_worst_mass(p, 0.1, 0.6, r_add, 2)
    assert got.shape == (3, 4)
    for i, j in itertools.product(range(3), range(4)):
        assert got[i, j] == sparse_smooth_worst_mass(p[i, j], 0.1, 0.6, r_add[j], 2)
    cert = sparse_smooth_certified(p, np.array([[0.1], [0.2], [0.3]]), 0.6, r_add, 2)
    assert cert.shape == (3, 4) and cert.dtype == bool


# ---------------------------------------------- §4 SparseSmooth: high precision
def _mp_worst_masses(probs, tp: float, tm: float, r_add: int, r_del: int,
                     dps: int = 40) -> list[float]:
    """All (i, j) cells of docs/theory.md §4 in mpmath, sorted by the exact ratio, filled with each
    p."""
    with mpmath.workdps(dps):
        tp, tm = mpmath.mpf(tp), mpmath.mpf(tm)

        def binom(n, k, q):
            return mpmath.binomial(n, k) * q**k * (1 - q) ** (n - k)

        add_x = [binom(r_add, i, tp) for i in range(r_add + 1)]
        add_xp = [binom(r_add, i, 1 - tm) for i in range(r_add + 1)]
        del_x = [binom(r_del, j, 1 - tm) for j in range(r_del + 1)]
        del_xp = [binom(r_del, j, tp) for j in range(r_del + 1)]
        cells = [(add_x[i] * del_x[j], add_xp[i] * del_xp[j]) for i in range(r_add + 1)
                 for j in range(r_del + 1)]
        cells.sort(key=lambda m: m[1] / m[0])
        return [float(exact_np_fill(cells, mpmath.mpf(p))) for p in probs]


RADII = [0, 1, 3, 10, 40, 100]
THETAS = [(0.01, 0.6), (0.3, 0.3), (0.9, 0.2), (1e-3, 1e-3)]
PROBS = np.array([1e-4, 0.01, 0.3, 0.5, 0.51, 0.7, 0.9, 0.99, 0.9999])


@pytest.mark.parametrize("tp,tm", THETAS)
def test_large_radii_are_finite_and_monotone(tp, tm):
    ra, rd = np.meshgrid(RADII, RADII, indexing="ij")
    worst = sparse_smooth_worst_mass(PROBS[:, None, None], tp, tm, ra[None], rd[None])
    assert np.isfinite(worst).all() and (worst >= 0).all() and (worst <= 1 + 1e-12).all()
    assert (np.diff(worst, axis=0) >= -1e-12).all()  # more p never hurts
    assert (np.diff(worst, axis=1) <= 1e-12).all()  # more budget never helps
    assert (np.diff(worst, axis=2) <= 1e-12).all()
    np.testing.assert_allclose(worst[:, 0, 0], PROBS, atol=1e-15)


@pytest.mark.parametrize("tp,tm", THETAS)
def test_large_radii_agree_with_mpmath(tp, tm):
    for r_add, r_del in [(100, 0), (0, 100), (40, 10), (100, 100), (3, 40)]:
        got = sparse_smooth_worst_mass(PROBS, tp, tm, r_add, r_del)
        want = _mp_worst_masses(PROBS, tp, tm, r_add, r_del)
        np.testing.assert_allclose(got, want, atol=1e-9, rtol=1e-9)


# ---------------------------------------------- §4 SparseSmooth: reference code
def _ref_regions_binary(ra: int, rd: int, pf_plus: float, pf_minus: float, precision: int = 1000):
    """Re-implementation of ``regions_binary`` from abojchevski/sparse_smoothing (cert.py).

    Same arithmetic as the reference: gmpy2 mpfr at 1000 bits is replaced by mpmath at 1000
    bits; q-cell masses come from the Newton-identity recursion over power sums T, the ratio
    column is px / px_tilde, rows are in decreasing ratio order (reversed when
    pf_plus + pf_minus > 1), and the pf_plus == 0 / pf_minus == 0 special cases are kept.
    """
    mpf = mpmath.mpf
    with mpmath.workprec(precision):
        pf_plus, pf_minus = mpf(pf_plus), mpf(pf_minus)
        if pf_plus == 0 or pf_minus == 0:
            base = pf_minus if pf_plus == 0 else pf_plus
            px, px_tilde = (base**rd, base**ra) if pf_plus == 0 else (base**ra, base**rd)
            return [(1 - px, mpf(0), mpmath.inf), (px, px_tilde, px / px_tilde),
                    (mpf(0), 1 - px_tilde, mpf(0))]
        max_q = ra + rd
        T = [ra * (pf_plus / (1 - pf_plus)) ** i + rd * (pf_minus / (1 - pf_minus)) ** i
             for i in range(max_q + 1)]
        ratio, px = [mpf(0)] * (max_q + 1), [mpf(0)] * (max_q + 1)
        px[0] = mpf(1)
        for q in range(max_q + 1):
            ratio[q] = ((pf_plus / (1 - pf_minus)) ** (q - rd)
                        * (pf_minus / (1 - pf_plus)) ** (q - ra))
            if q == 0:
                continue
            for i in range(1, q + 1):
                px[q] = px[q] + (-1) ** (i + 1) * T[i] * px[q - i]
            px[q] = px[q] / q
        scale = (1 - pf_plus) ** ra * (1 - pf_minus) ** rd
        regions = [(v * scale, v * scale / r, r) for v, r in zip(px, ratio, strict=True)]
        return regions[::-1] if pf_plus + pf_minus > 1 else regions


def _ref_compute_rho(regions, p_emp: float) -> float:
    """Re-implementation of ``compute_rho`` (reference cert.py); like the reference it runs
    outside the 1000-bit context, i.e. at double (53-bit) precision."""
    with mpmath.workprec(53):
        acc_p_clean, acc_p_adver = mpmath.mpf(0), mpmath.mpf(0)
        for p_clean, p_adver, _ in regions:
            if acc_p_clean + p_clean >= p_emp:
                break
            if p_clean > 0:
                acc_p_clean += p_clean
                acc_p_adver += p_adver
        rho = acc_p_adver
        if p_emp - acc_p_clean > 0 and len(regions) > 0:  # the reference's i < len(regions)
            rho += (p_emp - acc_p_clean) * (p_adver / p_clean)
        return float(rho)


def test_agrees_with_reference_implementation():
    """Certified / not on a grid, as the reference decides it (rho > 0.5)."""
    probs = [0.51, 0.6, 0.75, 0.9, 0.99, 0.999]
    disagreements, certified = 0, 0
    for tp, tm, ra, rd in itertools.product([0.0, 0.01, 0.1, 0.3, 0.6], [0.05, 0.4, 0.6, 0.9],
                                            [0, 1, 2, 5, 12], [0, 1, 2, 5, 12]):
        if ra + rd == 0:
            continue  # the reference's grid hard-codes rho = 1 at (0, 0), whatever p is
        regions = _ref_regions_binary(ra, rd, tp, tm)
        mine = sparse_smooth_worst_mass(probs, tp, tm, ra, rd)
        for p, m in zip(probs, mine, strict=True):
            rho = _ref_compute_rho(regions, p)
            assert m == pytest.approx(rho, abs=1e-9)
            if abs(rho - 0.5) > 1e-9:
                disagreements += bool(sparse_smooth_certified(p, tp, tm, ra, rd)) != (rho > 0.5)
                certified += rho > 0.5
    assert disagreements == 0
    assert certified > 200  # the grid exercises both outcomes


def test_region_agrees_with_reference_grid():
    """``binary_certificate_grid`` semantics (rho(a, d) > 0.5 per pair) for p > 1/2; the
    worst mass is monotone in the budgets, so the "at most" region must coincide."""
    p = np.array([0.3, 0.5, 0.52, 0.7, 0.9, 0.97, 0.995])
    for tp, tm in [(0.01, 0.6), (0.2, 0.2), (0.6, 0.7)]:
        region = sparse_smooth_region(p, tp, tm, 6, 6)
        assert region.shape == (p.size, 7, 7)
        np.testing.assert_array_equal(region[:, 0, 0], p > 0.5)
        for a, d in itertools.product(range(7), range(7)):
            if a + d == 0:
                continue
            regions = _ref_regions_binary(a, d, tp, tm)
            ref = np.array([_ref_compute_rho(regions, v) > 0.5 for v in p]) & (p > 0.5)
            np.testing.assert_array_equal(region[:, a, d], ref)


def test_region_is_downward_closed_and_matches_pairwise_certificate():
    rng = np.random.default_rng(5)
    p = rng.uniform(0.4, 1, 300)
    region = sparse_smooth_region(p, 0.01, 0.6, 30, 12)
    a, d = np.meshgrid(np.arange(31), np.arange(13), indexing="ij")
    pairwise = sparse_smooth_certified(p[:, None, None], 0.01, 0.6, a[None], d[None])
    closed = np.array([[pairwise[:, : i + 1, : j + 1].all(axis=(1, 2)) for j in range(13)]
                       for i in range(31)])
    np.testing.assert_array_equal(region, np.moveaxis(closed, 2, 0))
    assert region[:, 5:, :].any() and not region.all()


def test_sparse_smooth_validation():
    for args in [(1.1, 0.1, 0.1, 1, 1), (np.nan, 0.1, 0.1, 1, 1), (0.9, -0.1, 0.1, 1, 1),
                 (0.9, 0.1, np.nan, 1, 1), (0.9, 0.1, 0.1, -1, 1), (0.9, 0.1, 0.1, 1, 1.5)]:
        with pytest.raises(ValueError):
            sparse_smooth_worst_mass(*args)
        with pytest.raises(ValueError):
            sparse_smooth_certified(*args)
    with pytest.raises(ValueError):
        sparse_smooth_worst_mass(np.ones(3) * 0.9, 0.1, 0.1, np.ones(2, dtype=int), 1)
    with pytest.raises(ValueError):
        sparse_smooth_region(np.full((2, 2), 0.9), 0.1, 0.1, 3, 3)
    with pytest.raises(ValueError):
        sparse_smooth_region(np.full(2, 0.9), 0.1, 0.1, -1, 3)


# ----------------------------------------------------------------------------- §4 continuous
def test_gaussian_radii_against_stdlib_normal():
    p = np.array([0.0, 0.3, 0.5, 0.5001, 0.7, 0.99, 0.999999])
    expected = [NormalDist().inv_cdf(v) if v > 0.5 else -np.inf for v in p]
    expected = np.array(expected)
    np.testing.assert_allclose(gaussian_radius(p, 0.25),
                               np.where(p > 0.5, 0.25 * expected, -np.inf), rtol=1e-9)
    np.testing.assert_allclose(gaussian_l2_radius(p), np.where(p > 0.5, expected**2, -np.inf),
                               rtol=1e-9)
    assert gaussian_l2_radius(1.0) == np.inf


def test_gaussian_l2_certificate_is_tight_for_half_spaces():
    """Worst case under N(x, diag sigma^2) is a half-space:
    Pr_x'[A] = Phi(Phi^-1(p) - ||delta / sigma||)."""
    rng = np.random.default_rng(6)
    p = rng.uniform(0.51, 0.999, 500)
    sigma = rng.uniform(0.1, 2, (500, 3))
    delta = rng.normal(size=(500, 3)) * sigma * rng.uniform(0, 2, (500, 1))
    dist = np.sqrt(((delta / sigma) ** 2).sum(axis=1))
    worst = np.array([NormalDist().cdf(NormalDist().inv_cdf(v) - s)
                      for v, s in zip(p, dist, strict=True)])
    certified = dist**2 < gaussian_l2_radius(p)
    assert certified.any() and not certified.all()
    np.testing.assert_array_equal(certified, worst > 0.5)


def test_uniform_l1_certificate_against_exact_overlap():
    """Non-overlap mass of two boxes 1 - prod(1 - |delta_d| / (2 lambda_d)) never exceeds
    p - 1/2."""
    rng = np.random.default_rng(7)
    p = rng.uniform(0.51, 1, 2000)
    lam = rng.uniform(0.1, 2, (2000, 4))
    delta = rng.uniform(-1, 1, (2000, 4)) * lam * rng.uniform(0, 1, (2000, 1))
    eta = uniform_l1_radius(p)
    certified = (np.abs(delta) / lam).sum(axis=1) < eta
    non_overlap = 1 - np.prod(1 - np.minimum(np.abs(delta) / (2 * lam), 1), axis=1)
    assert certified.sum() > 100
    assert np.all(p[certified] - non_overlap[certified] > 0.5)
    # tight in one dimension: |delta| / lambda = eta exactly leaves worst-case mass 1/2
    assert 0.8 - (2 * 0.8 - 1) / 2 == pytest.approx(0.5)
    assert uniform_l1_radius(0.8) == pytest.approx(0.6)
    assert uniform_l1_radius([0.5, 0.2]).tolist() == [-np.inf, -np.inf]


def test_continuous_radius_validation():
    for f in (gaussian_l2_radius, uniform_l1_radius):
        for bad in (-0.1, 1.5, np.nan):
            with pytest.raises(ValueError):
                f(bad)
    for sigma in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError):
            gaussian_radius(0.9, sigma)


# ----------------------------------------------------------------------------- container
def test_base_certificate_container():
    cert = BaseCertificate(predicted=[1, 0, 2], eta=[0.5, -np.inf, 0.0], group=[0, 0, 1])
    assert cert.predicted.dtype == np.int64 and cert.eta.dtype == np.float64
    np.testing.assert_array_equal(cert.abstained, [False, True, True])
    with pytest.raises(ValueError):
        BaseCertificate(predicted=[1, 0], eta=[0.5, 0.1, 0.2], group=[0, 0, 0])
    with pytest.raises(ValueError):
        BaseCertificate(predicted=[1], eta=[np.nan], group=[0])
