"""Confidence bounds for smoothed classifiers (docs/theory.md §3 Monte Carlo, §4 vote bounds).

Everything is numpy in / numpy out and vectorized over outputs (nodes).

Streaming score representation (contract with the Monte Carlo engine, docs/theory.md §3):
per node the candidate class's scores in [0, 1] are kept as
  * ``hist``: integer array (n_nodes, M); bin k covers [k/M, (k+1)/M), a score of
    exactly 1.0 goes into bin M-1 (see :func:`scores_to_histogram`);
  * ``score_sum`` / ``score_sq_sum``: float64 sums of the scores / squared scores;
  * ``n``: number of samples (may differ per node).
"""
from __future__ import annotations

import sys

import numpy as np
from scipy import stats as _st

from graphcert.utils.validation import (
    check_choice,
    check_nonnegative_integers,
    check_positive_int,
    check_probabilities,
    check_real,
)

__all__ = [
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "bonferroni_alphas",
    "check_bonferroni_alpha",
    "bonferroni_lower_bounds",
    "holm_lower_bounds",
    "scores_to_histogram",
    "dkw_bounds",
    "bernstein_bounds",
    "clopper_pearson_score_bounds",
    "BOUNDS",
    "RENAMED_BOUNDS",
    "check_bounds",
    "mu_zeta_bounds",
    "CORRECTIONS",
    "corrected_lower_bounds",
]


# ----------------------------------------------------------------------------- validation
def _check_counts(successes, n) -> tuple[np.ndarray, np.ndarray]:
    """Binomial counts: whole numbers with 0 <= successes <= n and n >= 1, broadcast."""
    k = check_nonnegative_integers(successes, "successes")
    n = check_nonnegative_integers(n, "n")
    try:
        k, n = np.broadcast_arrays(k, n)
    except ValueError as exc:
        raise ValueError(f"successes {k.shape} and n {n.shape} do not broadcast") from exc
    if np.any(n < 1):
        raise ValueError("n (number of samples) must be >= 1, got 0")
    if np.any(k > n):
        raise ValueError("successes must satisfy 0 <= successes <= n, got "
                         f"{k[k > n].ravel()[0]} > {n[k > n].ravel()[0]}")
    return k, n


# ----------------------------------------------------------------------------- §4 binomial bounds
def clopper_pearson_lower(successes, n, alpha) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson lower bound on a binomial proportion
    (docs/theory.md §4).

    Equals ``Beta(alpha; k, n - k + 1)`` quantile; 0 when ``k = 0``. ``alpha`` may be an
    array broadcasting with ``successes`` (per-output levels).

    Args:
        successes (array_like): successes k.
        n (array_like): trials n, broadcast with ``successes``.
        alpha (float or array_like): significance level(s) in (0, 1).

    Returns:
        np.ndarray: float64 of the broadcast shape.
    """
    alpha = check_real(alpha, "alpha", "(0, 1)")
    k, n = _check_counts(successes, n)
    with np.errstate(invalid="ignore"):
        lo = _st.beta.ppf(alpha, k, n - k + 1)
    return np.where(k == 0, 0.0, lo)


def clopper_pearson_upper(successes, n, alpha) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson upper bound (docs/theory.md §4); 1 when ``k = n``.

    Args:
        successes (array_like): successes k.
        n (array_like): trials n, broadcast with ``successes``.
        alpha (float or array_like): significance level(s) in (0, 1).

    Returns:
        np.ndarray: float64 of the broadcast shape.
    """
    alpha = check_real(alpha, "alpha", "(0, 1)")
    k, n = _check_counts(successes, n)
    with np.errstate(invalid="ignore"):
        hi = _st.beta.ppf(1.0 - alpha, k + 1, n - k)
    return np.where(k == n, 1.0, hi)


def check_bonferroni_alpha(alpha: float, n_outputs: int) -> float:
    """``alpha / n_outputs`` (Bonferroni, docs/theory.md §3/§4), or a ValueError naming alpha
    if that level is not a normal float64 (it underflows, and the bounds lose their meaning).

    Args:
        alpha (float): familywise level in (0, 1).
        n_outputs (int): number of outputs m.

    Returns:
        float: ``alpha / m``.
    """
    alpha = check_real(alpha, "alpha", "(0, 1)")
    n_outputs = check_positive_int(n_outputs, "n_outputs")
    per_output = alpha / n_outputs
    if per_output < sys.float_info.min:
        raise ValueError(f"alpha == {alpha!r} shared by {n_outputs} outputs gives "
                         f"{per_output!r} per output, below the smallest normal float "
                         f"({sys.float_info.min:.3g}): raise alpha")
    return per_output


