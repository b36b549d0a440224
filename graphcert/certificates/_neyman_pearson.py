"""Neyman-Pearson worst case over likelihood-ratio regions (docs/theory.md §4, §8, §9).

A region ("cell") is a set of noise outcomes with one likelihood ratio ``Pr_x' / Pr_x``. Given
the regions' log masses under x and x' sorted by increasing ratio, the smallest ``Pr_x'[g = y]``
over all classifiers with ``Pr_x[g = y] = p`` fills mass p under x into the regions in that
order (the last one partially). Everything is in log space, since the masses of binomial and
multinomial regions underflow quickly.
"""
from __future__ import annotations

import numpy as np

__all__ = ["certification_threshold", "log_add_bernoulli", "worst_case_mass"]


def log_add_bernoulli(log_pmf: np.ndarray, log_one: float, log_zero: float) -> np.ndarray:
    """Log pmf of ``count + B`` for an independent Bernoulli B, from the log pmf of ``count``."""
    out = np.full(log_pmf.size + 1, -np.inf)
    out[:-1] = log_pmf + log_zero
    out[1:] = np.logaddexp(out[1:], log_pmf + log_one)
    return out



def _cumulative(log_m: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(np.exp(log_m))))



def worst_case_mass(log_px: np.ndarray, log_pxp: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Neyman-Pearson fill: smallest x'-mass of a set with x-mass p (cells in fill order)."""
    cum_x, cum_xp = _cumulative(log_px), _cumulative(log_pxp)
    last = np.flatnonzero(np.isfinite(log_px))[-1]
    k = np.minimum(np.searchsorted(cum_x[1:], p, side="left"), last)
    rest = p - cum_x[k]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frac = np.where(rest > 0, np.exp(np.log(rest) - log_px[k]), 0.0)
    return cum_xp[k] + np.clip(frac, 0.0, 1.0) * np.exp(log_pxp[k])



def certification_threshold(log_px: np.ndarray, log_pxp: np.ndarray) -> float:
    """The p* with ``fill(p) > 1/2  <=>  p > p*`` (the fill is continuous and increasing past
    its ratio-0 cells); 1.0 when even p = 1 is not certified (x'-mass 1/2 is only reached
    inside cells impossible under x)."""
    cum_x, cum_xp = _cumulative(log_px), _cumulative(log_pxp)
    k = np.searchsorted(cum_xp[1:], 0.5, side="right")
    if k == log_px.size or np.isneginf(log_px[k]):
        return 1.0
    rest = 0.5 - cum_xp[k]
    with np.errstate(divide="ignore"):
        step = np.exp(np.log(rest) + log_px[k] - log_pxp[k]) if rest > 0 else 0.0
    return float(min(cum_x[k] + step, 1.0))
