"""Base (per-output) robustness certificates (SPEC §3 and §4).

* variance-constrained certificate for sparsity-aware noise (SPEC §3, LRS Thm 5.1):
  :func:`sparsity_aware_weights`, :func:`variance_constrained_radius`,
  :func:`localized_weight_matrices`;
* exact binary certificate of SparseSmooth (SPEC §4): :func:`sparse_smooth_worst_mass`,
  :func:`sparse_smooth_certified`, :func:`sparse_smooth_region`;
* vote-based radii for continuous smoothing (SPEC §4): :func:`gaussian_l2_radius`,
  :func:`gaussian_radius`, :func:`uniform_l1_radius`.

Radii follow one convention: ``eta = -inf`` means abstain.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

__all__ = [
    "BaseCertificate",
    "sparsity_aware_weights",
    "localized_weight_matrices",
    "variance_constrained_radius",
    "sparse_smooth_worst_mass",
    "sparse_smooth_certified",
    "sparse_smooth_region",
    "gaussian_l2_radius",
    "gaussian_radius",
    "uniform_l1_radius",
]


# ----------------------------------------------------------------------------- validation
def _prob(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN")
    if np.any((a < 0.0) | (a > 1.0)):
        raise ValueError(f"{name} must lie in [0, 1]")
    return a


def _radius(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind == "f" and (np.isnan(a).any() or np.any(a != np.round(a))):
        raise ValueError(f"{name} must be whole numbers (got NaN or fractions)")
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    if np.any(a < 0):
        raise ValueError(f"{name} must be non-negative (negative radius)")
    return a.astype(np.int64)


# ----------------------------------------------------------------------------- §3 weights
def _chi_term(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num**2 / den`` with the limits ``0/0 -> 0`` and ``c/0 -> inf`` (c > 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = num**2 / den
    return np.where(den > 0, t, np.where(num > 0, np.inf, 0.0))


def sparsity_aware_weights(theta_plus, theta_minus) -> tuple[np.ndarray, np.ndarray]:
    """Per-bit weights ``(gamma_plus, gamma_minus)`` of sparsity-aware noise (SPEC §3).

    ``gamma_plus = ln(theta_minus^2 / (1 - theta_plus) + (1 - theta_minus)^2 / theta_plus)``
    (adding a bit), ``gamma_minus = ln((1 - theta_plus)^2 / theta_minus + theta_plus^2 /
    (1 - theta_minus))`` (deleting a bit). Each is ``ln sum_z pi_x'(z)^2 / pi_x(z)`` for one bit,
    so a term whose denominator vanishes is ``inf`` when its numerator is positive (x' puts mass
    where x has none: never certifiable) and 0 when both vanish. The true value is >= 0, so
    rounding below 0 is clipped.
    """
    tp, tm = np.broadcast_arrays(_prob(theta_plus, "theta_plus"), _prob(theta_minus, "theta_minus"))
    rho_plus = _chi_term(tm, 1.0 - tp) + _chi_term(1.0 - tm, tp)
    rho_minus = _chi_term(1.0 - tp, tm) + _chi_term(tp, 1.0 - tm)
    return np.maximum(np.log(rho_plus), 0.0), np.maximum(np.log(rho_minus), 0.0)


def localized_weight_matrices(theta_plus, theta_minus) -> tuple[np.ndarray, np.ndarray]:
    """Per-bit weights ``(W_plus, W_minus)`` of shape (C, C) for localized smoothing (SPEC §2, §5).

    ``theta_*[i, j]`` is the flip probability that the distribution smoothing the outputs of
    cluster i (row = output group) applies to the attributes of nodes in cluster j (column =
    input cluster); scalars broadcast. For per-node units of the collective certificate, node
    u belongs to input cluster ``labels[u]`` so its weights are ``W[:, labels]``
    (i.e. unit_group = labels).
    """
    w_plus, w_minus = sparsity_aware_weights(theta_plus, theta_minus)
    if w_plus.ndim != 2 or w_plus.shape[0] != w_plus.shape[1]:
        raise ValueError(f"theta matrices must broadcast to a square (C, C) shape, got {w_plus.shape}")
    return w_plus, w_minus


def variance_constrained_radius(mu_lower, zeta_upper) -> np.ndarray:
    """Radius ``eta = ln(1 + (mu - 1/2)^2 / zeta)`` if ``mu > 1/2`` else ``-inf`` (SPEC §3).

    ``zeta`` enters to the first power. ``zeta = 0`` with ``mu > 1/2`` gives ``+inf``.
    ``mu_lower`` may be below 0 (a vacuous lower bound) but not above 1; ``zeta_upper >= 0``.
    """
    mu = np.asarray(mu_lower, dtype=np.float64)
    zeta = np.asarray(zeta_upper, dtype=np.float64)
    if np.isnan(mu).any() or np.isnan(zeta).any():
        raise ValueError("mu_lower and zeta_upper must not contain NaN")
    if np.any(mu > 1.0):
        raise ValueError("mu_lower must be <= 1 (it bounds an expected score in [0, 1])")
    if np.any(zeta < 0.0):
        raise ValueError("zeta_upper must be >= 0")
    mu, zeta = np.broadcast_arrays(mu, zeta)
    with np.errstate(divide="ignore"):
        eta = np.log1p((mu - 0.5) ** 2 / zeta)
    return np.where(mu > 0.5, eta, -np.inf)


# ----------------------------------------------------------------------------- §4 SparseSmooth
def _log_add_bernoulli(log_pmf: np.ndarray, log_one: float, log_zero: float) -> np.ndarray:
    """Log pmf of ``count + B`` for an independent Bernoulli B, from the log pmf of ``count``."""
    out = np.full(log_pmf.size + 1, -np.inf)
    out[:-1] = log_pmf + log_zero
    out[1:] = np.logaddexp(out[1:], log_pmf + log_one)
    return out


def _bernoulli_logs(tp: float, tm: float) -> tuple[tuple[float, float], ...]:
    """(log P[success], log P[failure]) per changed bit, under x and x', added / deleted.

    A cell is q = (#added bits that are 1 in z) + (#deleted bits that are 0 in z); the
    likelihood ratio of the (i, j) cells of SPEC §4 depends on (i, j) only through q.
    """
    with np.errstate(divide="ignore"):
        lg = np.log([tp, 1.0 - tp, tm, 1.0 - tm])
    l_tp, l_1tp, l_tm, l_1tm = lg
    return (l_tp, l_1tp), (l_tm, l_1tm), (l_1tm, l_tm), (l_1tp, l_tp)


def _fill_order(log_px: np.ndarray, log_pxp: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Cells (indexed by q) in increasing ``Pr_x' / Pr_x`` order. q's support under x is an
    interval, so cells impossible under x (ratio +inf) end up last, after every fill."""
    return (log_px[::-1], log_pxp[::-1]) if descending else (log_px, log_pxp)


def _cumulative(log_m: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(np.exp(log_m))))


