"""Exact isotropic certificate for binary data: SparseSmooth (docs/theory.md §4, §8; Bojchevski et
al. 2020, Lee et al. 2019), for attributes alone or jointly with the graph structure.

Only the changed bits matter. Per family (attributes X, node pairs A) the cells are merged by
likelihood ratio into q = (#added bits that are 1 in z) + (#deleted bits that are 0 in z);
attributes and pairs are independent, so a joint cell (q_X, q_A) has the product masses and
the product ratio. Cells are filled in increasing ``Pr_x' / Pr_x`` order (Neyman-Pearson), in
log space.
"""
from __future__ import annotations

import numpy as np

from graphcert.certificates._neyman_pearson import (
    certification_threshold,
    log_add_bernoulli,
    worst_case_mass,
)
from graphcert.utils.validation import check_nonnegative_integers, check_probabilities

__all__ = ["sparse_smooth_certified", "sparse_smooth_joint_region", "sparse_smooth_region",
           "sparse_smooth_thresholds", "sparse_smooth_worst_mass"]

Cells = tuple[np.ndarray, np.ndarray]  # log masses under x and x'


def _bernoulli_logs(tp: float, tm: float) -> tuple[tuple[float, float], ...]:
    """(log P[success], log P[failure]) per changed bit, under x and x', added / deleted.

    A cell is q = (#added bits that are 1 in z) + (#deleted bits that are 0 in z); the
    likelihood ratio of the (i, j) cells of docs/theory.md §4 depends on (i, j) only through q.
    """
    with np.errstate(divide="ignore"):
        lg = np.log([tp, 1.0 - tp, tm, 1.0 - tm])
    l_tp, l_1tp, l_tm, l_1tm = lg
    return (l_tp, l_1tp), (l_tm, l_1tm), (l_1tm, l_tm), (l_1tp, l_tp)


def _family(tp: float, tm: float, n_add: int, n_del: int) -> Cells:
    """Merged q-cells of one family (tp, tm) for one budget, indexed by q (not sorted)."""
    add, delete = _steps(tp, tm)
    cells = (np.zeros(1), np.zeros(1))
    for step, count in ((add, n_add), (delete, n_del)):
        for _ in range(count):
            cells = step(cells)
    return cells


def _steps(tp: float, tm: float):
    """One more added bit, one more deleted bit: Bernoulli convolutions of the q-cells."""
    (a1, a0), (d1, d0), (a1p, a0p), (d1p, d0p) = _bernoulli_logs(tp, tm)

    def add(cells: Cells) -> Cells:
        return log_add_bernoulli(cells[0], a1, a0), log_add_bernoulli(cells[1], a1p, a0p)

    def delete(cells: Cells) -> Cells:
        return log_add_bernoulli(cells[0], d1, d0), log_add_bernoulli(cells[1], d1p, d0p)

    return add, delete


def _fill_order(cells: Cells, tp: float, tm: float) -> Cells:
    """q-cells in increasing ``Pr_x' / Pr_x`` order (increasing q iff tp + tm < 1). q's
    support under x is an interval, so cells impossible under x (ratio +inf) end up last,
    after every fill."""
    return (cells[0][::-1], cells[1][::-1]) if tp + tm > 1.0 else cells


class _CellTable:
    """The q-cells of one family for every budget up to (max_add, max_del), built
    incrementally: one Bernoulli convolution per budget."""

    def __init__(self, tp: float, tm: float, max_add: int, max_del: int):
        self.tp, self.tm = tp, tm
        add, delete = _steps(tp, tm)
        self.cells: list[list[Cells]] = []
        row = (np.zeros(1), np.zeros(1))
        for _ in range(max_add + 1):
            cells = [row]
            for _ in range(max_del):
                cells.append(delete(cells[-1]))
            self.cells.append(cells)
            row = add(row)

    def ordered(self, n_add: int, n_del: int) -> Cells:
        return _fill_order(self.cells[n_add][n_del], self.tp, self.tm)