def bonferroni_alphas(n_outputs: int, alpha: float) -> np.ndarray:
    """Per-output significance levels ``alpha / n_outputs`` (Bonferroni, docs/theory.md §3/§4).

    Args:
        n_outputs (int): number of outputs m.
        alpha (float): familywise level.

    Returns:
        np.ndarray: float64 (m,).
    """
    return np.full(check_positive_int(n_outputs, "n_outputs"),
                   check_bonferroni_alpha(alpha, n_outputs))


def bonferroni_lower_bounds(votes, n, alpha: float, threshold: float = 0.5):
    """Simultaneous Clopper-Pearson lower bounds at level ``alpha / m`` (docs/theory.md §4).

    Returns ``(p_lower, passed)`` with ``passed = p_lower > threshold``. All m bounds
    hold together with probability >= 1 - alpha.

    Args:
        votes (array_like): votes per output, (m,).
        n (array_like): samples, broadcast with ``votes``.
        alpha (float): familywise level.
        threshold (float): the tested probability in [0, 1).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``p_lower`` float64 and ``passed`` bool, (m,) each.
    """
    alpha = check_real(alpha, "alpha", "(0, 1)")
    threshold = check_real(threshold, "threshold", "[0, 1)")
    k, n = _check_counts(np.atleast_1d(votes), n)
    p_lower = clopper_pearson_lower(k, n, alpha / k.size)
    return p_lower, p_lower > threshold


def holm_lower_bounds(votes, n, alpha: float, threshold: float = 0.5):
    """Holm step-down test of ``p > threshold`` for m outputs (docs/theory.md §4).

    Outputs are ordered by their one-sided binomial p-value ``P[Bin(n, threshold) >= votes]``
    (for a common ``n`` this is vote count descending); the k-th (1-based) is tested at
    ``alpha / (m + 1 - k)``, and the procedure stops at the first failure: that output and
    all later ones do not pass. ``p_lower`` is the Clopper-Pearson bound at each output's
    Holm level, in the input order; ``p_lower > threshold`` is exactly the test at that level.

    Holm controls the familywise error of the *decisions* ``p > threshold``. Radii computed
    from the Holm-level ``p_lower`` follow the papers' practice; they are not simultaneous
    confidence bounds. :func:`bonferroni_lower_bounds` gives strictly simultaneous bounds.

    Args:
        votes (array_like): votes per output, (m,).
        n (array_like): samples, broadcast with ``votes``.
        alpha (float): familywise level.
        threshold (float): the tested probability in [0, 1).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``p_lower`` float64 and ``passed`` bool, (m,) each.
    """
    alpha = check_real(alpha, "alpha", "(0, 1)")
    threshold = check_real(threshold, "threshold", "[0, 1)")
    k, n = _check_counts(np.atleast_1d(votes), n)
    if k.ndim != 1:
        raise ValueError(f"votes must be one-dimensional, got shape {k.shape}")
    m = k.size
    # p-value of H0: p <= threshold; the CP duality: p_lower(level a) > threshold <=> pval < a
    pval = np.where(k == 0, 1.0, _st.beta.cdf(threshold, np.maximum(k, 1), n - k + 1))
    order = np.lexsort((-k, pval))
    levels = np.empty(m)
    levels[order] = alpha / (m - np.arange(m))
    p_lower = clopper_pearson_lower(k, n, levels)
    passed = np.empty(m, dtype=bool)
    passed[order] = np.logical_and.accumulate(p_lower[order] > threshold)
    return p_lower, passed