def _fill(log_px: np.ndarray, log_pxp: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Neyman-Pearson fill: smallest x'-mass of a set with x-mass p (cells in fill order)."""
    cum_x, cum_xp = _cumulative(log_px), _cumulative(log_pxp)
    last = np.flatnonzero(np.isfinite(log_px))[-1]
    k = np.minimum(np.searchsorted(cum_x[1:], p, side="left"), last)
    rest = p - cum_x[k]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frac = np.where(rest > 0, np.exp(np.log(rest) - log_px[k]), 0.0)
    return cum_xp[k] + np.clip(frac, 0.0, 1.0) * np.exp(log_pxp[k])


def _threshold(log_px: np.ndarray, log_pxp: np.ndarray) -> float:
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


def _cells(tp: float, tm: float, r_add: int, r_del: int) -> tuple[np.ndarray, np.ndarray]:
    """Log masses of the merged cells under x and x', in fill order."""
    (a1, a0), (d1, d0), (a1p, a0p), (d1p, d0p) = _bernoulli_logs(tp, tm)
    log_px = log_pxp = np.zeros(1)
    for _ in range(r_add):
        log_px, log_pxp = _log_add_bernoulli(log_px, a1, a0), _log_add_bernoulli(log_pxp, a1p, a0p)
    for _ in range(r_del):
        log_px, log_pxp = _log_add_bernoulli(log_px, d1, d0), _log_add_bernoulli(log_pxp, d1p, d0p)
    return _fill_order(log_px, log_pxp, tp + tm > 1.0)


def _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, reduce) -> np.ndarray:
    """Broadcast the inputs and apply ``reduce(cells, p)`` once per distinct setting."""
    p, tp, tm, ra, rd = np.broadcast_arrays(
        _prob(p_lower, "p_lower"),
        _prob(theta_plus, "theta_plus"),
        _prob(theta_minus, "theta_minus"),
        _radius(r_add, "r_add"),
        _radius(r_del, "r_del"),
    )
    keys = np.stack([tp.ravel(), tm.ravel(), ra.ravel(), rd.ravel()], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    flat_p, out = p.ravel(), np.empty(p.size)
    for g, (g_tp, g_tm, g_ra, g_rd) in enumerate(uniq):
        sel = inverse == g
        out[sel] = reduce(_cells(g_tp, g_tm, int(g_ra), int(g_rd)), flat_p[sel])
    return out.reshape(p.shape)


def sparse_smooth_worst_mass(p_lower, theta_plus, theta_minus, r_add, r_del) -> np.ndarray:
    """Smallest ``Pr_x'[g = y]`` over classifiers with ``Pr_x[g = y] = p_lower`` (SPEC §4).

    x' differs from x by ``r_add`` additions and ``r_del`` deletions under
    S(x, theta_plus, theta_minus). The (i, j) cells are merged by likelihood ratio (exact
    ties: the ratio depends only on q = i + r_del - j) and filled in increasing
    ``Pr_x' / Pr_x`` order, which is increasing q iff ``theta_plus + theta_minus < 1``.
    Masses are carried in log space. All arguments broadcast.
    """
    return _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, lambda c, p: _fill(*c, p))