def _joint(attributes: Cells, pairs: Cells) -> Cells:
    """Joint cells (q_X, q_A) of two independent families, in increasing ratio order.

    The masses multiply, so the log ratio of (q_X, q_A) is the sum of the families' log
    ratios. Cells impossible under both x and x' carry no mass and are dropped; ties (equal
    ratios) may be filled in any order.
    """
    log_px = np.add.outer(attributes[0], pairs[0]).ravel()
    log_pxp = np.add.outer(attributes[1], pairs[1]).ravel()
    possible = np.isfinite(log_px) | np.isfinite(log_pxp)
    log_px, log_pxp = log_px[possible], log_pxp[possible]
    with np.errstate(invalid="ignore"):
        ratio = np.where(np.isfinite(log_px), log_pxp - log_px, np.inf)
    order = np.argsort(ratio, kind="stable")
    return log_px[order], log_pxp[order]


def _ordered_cells(tp: float, tm: float, r_add: int, r_del: int, tp_adj: float,
                   tm_adj: float, s_add: int, s_del: int) -> Cells:
    """Cells of one joint budget in fill order; one family alone is exactly docs/theory.md §4."""
    attributes = _fill_order(_family(tp, tm, r_add, r_del), tp, tm)
    if s_add + s_del == 0:
        return attributes
    pairs = _fill_order(_family(tp_adj, tm_adj, s_add, s_del), tp_adj, tm_adj)
    return pairs if r_add + r_del == 0 else _joint(attributes, pairs)


def _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, theta_plus_adj,
                 theta_minus_adj, s_add, s_del, reduce) -> np.ndarray:
    """Broadcast the inputs and apply ``reduce(cells, p)`` once per distinct setting."""
    s_add = check_nonnegative_integers(s_add, "s_add")
    s_del = check_nonnegative_integers(s_del, "s_del")
    changes_pairs = bool(np.any(s_add > 0) or np.any(s_del > 0))
    for name, value in (("theta_plus_adj", theta_plus_adj), ("theta_minus_adj", theta_minus_adj)):
        if value is None and changes_pairs:
            raise ValueError(f"{name} is None, but s_add or s_del change node pairs: pass the "
                             "structure noise's probabilities")
    arrays = np.broadcast_arrays(
        check_probabilities(p_lower, "p_lower"),
        check_probabilities(theta_plus, "theta_plus"),
        check_probabilities(theta_minus, "theta_minus"),
        check_nonnegative_integers(r_add, "r_add"),
        check_nonnegative_integers(r_del, "r_del"),
        check_probabilities(0.0 if theta_plus_adj is None else theta_plus_adj, "theta_plus_adj"),
        check_probabilities(0.0 if theta_minus_adj is None else theta_minus_adj,
                            "theta_minus_adj"),
        s_add, s_del,
    )
    p = arrays[0]
    keys = np.stack([a.ravel().astype(np.float64) for a in arrays[1:]], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    flat_p, out = p.ravel(), np.empty(p.size)
    for g, (tp, tm, ra, rd, tpa, tma, sa, sd) in enumerate(uniq):
        sel = inverse == g
        cells = _ordered_cells(tp, tm, int(ra), int(rd), tpa, tma, int(sa), int(sd))
        out[sel] = reduce(cells, flat_p[sel])
    return out.reshape(p.shape)


def sparse_smooth_worst_mass(p_lower, theta_plus, theta_minus, r_add, r_del, *,
                             theta_plus_adj=None, theta_minus_adj=None, s_add=0,
                             s_del=0) -> np.ndarray:
    """Smallest ``Pr_x'[g = y]`` over classifiers with ``Pr_x[g = y] = p_lower``
    (docs/theory.md §4, §8).

    x' differs from x by ``r_add`` additions and ``r_del`` deletions of attribute bits under
    S(x, theta_plus, theta_minus) and by ``s_add`` added and ``s_del`` deleted edges under
    structure noise S(A, theta_plus_adj, theta_minus_adj) (one bit per node pair). Per family
    the (i, j) cells are merged by likelihood ratio (exact ties: the ratio depends only on
    q = i + r_del - j) and filled in increasing ``Pr_x' / Pr_x`` order, which for one family is
    increasing q iff ``theta_plus + theta_minus < 1``; joint cells (q_X, q_A) are sorted by
    their ratio. Masses are carried in log space. All arguments broadcast; the structure
    arguments default to no structure change.

    Args:
        p_lower (array_like): ``Pr_x[g = y]`` (a lower bound on it).
        theta_plus, theta_minus (array_like): attribute flip probabilities 0 -> 1 and 1 -> 0.
        r_add, r_del (array_like): added / deleted attribute bits.
        theta_plus_adj, theta_minus_adj (array_like, optional): edge add / delete probabilities.
        s_add, s_del (array_like): added / deleted edges (default 0).

    Returns:
        np.ndarray: float64 of the broadcast shape.
    """
    return _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, theta_plus_adj,
                        theta_minus_adj, s_add, s_del, lambda c, p: worst_case_mass(*c, p))