# ----------------------------------------------------------------------------- §3 histograms
def scores_to_histogram(scores, n_bins: int) -> np.ndarray:
    """Bin scores of shape (n_nodes, n_samples) into (n_nodes, n_bins) counts (docs/theory.md §3
    contract).

    Bin k covers [k/M, (k+1)/M); a score of exactly 1.0 goes into bin M - 1.

    Args:
        scores (array_like): scores in [0, 1], (n_nodes, n_samples).
        n_bins (int): number of bins M.

    Returns:
        np.ndarray: int64 (n_nodes, M).
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must have shape (n_nodes, n_samples), got {s.shape}")
    m = check_positive_int(n_bins, "n_bins")
    s = check_probabilities(s, "scores")
    idx = np.minimum(np.floor(s * m).astype(np.int64), m - 1)
    rows = np.repeat(np.arange(s.shape[0]), s.shape[1])
    hist = np.zeros((s.shape[0], m), dtype=np.int64)
    np.add.at(hist, (rows, idx.ravel()), 1)
    return hist


def _check_hist(hist) -> np.ndarray:
    h = np.asarray(hist)
    if h.ndim != 2 or h.shape[1] < 1:
        raise ValueError(f"hist must have shape (n_nodes, n_bins), got {h.shape}")
    h = check_nonnegative_integers(h, "hist")
    if np.any(h.sum(axis=1) < 1):
        raise ValueError("every node needs at least one sample in hist")
    return h.astype(np.float64)


def dkw_bounds(hist, alpha: float, nu=None) -> tuple[np.ndarray, np.ndarray]:
    """DKW-band bounds ``(mu_lower, zeta_upper)`` from binned scores (docs/theory.md §3, LRS §G.2).

    With ``u = sqrt(ln(2/alpha) / (2N))``, ``F_hi = min(F + u, 1)``, ``F_lo = max(F - u, 0)``:
    ``mu_lower = int_0^1 (1 - F_hi)`` and
    ``zeta_upper = int_0^nu 2(nu - s) F_hi + int_nu^1 2(s - nu)(1 - F_lo)``, both >= the truth
    for every ``nu`` at once with probability >= 1 - alpha.

    Binning is conservative: for ``mu_lower`` and the ``[0, nu]`` part every sample is moved
    to its bin's left edge, which can only move it down, so the binned CDF is pointwise >= the
    empirical CDF and both terms (decreasing resp. increasing in F) only get more cautious.
    For the ``[nu, 1]`` part samples move to the right edge (CDF pointwise smaller), which only
    enlarges ``1 - F_lo``. All integrals of the resulting step functions are exact.

    ``nu``: scalar or per-node array in [0, 1]; pass the exact empirical mean
    ``score_sum / n``. ``None`` uses the histogram's bin-midpoint mean.

    Args:
        hist (array_like): score counts per bin, (n_nodes, M).
        alpha (float): significance level.
        nu (float or array_like, optional): the centre of zeta, scalar or (n_nodes,).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``mu_lower`` and ``zeta_upper``, float64 (n_nodes,) each.
    """
    alpha = check_real(alpha, "alpha", "(0, 1)")
    h = _check_hist(hist)
    n_nodes, m = h.shape
    n = h.sum(axis=1, keepdims=True)
    edges = np.arange(m + 1) / m
    a, b = edges[:-1], edges[1:]
    if nu is None:
        nu = (h @ (a + b) / 2.0)[:, None] / n
    else:
        nu = check_probabilities(nu, "nu")
        if nu.ndim > 1 or (nu.ndim == 1 and nu.size != n_nodes):
            raise ValueError(f"nu must be a scalar or have shape ({n_nodes},), got {nu.shape}")
        nu = np.broadcast_to(nu.reshape(-1, 1), (n_nodes, 1))
    u = np.sqrt(np.log(2.0 / alpha) / (2.0 * n))
    cdf = np.cumsum(h, axis=1)
    f_left = cdf / n  # samples at left edges: value of the CDF on [a_k, b_k)
    f_right = (cdf - h) / n  # samples at right edges
    f_hi = np.minimum(f_left + u, 1.0)
    tail_lo = 1.0 - np.maximum(f_right - u, 0.0)
    mu_lower = (1.0 - f_hi).sum(axis=1) / m
    lo_a, lo_b = np.minimum(a, nu), np.minimum(b, nu)
    hi_a, hi_b = np.maximum(a, nu), np.maximum(b, nu)
    w_below = (nu - lo_a) ** 2 - (nu - lo_b) ** 2  # int over [a,b] ∩ [0,nu] of 2(nu - s)
    w_above = (hi_b - nu) ** 2 - (hi_a - nu) ** 2  # int over [a,b] ∩ [nu,1] of 2(s - nu)
    zeta_upper = (w_below * f_hi + w_above * tail_lo).sum(axis=1)
    return mu_lower, zeta_upper


# ----------------------------------------------------------------------------- §3 Bernstein
def bernstein_bounds(score_sum, score_sq_sum, n, alpha: float, split: float = 0.5):
    """Empirical-Bernstein bounds ``(mu_lower, zeta_upper)`` (docs/theory.md §3, Maurer & Pontil
    2009).

    ``mu_lower = m - sqrt(2 V ln(2/d1) / N) - 7 ln(2/d1) / (3 (N - 1))`` and
    ``zeta_upper = (sqrt(V) + sqrt(2 ln(1/d2) / (N - 1)))^2`` with ``d1 = split * alpha``,
    ``d2 = (1 - split) * alpha``; jointly valid with probability >= 1 - alpha for scores in
    [0, 1]. ``zeta_upper`` bounds the variance, i.e. ``zeta`` at ``nu = `` the true mean.
    ``mu_lower`` is returned unclipped (it may be < 0, which is still a valid, vacuous bound).

    Args:
        score_sum (array_like): sum of the scores.
        score_sq_sum (array_like): sum of their squares.
        n (array_like): samples, >= 2.
        alpha (float): significance level.
        split (float): share of alpha spent on ``mu_lower``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``mu_lower`` and ``zeta_upper`` of the broadcast shape.
    """
    alpha = check_real(alpha, "alpha", "(0, 1)")
    split = check_real(split, "split", "(0, 1)")
    s = np.asarray(score_sum, dtype=np.float64)
    q = np.asarray(score_sq_sum, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    try:
        s, q, n = np.broadcast_arrays(s, q, n)
    except ValueError as exc:
        raise ValueError(f"score_sum {s.shape}, score_sq_sum {q.shape}, n {n.shape} "
                         "differ") from exc
    if np.isnan(s).any() or np.isnan(q).any() or np.isnan(n).any():
        raise ValueError("NaN in score_sum, score_sq_sum or n")
    if np.any(n < 2):
        raise ValueError("Bernstein bounds need n >= 2 samples")
    if np.any((s < 0) | (s > n)) or np.any((q < 0) | (q > s * (1 + 1e-12))):
        raise ValueError("sums are inconsistent with scores in [0, 1]")
    d1, d2 = split * alpha, (1.0 - split) * alpha
    m = s / n
    # unbiased variance from the sums; the tiny pad covers cancellation in q - s^2/n, so that
    # rounding can never shrink the variance below the truth (sqrt amplifies such errors)
    v = (np.maximum(q - s * m, 0.0) + 4.0 * np.finfo(np.float64).eps * q) / (n - 1.0)
    mu_lower = m - np.sqrt(2.0 * v * np.log(2.0 / d1) / n) - 7.0 * np.log(2.0 / d1) / (3.0
                                                                                       * (n - 1.0))
    sigma_upper = np.sqrt(v) + np.sqrt(2.0 * np.log(1.0 / d2) / (n - 1.0))
    return mu_lower, sigma_upper**2


def clopper_pearson_score_bounds(score_sum, score_sq_sum, n, alpha: float):
    """(mu_lower, zeta_upper) for scores that are exactly 0 or 1 (one-hot base classifiers).

    With g in {0, 1} the variance is mu (1 - mu). Take mu_lower = the Clopper-Pearson lower
    bound on mu (level alpha). Where mu_lower > 1/2, mu >= mu_lower implies
    mu (1 - mu) <= mu_lower (1 - mu_lower), so zeta_upper = mu_lower (1 - mu_lower) bounds the
    variance (nu = mu in docs/theory.md §3) with the same probability; elsewhere zeta_upper = 1/4
    (the largest Bernoulli variance). One binomial bound serves both, which is much tighter than
    DKW or empirical Bernstein for votes. Raises ValueError unless every score is 0 or 1
    (score_sq_sum == score_sum and both whole numbers).

    Args:
        score_sum (array_like): votes (sum of 0/1 scores).
        score_sq_sum (array_like): sum of their squares, equal to ``score_sum``.
        n (array_like): samples.
        alpha (float): significance level.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``mu_lower`` and ``zeta_upper`` of the broadcast shape.
    """
    score_sum = np.asarray(score_sum, dtype=np.float64)
    score_sq_sum = np.asarray(score_sq_sum, dtype=np.float64)
    if np.any(score_sum != np.round(score_sum)) or np.any(score_sq_sum != score_sum):
        raise ValueError("clopper_pearson_score_bounds needs scores that are exactly 0 or 1 "
                         "(smooth one-hot predictions, e.g. score temperature 0)")
    mu_lower = clopper_pearson_lower(score_sum.astype(np.int64), n, alpha)
    zeta_upper = np.where(mu_lower > 0.5, mu_lower * (1.0 - mu_lower), 0.25)
    return mu_lower, zeta_upper


#: the methods of `mu_zeta_bounds`
BOUNDS = ("dkw", "bernstein", "clopper_pearson")
#: bound names of earlier versions, still read from configurations and results.json
RENAMED_BOUNDS = {"binary": "clopper_pearson"}


def check_bounds(value, name: str = "bounds") -> str:
    """`value` as one of `BOUNDS`, an earlier name (`RENAMED_BOUNDS`) replaced by its
    current one; ValueError naming `name` otherwise.

    Args:
        value: a bound name.
        name: the argument or key named in the error.

    Returns:
        str: the name in `BOUNDS`.
    """
    return check_choice(RENAMED_BOUNDS.get(value, value) if isinstance(value, str) else value,
                        name, BOUNDS)


def mu_zeta_bounds(
    *,
    alpha: float,
    method: str = "dkw",
    hist=None,
    score_sum=None,
    score_sq_sum=None,
    n=None,
    nu=None,
    split: float = 0.5,
):
    """Dispatch to :func:`dkw_bounds`, :func:`bernstein_bounds` or, for 0/1 scores,
    :func:`clopper_pearson_score_bounds` (``"clopper_pearson"``) (docs/theory.md §3).

    For ``"dkw"`` the default ``nu`` is the exact empirical mean ``score_sum / n`` when both are
    given (else the histogram midpoint mean). Never pick a method after looking at results.

    Args:
        alpha (float): significance level.
        method (str): ``"dkw"``, ``"bernstein"`` or ``"binary"`` (`BOUNDS`).
        hist (array_like, optional): score histogram (n_nodes, M), for ``"dkw"``.
        score_sum, score_sq_sum (array_like, optional): score sums, (n_nodes,).
        n (array_like, optional): samples, (n_nodes,).
        nu (float or array_like, optional): the centre of zeta for ``"dkw"``.
        split (float): share of alpha spent on ``mu_lower`` for ``"bernstein"``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``mu_lower`` and ``zeta_upper``, (n_nodes,) each.
    """
    method = RENAMED_BOUNDS.get(method, method)
    if method == "dkw":
        if hist is None:
            raise ValueError("method 'dkw' needs hist")
        if nu is None and score_sum is not None and n is not None:
            nu = np.clip(np.asarray(score_sum, dtype=np.float64) / np.asarray(n, dtype=np.float64),
                         0.0, 1.0)
        return dkw_bounds(hist, alpha, nu)
    if method == "bernstein":
        if score_sum is None or score_sq_sum is None or n is None:
            raise ValueError("method 'bernstein' needs score_sum, score_sq_sum and n")
        return bernstein_bounds(score_sum, score_sq_sum, n, alpha, split)
    if method == "clopper_pearson":
        if score_sum is None or score_sq_sum is None or n is None:
            raise ValueError("method 'clopper_pearson' needs score_sum, score_sq_sum and n")
        return clopper_pearson_score_bounds(score_sum, score_sq_sum, n, alpha)
    raise ValueError(f"unknown method {method!r}; use one of {BOUNDS}")


# ----------------------------------------------------------------------------- corrections
CORRECTIONS = {"bonferroni": bonferroni_lower_bounds, "holm": holm_lower_bounds}


def corrected_lower_bounds(votes, n, alpha: float, threshold: float = 0.5,
                           correction: str = "holm"):
    """``(p_lower, passed)`` of the tests ``p > threshold`` under a multiple-testing
    `correction` over all outputs: ``"holm"`` or ``"bonferroni"`` (`CORRECTIONS`,
    docs/theory.md §4).

    Args:
        votes (array_like): votes per output, (m,).
        n (array_like): samples, broadcast with ``votes``.
        alpha (float): familywise level.
        threshold (float): the tested probability in [0, 1).
        correction (str): ``"holm"`` or ``"bonferroni"``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``p_lower`` float64 and ``passed`` bool, (m,) each.
    """
    check_choice(correction, "correction", CORRECTIONS)
    return CORRECTIONS[correction](votes, n, alpha, threshold)