def sparse_smooth_certified(p_lower, theta_plus, theta_minus, r_add, r_del) -> np.ndarray:
    """Exact SparseSmooth certificate: worst-case mass strictly above 1/2 (SPEC §4).

    Evaluated as ``p_lower > p*`` with p* the x-mass at which the fill reaches 1/2, the same
    test :func:`sparse_smooth_region` uses. All arguments broadcast.
    """
    thr = _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, lambda c, p: _threshold(*c))
    return np.asarray(p_lower) > thr


def sparse_smooth_region(
    p_lower, theta_plus: float, theta_minus: float, max_add: int, max_del: int
) -> np.ndarray:
    """Certified region, bool (n_nodes, max_add + 1, max_del + 1) (SPEC §4).

    ``region[n, a, d]`` is True iff every budget ``(a', d') <= (a, d)`` is certified for node n
    (budgets mean "at most"); ``(0, 0)`` is certified iff ``p_lower > 1/2``. The cells of each
    (a, d) are built once, incrementally, and reduced to the threshold p* shared by all nodes.
    """
    p = _prob(p_lower, "p_lower")
    if p.ndim != 1:
        raise ValueError(f"p_lower must be one-dimensional (n_nodes,), got shape {p.shape}")
    tp, tm = float(_prob(theta_plus, "theta_plus")), float(_prob(theta_minus, "theta_minus"))
    max_add, max_del = int(_radius(max_add, "max_add")), int(_radius(max_del, "max_del"))
    (a1, a0), (d1, d0), (a1p, a0p), (d1p, d0p) = _bernoulli_logs(tp, tm)
    thr = np.empty((max_add + 1, max_del + 1))
    row_px = row_pxp = np.zeros(1)
    for a in range(max_add + 1):
        log_px, log_pxp = row_px, row_pxp
        for d in range(max_del + 1):
            thr[a, d] = _threshold(*_fill_order(log_px, log_pxp, tp + tm > 1.0))
            log_px, log_pxp = _log_add_bernoulli(log_px, d1, d0), _log_add_bernoulli(log_pxp, d1p, d0p)
        row_px, row_pxp = _log_add_bernoulli(row_px, a1, a0), _log_add_bernoulli(row_pxp, a1p, a0p)
    certified = p[:, None, None] > thr[None]
    return np.logical_and.accumulate(np.logical_and.accumulate(certified, axis=1), axis=2)


# ----------------------------------------------------------------------------- §4 continuous
def gaussian_l2_radius(p_lower) -> np.ndarray:
    """Anisotropic Gaussian certificate ``eta = Phi^{-1}(p_lower)^2`` (SPEC §4, ANCER form).

    Certified if ``sum_d (x'_d - x_d)^2 / sigma_d^2 < eta``; ``-inf`` (abstain) if p <= 1/2.
    """
    p = _prob(p_lower, "p_lower")
    return np.where(p > 0.5, ndtri(p) ** 2, -np.inf)


def gaussian_radius(p_lower, sigma) -> np.ndarray:
    """Isotropic Gaussian l2 radius ``sigma * Phi^{-1}(p_lower)``; ``-inf`` if p <= 1/2 (SPEC §4)."""
    p = _prob(p_lower, "p_lower")
    s = np.asarray(sigma, dtype=np.float64)
    if np.isnan(s).any() or np.any(s <= 0.0):
        raise ValueError("sigma must be positive")
    return np.where(p > 0.5, s * ndtri(p), -np.inf)


def uniform_l1_radius(p_lower) -> np.ndarray:
    """Anisotropic uniform l1 certificate ``eta = 2 p_lower - 1``; ``-inf`` if p <= 1/2 (SPEC §4).

    Certified if ``sum_d |x'_d - x_d| / lambda_d < eta``.
    """
    p = _prob(p_lower, "p_lower")
    return np.where(p > 0.5, 2.0 * p - 1.0, -np.inf)


# ----------------------------------------------------------------------------- container
@dataclass(frozen=True)
class BaseCertificate:
    """Per-output base certificates: prediction, radius (``-inf`` = abstain), output group."""

    predicted: np.ndarray
    eta: np.ndarray
    group: np.ndarray

    def __post_init__(self) -> None:
        predicted = np.asarray(self.predicted, dtype=np.int64)
        eta = np.asarray(self.eta, dtype=np.float64)
        group = np.asarray(self.group, dtype=np.int64)
        if not predicted.shape == eta.shape == group.shape or eta.ndim != 1:
            raise ValueError(
                f"predicted {predicted.shape}, eta {eta.shape}, group {group.shape} must be equal 1-D shapes"
            )
        if np.isnan(eta).any():
            raise ValueError("eta contains NaN (use -inf to abstain)")
        object.__setattr__(self, "predicted", predicted)
        object.__setattr__(self, "eta", eta)
        object.__setattr__(self, "group", group)

    @property
    def abstained(self) -> np.ndarray:
        """True where the output certifies nothing (``eta <= 0``, e.g. ``-inf``)."""
        return ~(self.eta > 0)
