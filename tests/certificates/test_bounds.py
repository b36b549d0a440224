"""Tests of graphcert.certificates.bounds against independent computations (docs/theory.md §3, §4).

Clopper-Pearson is checked through the binomial tail identity, Holm against a textbook
step-down on binomial p-values, the binned DKW bounds against an unbinned reference written
here from sorted samples (itself checked by numerical quadrature), and all bounds by coverage
simulations at alpha = 0.1 with a binomial tolerance.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from graphcert.certificates import variance_constrained_radius
from graphcert.certificates.bounds import (
    bernstein_bounds,
    bonferroni_alphas,
    bonferroni_lower_bounds,
    check_bounds,
    clopper_pearson_lower,
    clopper_pearson_score_bounds,
    clopper_pearson_upper,
    dkw_bounds,
    holm_lower_bounds,
    mu_zeta_bounds,
    scores_to_histogram,
)

REPS, ALPHA = 2000, 0.1
# largest number of failures compatible with a true failure rate <= ALPHA (about 4 sigma)
MAX_FAILURES = ALPHA * REPS + 4 * math.sqrt(REPS * ALPHA * (1 - ALPHA))


# ----------------------------------------------------------------------------- §4 Clopper-Pearson
def test_clopper_pearson_tail_identities():
    n = np.array([1, 7, 50, 50, 50, 1000, 1000])
    k = np.array([1, 3, 1, 25, 49, 990, 500])
    alpha = 0.05
    lo, hi = clopper_pearson_lower(k, n, alpha), clopper_pearson_upper(k, n, alpha)
    # P[Bin(n, lo) >= k] = alpha and P[Bin(n, hi) <= k] = alpha
    np.testing.assert_allclose(st.binom.sf(k - 1, n, lo), alpha, rtol=1e-7)
    inner = k < n  # k = n has hi = 1 by definition
    np.testing.assert_allclose(st.binom.cdf(k[inner], n[inner], hi[inner]), alpha, rtol=1e-7)
    assert np.all(lo < k / n) and np.all(k / n <= hi) and hi[~inner].tolist() == [1.0]


def test_clopper_pearson_edges_and_closed_forms():
    assert clopper_pearson_lower(0, 10, 0.05) == 0.0
    assert clopper_pearson_upper(10, 10, 0.05) == 1.0
    # k = n: lower = alpha^(1/n); k = 0: upper = 1 - alpha^(1/n)
    assert clopper_pearson_lower(10, 10, 0.05) == pytest.approx(0.05 ** (1 / 10))
    assert clopper_pearson_upper(0, 10, 0.05) == pytest.approx(1 - 0.05 ** (1 / 10))
    assert clopper_pearson_lower(np.full((2, 3), 5), 10, 0.1).shape == (2, 3)


@pytest.mark.parametrize("p", [0.05, 0.5, 0.93])
def test_clopper_pearson_coverage(p):
    rng = np.random.default_rng(int(p * 100))
    k = rng.binomial(40, p, size=REPS)
    assert np.sum(clopper_pearson_lower(k, 40, ALPHA) > p) <= MAX_FAILURES
    assert np.sum(clopper_pearson_upper(k, 40, ALPHA) < p) <= MAX_FAILURES


def test_clopper_pearson_validation():
    for args in [(11, 10, 0.1), (-1, 10, 0.1), (3, 0, 0.1), (3, 10, 0.0), (3, 10, 1.0),
                 (np.nan, 10, 0.1), (2.5, 10, 0.1), (3, 10, np.nan)]:
        with pytest.raises(ValueError):
            clopper_pearson_lower(*args)
        with pytest.raises(ValueError):
            clopper_pearson_upper(*args)
    with pytest.raises(ValueError):
        clopper_pearson_lower(np.ones(3, dtype=int), np.full(2, 5), 0.1)


# ----------------------------------------------------------------------------- §4 multiple testing
def _textbook_holm(votes, n, alpha, threshold):
    """Holm (1979) on the exact binomial p-values P[Bin(n, threshold) >= votes]."""
    pvals = st.binom.sf(np.asarray(votes) - 1, n, threshold)
    m = len(pvals)
    passed = np.zeros(m, dtype=bool)
    for rank, i in enumerate(np.argsort(pvals, kind="stable")):
        if pvals[i] >= alpha / (m - rank):
            break
        passed[i] = True
    return passed


def test_holm_matches_textbook_and_dominates_bonferroni():
    rng = np.random.default_rng(0)
    more = 0
    for _ in range(300):
        m, n = int(rng.integers(1, 40)), int(rng.integers(20, 300))
        votes = rng.binomial(n, rng.uniform(0.4, 0.75, m))
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        p_holm, passed_holm = holm_lower_bounds(votes, n, alpha)
        p_bonf, passed_bonf = bonferroni_lower_bounds(votes, n, alpha)
        np.testing.assert_array_equal(passed_holm, _textbook_holm(votes, n, alpha, 0.5))
        assert np.all(passed_holm[passed_bonf])  # every Bonferroni pass is a Holm pass
        assert np.all(p_holm >= p_bonf - 1e-15)
        more += passed_holm.sum() > passed_bonf.sum()
    assert more > 0  # and Holm is sometimes strictly better


def test_holm_levels_and_step_down_stop():
    alpha, n = 0.1, 100
    # a vote count that passes at level alpha but fails at alpha / 2
    v = next(v for v in range(50, 101) if st.binom.sf(v - 1, n, 0.5) < alpha)
    assert st.binom.sf(v - 1, n, 0.5) >= alpha / 2
    votes = np.array([v, 100, v])
    p_lower, passed = holm_lower_bounds(votes, n, alpha)
    # ranks: 100 votes first (alpha / 3), then the two ties at alpha / 2 and alpha
    np.testing.assert_allclose(st.binom.sf(99, n, p_lower[1]), alpha / 3, rtol=1e-7)
    levels = sorted(st.binom.sf(v - 1, n, p_lower[[0, 2]]) / alpha)
    assert levels == pytest.approx([0.5, 1.0], rel=1e-7)
    assert passed.tolist() == [False, True, False]  # the one at level alpha would pass alone
    assert (p_lower[[0, 2]] > 0.5).sum() == 1


def test_holm_orders_by_p_value_when_sample_sizes_differ():
    # 60 / 60 has the smaller p-value but fewer votes than the output with p-value in (a/2, a)
    v = next(v for v in range(500, 1001) if st.binom.sf(v - 1, 1000, 0.5) < 0.05)
    assert st.binom.sf(v - 1, 1000, 0.5) > 0.025
    votes, n = np.array([60, v]), np.array([60, 1000])
    p_lower, passed = holm_lower_bounds(votes, n, 0.05)
    assert passed.tolist() == [True, True]  # ordering by raw votes would pass neither


def test_holm_familywise_error_under_the_null():
    rng = np.random.default_rng(1)
    votes = rng.binomial(100, 0.5, size=(REPS, 6))
    false_passes = sum(holm_lower_bounds(v, 100, ALPHA)[1].any() for v in votes)
    assert false_passes <= MAX_FAILURES


def test_bonferroni_alphas_and_validation():
    np.testing.assert_allclose(bonferroni_alphas(4, 0.1), [0.025] * 4)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError):
            bonferroni_alphas(bad, 0.1)
    with pytest.raises(ValueError):
        holm_lower_bounds([5, 6], 10, 0.1, threshold=1.0)
    with pytest.raises(ValueError):
        holm_lower_bounds([[5, 6]], 10, 0.1)
    with pytest.raises(ValueError):
        bonferroni_lower_bounds([5, 11], 10, 0.1)
    for f in (bonferroni_lower_bounds, holm_lower_bounds):
        with pytest.raises(ValueError):
            f([5, 6], 10, 1.5)  # alpha / m would be a valid level: the input still is not


# ----------------------------------------------------------------------------- §3 histograms
def test_histogram_binning_contract():
    scores = np.array([[0.0, 0.05, 0.1, 0.25, 0.999, 1.0, 0.5]])
    np.testing.assert_array_equal(scores_to_histogram(scores, 4)[0], [3, 1, 1, 2])
    np.testing.assert_array_equal(scores_to_histogram(scores, 1)[0], [7])
    rng = np.random.default_rng(2)
    s = rng.uniform(size=(5, 300))
    hist = scores_to_histogram(s, 37)
    assert hist.shape == (5, 37) and hist.dtype.kind == "i"
    np.testing.assert_array_equal(hist.sum(axis=1), 300)
    for row, h in zip(s, hist, strict=True):  # bin k holds exactly the scores in [k/M, (k+1)/M)
        expected = [np.sum((row >= k / 37) & (row < (k + 1) / 37)) for k in range(37)]
        np.testing.assert_array_equal(h, expected)


def test_histogram_validation():
    for bad in (np.array([[0.2, 1.1]]), np.array([[np.nan]]), np.array([[-0.1]]),
                np.array([0.2, 0.3])):
        with pytest.raises(ValueError):
            scores_to_histogram(bad, 10)
    with pytest.raises(ValueError):
        scores_to_histogram(np.array([[0.2]]), 0)


# ----------------------------------------------------------------------------- §3 DKW
def _dkw_unbinned(samples: np.ndarray, alpha: float, nu: float) -> tuple[float, float]:
    """docs/theory.md §3 integrals from the exact sorted samples: F = k/N on [x_(k), x_(k+1))."""
    x = np.sort(samples)
    n = x.size
    u = math.sqrt(math.log(2 / alpha) / (2 * n))
    t = np.concatenate([[0.0], x, [1.0]])
    f = np.arange(n + 1) / n
    f_hi, f_lo = np.minimum(f + u, 1), np.maximum(f - u, 0)
    a, b = t[:-1], t[1:]
    mu = np.sum((b - a) * (1 - f_hi))
    # the integrals of 2(nu - s) over [a, b] ∩ [0, nu] and of 2(s - nu) over [a, b] ∩ [nu, 1]
    below = np.clip(nu - a, 0, None) ** 2 - np.clip(nu - b, 0, None) ** 2
    above = np.clip(b - nu, 0, None) ** 2 - np.clip(a - nu, 0, None) ** 2
    return float(mu), float(np.sum(below * f_hi + above * (1 - f_lo)))


def _dkw_quadrature(samples: np.ndarray, alpha: float, nu: float,
                    grid: int = 400_000) -> tuple[float, float]:
    s = (np.arange(grid) + 0.5) / grid
    f = np.searchsorted(np.sort(samples), s, side="right") / samples.size
    u = math.sqrt(math.log(2 / alpha) / (2 * samples.size))
    f_hi, f_lo = np.minimum(f + u, 1), np.maximum(f - u, 0)
    zeta = np.where(s < nu, 2 * (nu - s) * f_hi, 2 * (s - nu) * (1 - f_lo))
    return float(np.mean(1 - f_hi)), float(np.mean(zeta))


def test_unbinned_reference_matches_quadrature():
    rng = np.random.default_rng(3)
    x = rng.beta(2, 5, 200)
    for nu in (0.0, 0.37, float(x.mean()), 1.0):
        np.testing.assert_allclose(_dkw_unbinned(x, 0.05, nu), _dkw_quadrature(x, 0.05, nu),
                                   atol=2e-5)


@pytest.mark.parametrize("n_bins", [1, 10, 37, 256, 1000])
def test_binned_dkw_is_never_tighter_than_unbinned(n_bins):
    rng = np.random.default_rng(n_bins)
    samples = np.concatenate([rng.beta(20, 2, (3, 500)), rng.uniform(size=(3, 500)),
                              rng.beta(0.3, 0.3, (3, 500))])
    samples[0, :5] = 1.0
    hist = scores_to_histogram(samples, n_bins)
    for nu in (samples.mean(axis=1), 0.0, 0.42, 1.0):
        mu_b, zeta_b = dkw_bounds(hist, 0.05, nu)
        for i, row in enumerate(samples):
            mu_u, zeta_u = _dkw_unbinned(row, 0.05, float(np.broadcast_to(nu, 9)[i]))
            assert mu_b[i] <= mu_u + 1e-12
            assert zeta_b[i] >= zeta_u - 1e-12
            assert mu_u - mu_b[i] <= 1 / n_bins + 1e-12  # the binning loss is at most one bin width


def test_binned_dkw_is_exact_for_scores_on_left_edges():
    rng = np.random.default_rng(4)
    samples = rng.integers(0, 20, (4, 300)) / 20  # every score sits on a bin's left edge
    hist = scores_to_histogram(samples, 20)
    mu_b, zeta_b = dkw_bounds(hist, 0.1, 1.0)  # nu = 1: only the [0, nu] part is used
    for i, row in enumerate(samples):
        mu_u, zeta_u = _dkw_unbinned(row, 0.1, 1.0)
        assert mu_b[i] == pytest.approx(mu_u, abs=1e-12)
        assert zeta_b[i] == pytest.approx(zeta_u, abs=1e-12)


def test_dkw_converges_to_unbinned_with_many_bins():
    rng = np.random.default_rng(5)
    x = rng.beta(5, 2, (1, 1000))
    nu = float(x.mean())
    mu_b, zeta_b = dkw_bounds(scores_to_histogram(x, 100_000), 0.05, nu)
    mu_u, zeta_u = _dkw_unbinned(x[0], 0.05, nu)
    assert mu_b[0] == pytest.approx(mu_u, abs=2e-5) and zeta_b[0] == pytest.approx(zeta_u, abs=4e-5)


def _coverage_samples(kind: str, rng: np.random.Generator, n: int):
    """Samples with their exact mean and second moment."""
    if kind == "beta":
        a, b = 2.0, 5.0
        mean = a / (a + b)
        second = a * (a + 1) / ((a + b) * (a + b + 1))
        return rng.beta(a, b, (REPS, n)), mean, second
    values, probs = np.array([0.1, 0.55, 0.9]), np.array([0.2, 0.3, 0.5])
    return rng.choice(values, p=probs, size=(REPS, n)), probs @ values, probs @ values**2


@pytest.mark.parametrize("kind", ["beta", "discrete"])
def test_dkw_coverage(kind):
    rng = np.random.default_rng(6)
    x, mean, second = _coverage_samples(kind, rng, 50)
    nu = x.mean(axis=1)  # data-dependent nu is fine: the band holds for all nu at once
    mu_lower, zeta_upper = dkw_bounds(scores_to_histogram(x, 100), ALPHA, nu)
    true_zeta = second - 2 * nu * mean + nu**2
    failures = np.sum((mu_lower > mean) | (zeta_upper < true_zeta))
    assert failures <= MAX_FAILURES


def test_dkw_tightness_for_large_n():
    rng = np.random.default_rng(7)
    n, a, b = 100_000, 20.0, 2.0
    x = rng.beta(a, b, (1, n))
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    u = math.sqrt(math.log(2 / 0.05) / (2 * n))
    mu_lower, zeta_upper = dkw_bounds(scores_to_histogram(x, 1000), 0.05, float(x.mean()))
    assert 0 <= mean - mu_lower[0] <= 2 * u
    assert 0 <= zeta_upper[0] - var <= 2 * u


def test_dkw_nu_defaults_and_shapes():
    rng = np.random.default_rng(8)
    hist = scores_to_histogram(rng.uniform(size=(3, 100)), 10)
    midpoint_mean = hist @ (np.arange(10) + 0.5) / 10 / 100
    np.testing.assert_array_equal(dkw_bounds(hist, 0.1)[1], dkw_bounds(hist, 0.1, midpoint_mean)[1])
    stacked = dkw_bounds(hist, 0.1, 0.3)
    for i in range(3):
        single = dkw_bounds(hist[i : i + 1], 0.1, 0.3)
        assert stacked[0][i] == single[0][0] and stacked[1][i] == single[1][0]


def test_dkw_validation():
    hist = np.ones((2, 5), dtype=int)
    for nu in (np.nan, 1.2, -0.1, np.array([0.5, 0.5, 0.5]), np.ones((2, 1)) * 0.5):
        with pytest.raises(ValueError):
            dkw_bounds(hist, 0.1, nu)
    for bad in (-hist, np.zeros((2, 5)), np.ones(5), np.full((2, 5), np.nan), np.full((2, 5), 0.5)):
        with pytest.raises(ValueError):
            dkw_bounds(bad, 0.1)
    with pytest.raises(ValueError):
        dkw_bounds(hist, 1.5)


# ----------------------------------------------------------------------------- §3 Bernstein
def test_bernstein_formula_from_raw_samples():
    rng = np.random.default_rng(9)
    x = rng.beta(3, 2, 500)
    n, alpha, split = x.size, 0.02, 0.3
    d1, d2 = split * alpha, (1 - split) * alpha
    v = np.var(x, ddof=1)
    want_mu = (x.mean() - math.sqrt(2 * v * math.log(2 / d1) / n)
               - 7 * math.log(2 / d1) / (3 * (n - 1)))
    want_zeta = (math.sqrt(v) + math.sqrt(2 * math.log(1 / d2) / (n - 1))) ** 2
    mu, zeta = bernstein_bounds(x.sum(), (x**2).sum(), n, alpha, split)
    assert mu == pytest.approx(want_mu, rel=1e-10) and zeta == pytest.approx(want_zeta, rel=1e-10)


def test_theory_example_beta_20_2():
    """docs/theory.md §3.3's example: 2000 samples of Beta(20, 2) at alpha = 0.01 give its
    figures."""
    x = np.random.default_rng(0).beta(20, 2, 2000)
    mu_b, zeta_b = bernstein_bounds(x.sum(), (x**2).sum(), x.size, 0.01)
    mu_d, zeta_d = dkw_bounds(scores_to_histogram(x[None], 1000), 0.01, x.mean())
    assert mu_b == pytest.approx(0.896, abs=0.005) and zeta_b == pytest.approx(0.018, abs=0.002)
    assert mu_d[0] == pytest.approx(0.872, abs=0.005)
    assert zeta_d[0] == pytest.approx(0.034, abs=0.002)
    assert variance_constrained_radius(mu_b, zeta_b) == pytest.approx(2.29, abs=0.06)
    assert variance_constrained_radius(mu_d, zeta_d)[0] == pytest.approx(1.62, abs=0.06)


@pytest.mark.parametrize("kind", ["beta", "discrete"])
def test_bernstein_coverage(kind):
    rng = np.random.default_rng(10)
    x, mean, second = _coverage_samples(kind, rng, 50)
    mu_lower, zeta_upper = bernstein_bounds(x.sum(axis=1), (x**2).sum(axis=1), 50, ALPHA)
    failures = np.sum((mu_lower > mean) | (zeta_upper < second - mean**2))
    assert failures <= MAX_FAILURES


def test_bernstein_constant_scores_are_stable():
    n = 10**6
    s, q = np.float64(0.999999) * n, np.float64(0.999999**2) * n
    mu, zeta = bernstein_bounds(s, q, n, 0.01)
    assert np.isfinite(mu) and mu < 0.999999
    assert zeta >= 2 * math.log(1 / 0.005) / (n - 1)


def test_bernstein_validation():
    for args in [(1.0, 0.5, 1, 0.1), (np.nan, 0.5, 10, 0.1), (5.0, 6.0, 10, 0.1),
                 (11.0, 5.0, 10, 0.1), (-1.0, 0.5, 10, 0.1), (5.0, 3.0, 10, 0.0)]:
        with pytest.raises(ValueError):
            bernstein_bounds(*args)
    with pytest.raises(ValueError):
        bernstein_bounds(5.0, 3.0, 10, 0.1, split=1.0)
    with pytest.raises(ValueError):
        bernstein_bounds(np.ones(3), np.ones(2), 10, 0.1)


def test_mu_zeta_dispatcher():
    rng = np.random.default_rng(11)
    x = rng.beta(5, 2, (4, 300))
    hist = scores_to_histogram(x, 50)
    s, q = x.sum(axis=1), (x**2).sum(axis=1)
    got = mu_zeta_bounds(alpha=0.05, method="dkw", hist=hist, score_sum=s, n=300)
    want = dkw_bounds(hist, 0.05, s / 300)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    got = mu_zeta_bounds(alpha=0.05, method="bernstein", score_sum=s, score_sq_sum=q, n=300)
    np.testing.assert_array_equal(got[1], bernstein_bounds(s, q, 300, 0.05)[1])
    with pytest.raises(ValueError):
        mu_zeta_bounds(alpha=0.05, method="hoeffding", hist=hist)
    with pytest.raises(ValueError):
        mu_zeta_bounds(alpha=0.05, method="bernstein", score_sum=s, n=300)
    with pytest.raises(ValueError):
        mu_zeta_bounds(alpha=0.05, method="dkw")


# ----------------------------------------------------------------------------- binary scores
def test_clopper_pearson_score_bounds_cover_mean_and_variance():
    """Coverage over repetitions: mu_lower <= p and zeta_upper >= p (1 - p) jointly."""
    rng = np.random.default_rng(11)
    alpha, n, reps = 0.1, 300, 3000
    for p in (0.55, 0.8, 0.97):
        successes = rng.binomial(n, p, size=reps).astype(float)
        mu_lower, zeta_upper = clopper_pearson_score_bounds(successes, successes, n, alpha)
        covered = (mu_lower <= p) & (zeta_upper >= p * (1 - p))
        failures = reps - covered.sum()
        assert failures <= reps * alpha + 4 * np.sqrt(reps * alpha * (1 - alpha))


def test_clopper_pearson_score_bounds_values_and_tightness():
    successes = np.array([950.0, 700.0, 400.0])
    mu_lower, zeta_upper = clopper_pearson_score_bounds(successes, successes, 1000, 0.01)
    expected = st.beta.ppf(0.01, successes, 1000 - successes + 1)
    assert np.allclose(mu_lower, expected)
    assert np.allclose(zeta_upper[:2], expected[:2] * (1 - expected[:2]))
    assert zeta_upper[2] == 0.25
    # for votes, one binomial bound beats both DKW and Bernstein on the radius
    eta = variance_constrained_radius(mu_lower, zeta_upper)
    eta_b = variance_constrained_radius(*bernstein_bounds(successes, successes, 1000, 0.01))
    hist = np.zeros((3, 10), dtype=np.int64)
    hist[:, 9], hist[:, 0] = successes, 1000 - successes
    eta_d = variance_constrained_radius(*dkw_bounds(hist, 0.01, successes / 1000))
    assert np.all(eta[:2] > eta_b[:2]) and np.all(eta[:2] > eta_d[:2])


def test_clopper_pearson_score_bounds_refuse_soft_scores():
    with pytest.raises(ValueError, match="exactly 0 or 1"):
        clopper_pearson_score_bounds([10.5], [9.0], 20, 0.01)
    with pytest.raises(ValueError, match="exactly 0 or 1"):
        mu_zeta_bounds(alpha=0.01, method="clopper_pearson", score_sum=[10.0],
                       score_sq_sum=[8.0], n=[20])


def test_bounds_read_under_their_earlier_name_give_the_same_values():
    """'binary' was the name of the Clopper-Pearson bounds on one-hot scores until issue 25;
    results.json files and configurations that say so keep working."""
    old = mu_zeta_bounds(alpha=0.01, method="binary", score_sum=[700.0, 400.0],
                         score_sq_sum=[700.0, 400.0], n=[1000, 1000])
    new = mu_zeta_bounds(alpha=0.01, method="clopper_pearson", score_sum=[700.0, 400.0],
                         score_sq_sum=[700.0, 400.0], n=[1000, 1000])
    np.testing.assert_array_equal(old[0], new[0])
    np.testing.assert_array_equal(old[1], new[1])
    assert check_bounds("binary") == "clopper_pearson" == check_bounds("clopper_pearson")
    with pytest.raises(ValueError, match="bounds must be one of .* got 'hoeffding'"):
        check_bounds("hoeffding")
