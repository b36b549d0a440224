"""Exact isotropic certificate for binary data: SparseSmooth (SPEC §4; Bojchevski et al.
2020, Lee et al. 2019).

Only the changed bits matter; their cells are merged by likelihood ratio and filled in
increasing ``Pr_x' / Pr_x`` order (Neyman-Pearson), in log space.
"""
from __future__ import annotations

import numpy as np

from graphcert.certificates._neyman_pearson import (
    certification_threshold,
    log_add_bernoulli,
    worst_case_mass,
)
from graphcert.utils.validation import check_nonnegative_integers, check_probabilities


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


def _cells(tp: float, tm: float, r_add: int, r_del: int) -> tuple[np.ndarray, np.ndarray]:
    """Log masses of the merged cells under x and x', in fill order."""
    (a1, a0), (d1, d0), (a1p, a0p), (d1p, d0p) = _bernoulli_logs(tp, tm)
    log_px = log_pxp = np.zeros(1)
    for _ in range(r_add):
        log_px, log_pxp = log_add_bernoulli(log_px, a1, a0), log_add_bernoulli(log_pxp, a1p, a0p)
    for _ in range(r_del):
        log_px, log_pxp = log_add_bernoulli(log_px, d1, d0), log_add_bernoulli(log_pxp, d1p, d0p)
    return _fill_order(log_px, log_pxp, tp + tm > 1.0)


def _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, reduce) -> np.ndarray:
    """Broadcast the inputs and apply ``reduce(cells, p)`` once per distinct setting."""
    p, tp, tm, ra, rd = np.broadcast_arrays(
        check_probabilities(p_lower, "p_lower"),
        check_probabilities(theta_plus, "theta_plus"),
        check_probabilities(theta_minus, "theta_minus"),
        check_nonnegative_integers(r_add, "r_add"),
        check_nonnegative_integers(r_del, "r_del"),
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
    return _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, lambda c, p: worst_case_mass(*c, p))


def sparse_smooth_certified(p_lower, theta_plus, theta_minus, r_add, r_del) -> np.ndarray:
    """Exact SparseSmooth certificate: worst-case mass strictly above 1/2 (SPEC §4).

    Evaluated as ``p_lower > p*`` with p* the x-mass at which the fill reaches 1/2, the same
    test :func:`sparse_smooth_region` uses. All arguments broadcast.
    """
    thr = _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, lambda c, p: certification_threshold(*c))
    return np.asarray(p_lower) > thr


def sparse_smooth_region(
    p_lower, theta_plus: float, theta_minus: float, max_add: int, max_del: int
) -> np.ndarray:
    """Certified region, bool (n_nodes, max_add + 1, max_del + 1) (SPEC §4).

    ``region[n, a, d]`` is True iff every budget ``(a', d') <= (a, d)`` is certified for node n
    (budgets mean "at most"); ``(0, 0)`` is certified iff ``p_lower > 1/2``. The cells of each
    (a, d) are built once, incrementally, and reduced to the threshold p* shared by all nodes.
    """
    p = check_probabilities(p_lower, "p_lower")
    if p.ndim != 1:
        raise ValueError(f"p_lower must be one-dimensional (n_nodes,), got shape {p.shape}")
    tp, tm = float(check_probabilities(theta_plus, "theta_plus")), float(check_probabilities(theta_minus, "theta_minus"))
    max_add, max_del = int(check_nonnegative_integers(max_add, "max_add")), int(check_nonnegative_integers(max_del, "max_del"))
    (a1, a0), (d1, d0), (a1p, a0p), (d1p, d0p) = _bernoulli_logs(tp, tm)
    thr = np.empty((max_add + 1, max_del + 1))
    row_px = row_pxp = np.zeros(1)
    for a in range(max_add + 1):
        log_px, log_pxp = row_px, row_pxp
        for d in range(max_del + 1):
            thr[a, d] = certification_threshold(*_fill_order(log_px, log_pxp, tp + tm > 1.0))
            log_px, log_pxp = log_add_bernoulli(log_px, d1, d0), log_add_bernoulli(log_pxp, d1p, d0p)
        row_px, row_pxp = log_add_bernoulli(row_px, a1, a0), log_add_bernoulli(row_pxp, a1p, a0p)
    certified = p[:, None, None] > thr[None]
    return np.logical_and.accumulate(np.logical_and.accumulate(certified, axis=1), axis=2)