def sparse_smooth_certified(p_lower, theta_plus, theta_minus, r_add, r_del, *,
                            theta_plus_adj=None, theta_minus_adj=None, s_add=0,
                            s_del=0) -> np.ndarray:
    """Exact SparseSmooth certificate: worst-case mass strictly above 1/2 (docs/theory.md §4, §8).

    Evaluated as ``p_lower > p*`` with p* the x-mass at which the fill reaches 1/2, the same
    test the region functions use. Arguments as in :func:`sparse_smooth_worst_mass`; all
    broadcast.

    Args:
        p_lower (array_like): lower bounds on ``Pr_x[g = y]``.
        theta_plus, theta_minus (array_like): attribute flip probabilities 0 -> 1 and 1 -> 0.
        r_add, r_del (array_like): added / deleted attribute bits.
        theta_plus_adj, theta_minus_adj (array_like, optional): edge add / delete probabilities.
        s_add, s_del (array_like): added / deleted edges (default 0).

    Returns:
        np.ndarray: bool of the broadcast shape.
    """
    thr = _per_setting(p_lower, theta_plus, theta_minus, r_add, r_del, theta_plus_adj,
                       theta_minus_adj, s_add, s_del, lambda c, p: certification_threshold(*c))
    return np.asarray(p_lower) > thr


def sparse_smooth_thresholds(theta_plus: float, theta_minus: float, max_add: int, max_del: int,
                             *, theta_plus_adj: float | None = None,
                             theta_minus_adj: float | None = None, max_add_adj: int = 0,
                             max_del_adj: int = 0) -> np.ndarray:
    """Thresholds p*, shape (max_add + 1, max_del + 1, max_add_adj + 1, max_del_adj + 1):
    ``p_lower > p*[a, d, sa, sd]`` certifies every budget up to (a, d, sa, sd)
    (docs/theory.md §4, §8).

    p* is made non-decreasing along every axis (budgets mean "at most"), so one comparison per
    node gives its whole certified region. The cells of each family are built once,
    incrementally; a joint budget costs one sort of its (a + d + 1)(sa + sd + 1) cells.

    Args:
        theta_plus, theta_minus (float): attribute flip probabilities 0 -> 1 and 1 -> 0.
        max_add, max_del (int): largest attribute additions / deletions.
        theta_plus_adj, theta_minus_adj (float, optional): edge add / delete probabilities,
            needed when ``max_add_adj`` or ``max_del_adj`` > 0.
        max_add_adj, max_del_adj (int): largest edge additions / deletions (default 0).

    Returns:
        np.ndarray: float64 (max_add + 1, max_del + 1, max_add_adj + 1, max_del_adj + 1).
    """
    tp = float(check_probabilities(theta_plus, "theta_plus"))
    tm = float(check_probabilities(theta_minus, "theta_minus"))
    maxima = [int(check_nonnegative_integers(v, name)) for v, name in (
        (max_add, "max_add"), (max_del, "max_del"), (max_add_adj, "max_add_adj"),
        (max_del_adj, "max_del_adj"))]
    if maxima[2] + maxima[3] > 0 and (theta_plus_adj is None or theta_minus_adj is None):
        raise ValueError("max_add_adj / max_del_adj > 0 need theta_plus_adj and theta_minus_adj")
    attributes = _CellTable(tp, tm, maxima[0], maxima[1])
    pairs = None if maxima[2] + maxima[3] == 0 else _CellTable(
        float(check_probabilities(theta_plus_adj, "theta_plus_adj")),
        float(check_probabilities(theta_minus_adj, "theta_minus_adj")), maxima[2], maxima[3])
    thr = np.empty([m + 1 for m in maxima])
    for a, d, sa, sd in np.ndindex(*thr.shape):
        if sa + sd == 0:
            cells = attributes.ordered(a, d)
        elif a + d == 0:
            cells = pairs.ordered(sa, sd)
        else:
            cells = _joint(attributes.ordered(a, d), pairs.ordered(sa, sd))
        thr[a, d, sa, sd] = certification_threshold(*cells)
    for axis in range(4):
        np.maximum.accumulate(thr, axis=axis, out=thr)
    return thr


