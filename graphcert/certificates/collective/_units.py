"""The adversary's units and the largest weight it can put on one output group."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphcert.utils.validation import (
    check_budget,
    check_capacities,
    check_float_vector,
    check_local_budgets,
    check_weight_matrix,
)


@dataclass(frozen=True)
class Units:
    """Budget units: capacities, normalised local budgets and weight column."""

    cap_plus: np.ndarray
    cap_minus: np.ndarray
    local: np.ndarray  # inf or binding (< cap_plus + cap_minus)
    column: np.ndarray

    @property
    def binding(self) -> np.ndarray:
        return self.local < self.cap_plus + self.cap_minus

    def binds(self, budget_plus: float, budget_minus: float) -> bool:
        """Whether a local budget can bind: some ``local < min(a, E+) + min(d, E-)``."""
        reach = np.minimum(self.cap_plus, budget_plus) + np.minimum(self.cap_minus, budget_minus)
        return bool(np.any(self.local < reach))


def normalised_units(cap_plus, cap_minus, local, column, merge: bool) -> Units:
    """Polymatroid normal form per unit, optionally summed per column (exact, see module doc)."""
    a, d = np.minimum(cap_plus, local), np.minimum(cap_minus, local)
    r = np.minimum(local, a + d)
    if merge:
        n_cols = int(column.max()) + 1 if column.size else 0
        a, d, r = (np.bincount(column, weights=v, minlength=n_cols) for v in (a, d, r))
        column = np.arange(n_cols)
    used = a + d > 0
    a, d, r, column = a[used], d[used], r[used], column[used]
    return Units(a, d, np.where(r < a + d, r, np.inf), column)


def greedy_max(w: np.ndarray, cap: np.ndarray, budget: float) -> np.ndarray:
    """Row-wise max of ``w . b`` over integer ``0 <= b <= cap, sum b <= budget`` (highest first)."""
    order = np.argsort(-w, axis=1, kind="stable")
    ws, cs = np.take_along_axis(w, order, axis=1), cap[order]
    take = np.clip(budget - (np.cumsum(cs, axis=1) - cs), 0, cs)
    return np.where(take > 0, ws * take, 0.0).sum(axis=1)


def _best(mask: np.ndarray, values: np.ndarray) -> tuple[float, int]:
    if not mask.any():
        return -np.inf, -1
    idx = int(np.argmax(np.where(mask, values, -np.inf)))
    return float(values[idx]), idx


def _coupled_max(wp, wm, a, d, r, budget_plus: float, budget_minus: float) -> float:
    """Exact max with local budgets: max-profit flow by successive longest augmenting paths.

    Network ``s -> {X+, X-} -> unit -> t`` (capacities E+, E-; a_u, d_u; r_u).  Residual
    s-t paths pass through at most two units: ``X+ -> u -> t``, ``X- -> u -> t`` and the
    swaps ``X+ -> u -> X- -> v -> t`` / ``X- -> u -> X+ -> v -> t``.  Augmenting along a longest
    path keeps the flow optimal for its value; stop once no path has positive profit.
    """
    p, m = np.zeros_like(a), np.zeros_like(d)
    budget_plus, budget_minus = min(budget_plus, a.sum()), min(budget_minus, d.sum())
    while True:
        rest_p, rest_m, slack = budget_plus - p.sum(), budget_minus - m.sum(), r - p - m
        gain_p, i_p = _best((p < a) & (slack > 0), wp)
        gain_m, i_m = _best((m < d) & (slack > 0), wm)
        swap_pm, j_pm = _best((p < a) & (m > 0), wp - wm)
        swap_mp, j_mp = _best((m < d) & (p > 0), wm - wp)
        paths = [
            (gain_p if rest_p > 0 else -np.inf, 0),
            (gain_m if rest_m > 0 else -np.inf, 1),
            (swap_pm + gain_m if rest_p > 0 else -np.inf, 2),
            (swap_mp + gain_p if rest_m > 0 else -np.inf, 3),
        ]
        profit, kind = max(paths)
        if not profit > 0:
            break
        if kind == 0:
            step = min(rest_p, a[i_p] - p[i_p], slack[i_p])
            p[i_p] += step
        elif kind == 1:
            step = min(rest_m, d[i_m] - m[i_m], slack[i_m])
            m[i_m] += step
        elif kind == 2:
            step = min(rest_p, a[j_pm] - p[j_pm], m[j_pm], d[i_m] - m[i_m], slack[i_m])
            p[j_pm] += step
            m[j_pm] -= step
            m[i_m] += step
        else:
            step = min(rest_m, d[j_mp] - m[j_mp], p[j_mp], a[i_p] - p[i_p], slack[i_p])
            m[j_mp] += step
            p[j_mp] -= step
            p[i_p] += step
    return float(wp @ p + wm @ m)


def max_weights(wp: np.ndarray, wm: np.ndarray, units: Units, budget_plus: float,
                 budget_minus: float) -> np.ndarray:
    """Exact worst-case weight per row of ``wp``/``wm`` (columns = units), inf allowed."""
    a, d, r = units.cap_plus, units.cap_minus, units.local
    if not units.binds(budget_plus, budget_minus):
        return greedy_max(wp, a, budget_plus) + greedy_max(wm, d, budget_minus)
    out = np.empty(wp.shape[0])
    for k in range(wp.shape[0]):
        inf_p, inf_m = np.isinf(wp[k]), np.isinf(wm[k])
        if (budget_plus >= 1 and (inf_p & (a > 0)).any()) or (
                budget_minus >= 1 and (inf_m & (d > 0)).any()):
            out[k] = np.inf  # one affordable bit of infinite weight
            continue
        # remaining infinite weights sit on unusable (capacity or budget 0) bits
        out[k] = _coupled_max(np.where(inf_p, 0.0, wp[k]), np.where(inf_m, 0.0, wm[k]),
                              a, d, r, budget_plus, budget_minus)
    return out


def max_adversarial_weight(w_plus, w_minus, cap_plus, cap_minus, budget_plus, budget_minus,
                           local_budget=None) -> float:
    """Exact max of ``w_plus . b_plus + w_minus . b_minus`` over admissible integer b
    (docs/theory.md §5).

    One weight per unit; ``local_budget`` (scalar or per unit) bounds ``b_plus + b_minus``.
    Returns ``inf`` if a bit of infinite weight is affordable.

    Args:
        w_plus (array_like): weight per added bit, (n_units,).
        w_minus (array_like): weight per deleted bit, (n_units,).
        cap_plus (array_like): bits each unit can add, (n_units,).
        cap_minus (array_like): bits each unit can delete, (n_units,).
        budget_plus (float): bits added in all (floored).
        budget_minus (float): bits deleted in all (floored).
        local_budget (float or array_like, optional): bound on ``b_plus[u] + b_minus[u]``.

    Returns:
        float: the maximum (``inf`` if an infinite weight is affordable).
    """
    cap_p, cap_m = check_capacities(cap_plus, "cap_plus"), check_capacities(cap_minus, "cap_minus")
    n = cap_p.size
    if cap_m.size != n:
        raise ValueError("cap_plus and cap_minus must have the same length")
    wp = check_weight_matrix(np.atleast_2d(check_float_vector(w_plus, "w_plus", n)), "w_plus")
    wm = check_weight_matrix(np.atleast_2d(check_float_vector(w_minus, "w_minus", n)), "w_minus")
    local = check_local_budgets(local_budget, n)
    units = normalised_units(cap_p, cap_m, local, np.arange(n), False)
    eps_p = np.floor(check_budget(budget_plus, "budget_plus"))
    eps_m = np.floor(check_budget(budget_minus, "budget_minus"))
    cols = units.column
    return float(max_weights(wp[:, cols], wm[:, cols], units, eps_p, eps_m)[0])