def sparse_smooth_region(p_lower, theta_plus: float, theta_minus: float, max_add: int,
                         max_del: int) -> np.ndarray:
    """Certified region, bool (n_nodes, max_add + 1, max_del + 1) (docs/theory.md §4).

    ``region[n, a, d]`` is True iff every budget ``(a', d') <= (a, d)`` is certified for node n
    (budgets mean "at most"); ``(0, 0)`` is certified iff ``p_lower > 1/2``. For edges alone
    pass the structure noise's probabilities (docs/theory.md §8: r = 0 is §4 with the pair thetas).

    Args:
        p_lower (array_like): lower bounds on ``Pr_x[g = y]``, shape (n_nodes,).
        theta_plus, theta_minus (float): flip probabilities 0 -> 1 and 1 -> 0.
        max_add, max_del (int): largest additions / deletions.

    Returns:
        np.ndarray: bool (n_nodes, max_add + 1, max_del + 1).
    """
    p = _node_probabilities(p_lower)
    return p[:, None, None] > sparse_smooth_thresholds(theta_plus, theta_minus, max_add,
                                                       max_del)[None, :, :, 0, 0]


def sparse_smooth_joint_region(p_lower, theta_plus: float, theta_minus: float,
                               theta_plus_adj: float, theta_minus_adj: float, max_add: int,
                               max_del: int, max_add_adj: int, max_del_adj: int) -> np.ndarray:
    """Joint certified region, bool (n_nodes, max_add + 1, max_del + 1, max_add_adj + 1,
    max_del_adj + 1) over attribute and edge budgets (docs/theory.md §8), downward closed as
    :func:`sparse_smooth_region`. Keep the maxima of the axes you do not need at 0: the work
    grows with the product of the four.

    Args:
        p_lower (array_like): lower bounds on ``Pr_x[g = y]``, shape (n_nodes,).
        theta_plus, theta_minus (float): attribute flip probabilities 0 -> 1 and 1 -> 0.
        theta_plus_adj, theta_minus_adj (float): edge add / delete probabilities.
        max_add, max_del (int): largest attribute additions / deletions.
        max_add_adj, max_del_adj (int): largest edge additions / deletions.

    Returns:
        np.ndarray: bool (n_nodes, max_add + 1, max_del + 1, max_add_adj + 1, max_del_adj + 1).
    """
    p = _node_probabilities(p_lower)
    thr = sparse_smooth_thresholds(theta_plus, theta_minus, max_add, max_del,
                                   theta_plus_adj=theta_plus_adj,
                                   theta_minus_adj=theta_minus_adj, max_add_adj=max_add_adj,
                                   max_del_adj=max_del_adj)
    return p[:, None, None, None, None] > thr[None]


def _node_probabilities(p_lower) -> np.ndarray:
    p = check_probabilities(p_lower, "p_lower")
    if p.ndim != 1:
        raise ValueError(f"p_lower must be one-dimensional (n_nodes,), got shape {p.shape}")
    return p
