"""Collective robustness certificates (SPEC §5; LRS Thm 4.2, App. E, §F.3.2).

Binary data: the adversary adds ``b_plus[u]`` and deletes ``b_minus[u]`` bits of unit ``u``
(integers within the unit's capacities, global budgets and optional local budgets) and breaks
output ``n`` iff ``W_plus[k(n)] . b_plus + W_minus[k(n)] . b_minus >= eta_n``.  The certificate is
the minimum over all admissible allocations of the number of targeted outputs left unbroken,
computed exactly (by enumerating the adversary's allocations when they are few, else as a
MILP solved by HiGHS) or bounded from below by the LP relaxation.  Continuous (l2) units:
``CollectiveCertifierL2``.

Exact simplifications used throughout (each covered by brute-force tests):

* outputs sharing ``(group, eta)`` share one indicator; within a group the indicators are
  monotone in eta and enter one incremental constraint per group (see
  ``_CountingProgram``);
* a weight ``>= max eta of its group`` (including ``inf``) is clipped to that maximum: one such
  bit breaks every output of the group either way;
* units of one weight column are merged into one unit. Unit ``u`` admits the integer points of
  ``{p <= a_u, m <= d_u, p + m <= r_u}``, a polymatroid after normalising
  ``a = min(a, r), d = min(d, r), r = min(r, a + d)``; the integer points of a sum of integral
  polymatroids are the sums of their integer points, so the merged unit
  ``(sum a, sum d, sum r)`` is exact, with or without local budgets;
* outputs that their group's worst single allocation cannot break are certified for sure.

Soundness against solver tolerances: the MILP count is the ceiling of HiGHS' dual bound (not
of its incumbent) and the LP relaxation's count the ceiling of a weak-duality (Lagrangian)
bound evaluated from HiGHS' multipliers, valid whatever their accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from graphcert.certificates._base import BaseCertificate
from graphcert.certificates._pair_units import PairUnits

__all__ = [
    "l2_certified_counts",
    "CollectiveCertifier",
    "CollectiveCertifierL2",
    "PairUnits",
    "collective_certificate",
    "collective_certificate_l2",
    "max_adversarial_weight",
    "naive_certificate",
    "naive_certificate_l2",
    "quantize_eta",
]

_MIP_TOL = 1e-6


# ----------------------------------------------------------------------------- validation
def _vector(x, name: str, length: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {length}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def _index_vector(x, name: str, length: int, upper: int) -> np.ndarray:
    arr = _vector(x, name, length)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must contain integers")
    if arr.size and (arr.min() < 0 or arr.max() >= upper):
        raise ValueError(f"{name} must lie in [0, {upper})")
    return arr.astype(np.int64)


def _capacity(x, name: str) -> np.ndarray:
    arr = _vector(x, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must contain finite integers")
    return arr


def _weights(x, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_groups, n_unit_groups), got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    return arr


def _budget(x, name: str) -> float:
    if np.ndim(x) != 0:
        raise ValueError(f"{name} must be a scalar")
    value = float(x)
    if math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {x}")
    return value


def _local_budget(x, n_units: int) -> np.ndarray:
    if x is None:
        return np.full(n_units, np.inf)
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_units, float(arr))
    arr = _vector(arr, "local_budget", n_units)
    if np.any(arr < 0):
        raise ValueError("local_budget must be non-negative")
    return np.floor(arr)


def _target_mask(targets, n_out: int) -> np.ndarray:
    if targets is None:
        return np.ones(n_out, dtype=bool)
    arr = np.asarray(targets)
    if arr.dtype == bool:
        if arr.shape != (n_out,):
            raise ValueError(f"boolean targets must have shape ({n_out},), got {arr.shape}")
        return arr.copy()
    mask = np.zeros(n_out, dtype=bool)
    mask[_index_vector(arr.ravel(), "targets", arr.size, n_out)] = True
    return mask


# ----------------------------------------------------------------------------- outputs
def quantize_eta(eta, out_group, n_bins: int) -> np.ndarray:
    """Round positive radii DOWN to ``n_bins`` values per group (SPEC §5, LRS §E.2).

    The values are ``n_bins`` evenly spaced edges from the group's smallest to its largest
    radius (both kept exactly); each radius maps to the largest edge ``<= eta``. Starting at
    the smallest radius rather than 0 means no certifiable output is lost to a zero bin.
    """
    eta = _vector(eta, "eta")
    group = np.asarray(out_group)
    if group.shape != eta.shape:
        raise ValueError("out_group must have the same shape as eta")
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    if np.any(eta <= 0) or not np.all(np.isfinite(eta)):
        raise ValueError("quantize_eta needs positive finite radii")
    out = np.empty_like(eta)
    for k in np.unique(group):
        sel = group == k
        edges = np.linspace(eta[sel].min(), eta[sel].max(), int(n_bins))  # exact end points
        out[sel] = edges[np.searchsorted(edges, eta[sel], side="right") - 1]
    return out


@dataclass(frozen=True)
class _Pairs:
    """Distinct (group, eta) pairs of the targeted, non-abstaining outputs, sorted."""

    group: np.ndarray  # index into ``groups``
    eta: np.ndarray
    count: np.ndarray
    groups: np.ndarray  # original group ids that occur

    @property
    def total(self) -> int:
        return int(self.count.sum())

    def monotone_links(self) -> tuple[np.ndarray, np.ndarray]:
        """Index pairs (lo, hi) of consecutive etas within a group (eta[lo] < eta[hi])."""
        same = self.group[1:] == self.group[:-1]
        lo = np.flatnonzero(same)
        return lo, lo + 1


def _pairs(eta: np.ndarray, out_group: np.ndarray, targets, n_bins: int | None,
           infinite: np.ndarray | None = None) -> _Pairs:
    """The (group, eta) pairs of the targeted outputs with eta > 0. Only finite radii are
    quantized; an infinite radius becomes ``infinite[group]`` if given (a radius no finite
    weighted change reaches), else stays +inf."""
    keep = _target_mask(targets, eta.size) & (eta > 0)
    eta, group = eta[keep].copy(), out_group[keep]
    finite = np.isfinite(eta)
    if n_bins is not None and finite.any():
        eta[finite] = quantize_eta(eta[finite], group[finite], n_bins)
    if infinite is not None:
        eta[~finite] = infinite[group[~finite]]
    groups, group_idx = np.unique(group, return_inverse=True)
    keys = np.stack([group_idx.astype(float), eta], axis=1).reshape(-1, 2)
    uniq, count = np.unique(keys, axis=0, return_counts=True)
    return _Pairs(uniq[:, 0].astype(np.int64), uniq[:, 1], count, groups)


def _beyond_finite_change(blocks: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Per output group, a radius above any finite weighted change: ``1 + 2 sum`` of the
    finite weights times the capacities over all ``(weights (groups, units), capacity)``
    blocks. An infinite radius replaced by it is broken exactly when an infinite weight is
    used (inf < inf is false), as SPEC §5's "change < eta" says, and the programs stay finite."""
    total = sum(np.where(np.isfinite(w), w, 0.0) @ cap for w, cap in blocks)
    return 1.0 + 2.0 * total


# ----------------------------------------------------------------------------- units
@dataclass(frozen=True)
class _Units:
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


def _normalised_units(cap_plus, cap_minus, local, column, merge: bool) -> _Units:
    """Polymatroid normal form per unit, optionally summed per column (exact, see module doc)."""
    a, d = np.minimum(cap_plus, local), np.minimum(cap_minus, local)
    r = np.minimum(local, a + d)
    if merge:
        n_cols = int(column.max()) + 1 if column.size else 0
        a, d, r = (np.bincount(column, weights=v, minlength=n_cols) for v in (a, d, r))
        column = np.arange(n_cols)
    used = a + d > 0
    a, d, r, column = a[used], d[used], r[used], column[used]
    return _Units(a, d, np.where(r < a + d, r, np.inf), column)


def _greedy_max(w: np.ndarray, cap: np.ndarray, budget: float) -> np.ndarray:
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


def _max_weights(wp: np.ndarray, wm: np.ndarray, units: _Units, budget_plus: float,
                 budget_minus: float) -> np.ndarray:
    """Exact worst-case weight per row of ``wp``/``wm`` (columns = units), inf allowed."""
    a, d, r = units.cap_plus, units.cap_minus, units.local
    if not units.binds(budget_plus, budget_minus):
        return _greedy_max(wp, a, budget_plus) + _greedy_max(wm, d, budget_minus)
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
    """Exact max of ``w_plus . b_plus + w_minus . b_minus`` over admissible integer b (SPEC §5).

    One weight per unit; ``local_budget`` (scalar or per unit) bounds ``b_plus + b_minus``.
    Returns ``inf`` if a bit of infinite weight is affordable.
    """
    cap_p, cap_m = _capacity(cap_plus, "cap_plus"), _capacity(cap_minus, "cap_minus")
    n = cap_p.size
    if cap_m.size != n:
        raise ValueError("cap_plus and cap_minus must have the same length")
    wp = _weights(np.atleast_2d(_vector(w_plus, "w_plus", n)), "w_plus")
    wm = _weights(np.atleast_2d(_vector(w_minus, "w_minus", n)), "w_minus")
    units = _normalised_units(cap_p, cap_m, _local_budget(local_budget, n), np.arange(n), False)
    eps_p = np.floor(_budget(budget_plus, "budget_plus"))
    eps_m = np.floor(_budget(budget_minus, "budget_minus"))
    cols = units.column
    return float(_max_weights(wp[:, cols], wm[:, cols], units, eps_p, eps_m)[0])


# ----------------------------------------------------------------------------- enumeration
def _count_bound(cap: np.ndarray, total: float, exact: bool) -> int:
    """Upper bound on #{0 <= x <= cap integer: sum x == total (exact) or <= total}."""
    n, total = cap.size, int(total)
    if n == 0:
        return 1
    box = math.prod(int(c) + 1 for c in cap)
    return min(box, math.comb(total + n - (1 if exact else 0), n - (1 if exact else 0)))


def _bounded_vectors(cap: np.ndarray, total: float, exact: bool) -> np.ndarray:
    """All integer ``0 <= x <= cap`` with ``sum x == total`` (exact) or ``<= total``."""
    vecs, sums = np.zeros((1, 0)), np.zeros(1)
    for c, cap_c in enumerate(cap):
        if exact and c == cap.size - 1:
            last = total - sums
            ok = last <= cap_c
            vecs, sums = np.column_stack([vecs[ok], last[ok]]), sums[ok] + last[ok]
            continue
        reps = (np.minimum(cap_c, total - sums) + 1).astype(np.int64)
        src = np.repeat(np.arange(sums.size), reps)
        x = np.arange(src.size) - np.repeat(np.cumsum(reps) - reps, reps)
        vecs, sums = np.column_stack([vecs[src], x]), sums[src] + x
    return vecs


class _Enumerator:
    """Exact collective optimum by enumerating the adversary's maximal integer allocations.

    Weights are non-negative, so some optimal allocation cannot be increased: unless a local
    budget can bind, it spends ``min(eps, capacity)`` bits on each side. Worth it on merged
    units (few columns), where a MILP with one indicator per distinct radius is slow to prove
    optimal (tens of seconds per budget at CiteSeer scale).
    """

    def __init__(self, pairs: _Pairs, units: _Units, w_plus: np.ndarray, w_minus: np.ndarray,
                 structure: tuple | None = None, chunk: int = 1 << 18):
        self.units, self.chunk = units, chunk
        self.w_plus, self.w_minus = w_plus[:, units.column], w_minus[:, units.column]
        self.structure = structure  # (PairUnits, w_plus, w_minus) of the pair units, or None
        starts = np.searchsorted(pairs.group, np.arange(pairs.groups.size))
        ends = np.r_[starts[1:], pairs.group.size]
        self.etas = [pairs.eta[a:b] for a, b in zip(starts, ends)]
        self.broken = [np.r_[0, np.cumsum(pairs.count[a:b])] for a, b in zip(starts, ends)]
        self.total = pairs.total

    def candidates(self, eps_plus: float, eps_minus: float, eps_plus_adj: float = 0.0,
                   eps_minus_adj: float = 0.0) -> int:
        """Upper bound on the number of allocations ``certify`` would try."""
        u, exact = self.units, not self.units.binds(eps_plus, eps_minus)
        count = _count_bound(u.cap_plus, eps_plus, exact) * _count_bound(u.cap_minus, eps_minus, exact)
        if self.structure is not None:
            units = self.structure[0]
            count *= (_count_bound(units.cap_plus, eps_plus_adj, True)
                      * _count_bound(units.cap_minus, eps_minus_adj, True))
        return count

    def _pair_reach(self, eps_plus: float, eps_minus: float) -> np.ndarray:
        """Distinct weight vectors (n, groups) of the maximal pair allocations (no local
        budgets: each side spends min(budget, capacity))."""
        if self.structure is None:
            return np.zeros((1, self.w_plus.shape[0]))
        units, w_plus, w_minus = self.structure
        z_plus = _bounded_vectors(units.cap_plus, eps_plus, True) @ w_plus.T
        z_minus = _bounded_vectors(units.cap_minus, eps_minus, True) @ w_minus.T
        return np.unique((z_plus[:, None] + z_minus[None]).reshape(-1, w_plus.shape[0]), axis=0)

    def certify(self, eps_plus: float, eps_minus: float, eps_plus_adj: float = 0.0,
                eps_minus_adj: float = 0.0) -> int:
        u, exact = self.units, not self.units.binds(eps_plus, eps_minus)
        plus = _bounded_vectors(u.cap_plus, eps_plus, exact)
        minus = _bounded_vectors(u.cap_minus, eps_minus, exact)
        z_plus, z_minus = plus @ self.w_plus.T, minus @ self.w_minus.T
        z_pairs = self._pair_reach(eps_plus_adj, eps_minus_adj)
        step = max(1, self.chunk // max(1, minus.shape[0] * z_pairs.shape[0]))
        most = 0
        for lo in range(0, plus.shape[0], step):
            z = z_plus[lo:lo + step, None, None, :] + z_minus[None, :, None] + z_pairs[None, None]
            broken = sum(cum[np.searchsorted(eta, z[..., k], side="right")]
                         for k, (eta, cum) in enumerate(zip(self.etas, self.broken)))
            if not exact:
                local = plus[lo:lo + step, None, :] + minus[None] <= u.local
                broken = np.where(local.all(axis=-1)[..., None], broken, 0)
            most = max(most, int(broken.max()))
        return self.total - most


# ----------------------------------------------------------------------------- MILP helpers
@cache
def silence_solver_banner() -> None:
    """HiGHS prints its banner once per process, on the first call of an instance that logs
    (cvxpy's HiGHS interface makes such a call before it passes its options). Make that first
    call once, on a bare solver with console logging off, so that no solve prints it. The bare
    solver class is highspy's compiled core: the public `highspy.Highs` already logs in its
    constructor."""
    try:
        from highspy._core import _Highs
    except ImportError:  # another highspy layout: the banner may show, nothing breaks
        return
    solver = _Highs()
    solver.setOptionValue("log_to_console", False)
    solver.run()


class _CountingProgram:
    """``min counts . T`` over indicators T of the (group, eta) pairs (1 = still certified).

    The adversary has blocks of variables ``0 <= b_i (<= upper_i)`` reaching ``z = sum_i M_i b_i``
    per group, subject to rows ``sum_i A_i b_i <= rhs`` (budgets; rhs may be a Parameter; a
    row lists one A_i per leading block, None where a block is not involved).
    Incremental form: T is non-decreasing in eta within a group (some optimal solution always
    is: the broken pairs are those with eta <= z_k) and ``z_k >= sum_j delta_j (1 - T_j)`` with
    ``delta_j = eta_j - eta_{j-1}`` telescopes to the largest broken eta. The per-pair form
    ``z_k >= eta_j (1 - T_j)`` has the same integer points but a far weaker LP relaxation
    (every feasible T here is feasible there), which makes branch-and-bound crawl.
    ``T >= sure`` fixes pairs no allocation can break. The problem is DPP: built once.
    """

    def __init__(self, pairs: _Pairs, relax: bool, blocks: list, rows: list):
        n, self.relax, self.count = pairs.eta.size, relax, pairs.count.astype(float)
        self.t = cp.Variable(n, bounds=[0, 1]) if relax else cp.Variable(n, boolean=True)
        self.sure = cp.Parameter(n, nonneg=True)
        self.weights = [weights for weights, _, _ in blocks]
        self.b = [cp.Variable(w.shape[1], integer=integer and not relax, bounds=[0, upper])
                  if upper is not None else cp.Variable(w.shape[1], nonneg=True)
                  for w, upper, integer in blocks]
        self.lo, self.hi = pairs.monotone_links()
        delta = pairs.eta.copy()
        delta[self.hi] -= pairs.eta[self.lo]
        self.steps = sp.csr_matrix((delta, (pairs.group, np.arange(n))),
                                   shape=(pairs.groups.size, n))
        self.top = np.asarray(self.steps.sum(axis=1)).ravel()
        z = sum(w @ b for w, b in zip(self.weights, self.b))
        self.rows = [(mats, rhs, sum(a @ b for a, b in zip(mats, self.b) if a is not None) <= rhs)
                     for mats, rhs in rows]
        self.reach = z + self.steps @ self.t >= self.top
        cons = [row for _, _, row in self.rows] + [self.reach, self.t >= self.sure]
        self.chain = self.t[self.lo] <= self.t[self.hi] if self.lo.size else None
        if self.chain is not None:
            cons.append(self.chain)
        self.problem = cp.Problem(cp.Minimize(self.count @ self.t), cons)

    def solve(self, sure: np.ndarray, box: list[np.ndarray]) -> int:
        """Sound integer lower bound on the optimum; ``box`` bounds each block (for the LP)."""
        self.sure.value = sure.astype(float)
        silence_solver_banner()
        self.problem.solve(solver=cp.HIGHS, mip_rel_gap=0.0)
        if self.problem.status != cp.OPTIMAL:
            raise RuntimeError(f"HiGHS did not solve the certificate problem: "
                               f"{self.problem.status}")
        if self.relax:
            bound, slack = self._lagrangian_bound(sure, box)
        else:  # the incumbent is an upper bound; the dual bound is the sound one
            info = self.problem.solver_stats.extra_stats
            offset = float(self.problem.value) - float(info.objective_function_value)
            bound = float(info.mip_dual_bound) + offset
            slack = _MIP_TOL * max(1.0, abs(bound))
        return math.ceil(bound - slack)

    def _lagrangian_bound(self, sure: np.ndarray, box: list[np.ndarray]) -> tuple[float, float]:
        """Weak-duality bound from HiGHS' duals, valid whatever their accuracy.

        For any multipliers y >= 0 of the rows, the reach and chain constraints, the minimum of
        the Lagrangian over the box ``sure <= T <= 1``, ``0 <= b_i <= box_i`` is <= the LP
        optimum, so the solver's tolerances cannot inflate it. Returns (bound, rounding slack).
        """
        y_reach = np.maximum(np.ravel(self.reach.dual_value), 0.0)
        g_t = self.count - self.steps.T @ y_reach
        if self.chain is not None:
            y_chain = np.maximum(np.ravel(self.chain.dual_value), 0.0)
            np.add.at(g_t, self.lo, y_chain)
            np.subtract.at(g_t, self.hi, y_chain)
        terms = [y_reach * self.top, np.minimum(g_t * sure, g_t)]
        g_b = [-w.T @ y_reach for w in self.weights]
        for mats, rhs, row in self.rows:
            y_row = np.maximum(np.ravel(row.dual_value), 0.0)
            terms.append(-y_row * np.ravel(rhs.value if isinstance(rhs, cp.Parameter) else rhs))
            for i, a in enumerate(mats):
                if a is not None:
                    g_b[i] = g_b[i] + a.T @ y_row
        terms += [np.minimum(g * upper, 0.0) for g, upper in zip(g_b, box)]
        total = sum(float(term.sum()) for term in terms)
        magnitude = sum(float(np.abs(term).sum()) for term in terms)
        return total, 1e-9 * (1.0 + magnitude)


def _monotone_sweep(certify, *budgets) -> np.ndarray:
    """Certify along componentwise non-decreasing budgets, stopping once the count hits 0."""
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(b, dtype=float)) for b in budgets))
    if arrays[0].ndim != 1:
        raise ValueError("budgets must be scalars or 1-D sequences")
    for arr in arrays:
        if np.isnan(arr).any() or np.any(np.diff(arr) < 0):
            raise ValueError("sweep budgets must be non-decreasing (early stopping needs "
                             "monotone budgets); call certify() for arbitrary budgets")
    counts = np.zeros(arrays[0].size, dtype=np.int64)
    for i, values in enumerate(zip(*arrays)):
        counts[i] = certify(*values)
        if counts[i] == 0:  # monotone: every larger budget certifies nothing either
            break
    return counts


# ----------------------------------------------------------------------------- binary data
class _LazyProgram:
    """The `_CountingProgram` of a certifier, built by `_build` on first use (the certifiers
    that never need a solver never build one). `_empty` says why there is nothing to build."""

    pairs: _Pairs
    _empty: str
    _problem: _CountingProgram | None = None

    @property
    def problem(self) -> cp.Problem:
        """The DPP cvxpy problem (built on first use)."""
        return self._program().problem

    def _program(self) -> _CountingProgram:
        if self._problem is None:
            if not self.pairs.total:
                raise ValueError(self._empty)
            self._problem = self._build()
        return self._problem

    def _build(self) -> _CountingProgram:
        raise NotImplementedError


class CollectiveCertifier(_LazyProgram):
    """Collective certificate for bit additions/deletions (SPEC §5), built once per instance.

    The exact optimum comes from enumerating the adversary's maximal allocations over merged
    units when there are at most ``max_enumeration`` of them, else from the MILP.  The cvxpy
    problem is built once (lazily) and is DPP with the budgets as parameters, so ``certify``
    and ``sweep`` re-solve without recompiling.  ``merge_units=False`` keeps one budget unit
    per input unit in the MILP (the native form); merging is exact either way.  ``structure``
    adds the node pairs as units (SPEC §8) with their own two budgets (``budget_plus_adj``,
    ``budget_minus_adj`` of ``certify``): one program, four budget constraints.  See
    ``collective_certificate`` for the arguments.
    """

    _empty = "no targeted output is certifiable: there is no problem to build"

    def __init__(self, eta, out_group, w_plus, w_minus, cap_plus, cap_minus, *,
                 unit_group=None, local_budget=None, targets=None, relax: bool = False,
                 n_bins: int | None = None, merge_units: bool = True,
                 max_enumeration: int = 10**7, structure: PairUnits | None = None):
        eta = _vector(eta, "eta")
        w_plus = _weights(w_plus, "w_plus")
        w_minus = _weights(w_minus, "w_minus", w_plus.shape)
        n_groups, n_cols = w_plus.shape
        out_group = _index_vector(out_group, "out_group", eta.size, n_groups)
        cap_p = _capacity(cap_plus, "cap_plus")
        cap_m = _capacity(cap_minus, "cap_minus")
        if cap_m.size != cap_p.size:
            raise ValueError("cap_plus and cap_minus must have the same length")
        if unit_group is None:
            if cap_p.size != n_cols:
                raise ValueError(f"without unit_group there must be one unit per weight column "
                                 f"({n_cols}), got {cap_p.size}")
            column = np.arange(n_cols)
        else:
            column = _index_vector(unit_group, "unit_group", cap_p.size, n_cols)
        local = _local_budget(local_budget, cap_p.size)
        self.relax = relax
        self.structure = _check_structure(structure, n_groups)
        blocks = [(w_plus[:, column], cap_p), (w_minus[:, column], cap_m)]
        if self.structure is not None:
            blocks += [(self.structure.w_plus, self.structure.cap_plus),
                       (self.structure.w_minus, self.structure.cap_minus)]
        self.pairs = _pairs(eta, out_group, targets, n_bins, _beyond_finite_change(blocks))
        self._merged = _normalised_units(cap_p, cap_m, local, column, merge=True)
        self.units = self._merged if merge_units else _normalised_units(
            cap_p, cap_m, local, column, merge=False)
        top = np.zeros(self.pairs.groups.size)
        np.maximum.at(top, self.pairs.group, self.pairs.eta)
        # clipping at the group's top eta is exact for integer b (module doc)
        self._wp = np.minimum(w_plus[self.pairs.groups], top[:, None])
        self._wm = np.minimum(w_minus[self.pairs.groups], top[:, None])
        self.max_enumeration = max_enumeration
        pair_units = None
        if self.structure is not None:
            self._adj_wp = np.minimum(self.structure.w_plus[self.pairs.groups], top[:, None])
            self._adj_wm = np.minimum(self.structure.w_minus[self.pairs.groups], top[:, None])
            pair_units = (self.structure, self._adj_wp, self._adj_wm)
        self._enumerator = _Enumerator(self.pairs, self._merged, self._wp, self._wm, pair_units)

    def _build(self) -> _CountingProgram:
        u, n = self.units, self.units.column.size
        self._eps_plus = cp.Parameter(nonneg=True)
        self._eps_minus = cp.Parameter(nonneg=True)
        ones, none = sp.csr_matrix(np.ones((1, n))), sp.csr_matrix((1, n))
        rows = [([ones, none], self._eps_plus), ([none, ones], self._eps_minus)]
        loc = np.flatnonzero(u.binding)
        if loc.size:
            pick = sp.csr_matrix((np.ones(loc.size), (np.arange(loc.size), loc)),
                                 shape=(loc.size, n))
            rows.append(([pick, pick], u.local[loc]))
        blocks = [(self._wp[:, u.column], u.cap_plus, True),
                  (self._wm[:, u.column], u.cap_minus, True)]
        self._box = [u.cap_plus, u.cap_minus]
        if self.structure is not None:  # the pair units' blocks follow the attributes' two
            self._eps_plus_adj = cp.Parameter(nonneg=True)
            self._eps_minus_adj = cp.Parameter(nonneg=True)
            pair_blocks, pair_rows, pair_box = self.structure.program(
                self._adj_wp, self._adj_wm, self._eps_plus_adj, self._eps_minus_adj)
            blocks += pair_blocks
            rows += [([None, None, *mats], rhs) for mats, rhs in pair_rows]
            self._box += pair_box
        return _CountingProgram(self.pairs, self.relax, blocks, rows)

    def _clip_budgets(self, budget_plus, budget_minus, budget_plus_adj=0,
                      budget_minus_adj=0) -> tuple[float, float, float, float]:
        eps_p = min(np.floor(_budget(budget_plus, "budget_plus")), self._merged.cap_plus.sum())
        eps_m = min(np.floor(_budget(budget_minus, "budget_minus")), self._merged.cap_minus.sum())
        adj = [np.floor(_budget(budget_plus_adj, "budget_plus_adj")),
               np.floor(_budget(budget_minus_adj, "budget_minus_adj"))]
        if self.structure is None:
            if any(adj):
                raise ValueError(f"budget_plus_adj == {budget_plus_adj}, budget_minus_adj == "
                                 f"{budget_minus_adj}: edge budgets need structure=PairUnits(...)")
        else:
            adj = self.structure.clip_budgets(*adj)
        return float(eps_p), float(eps_m), float(adj[0]), float(adj[1])

    def _pair_local_binds(self, eps_plus_adj: float, eps_minus_adj: float) -> bool:
        local = None if self.structure is None else self.structure.local
        return local is not None and local.binds(eps_plus_adj, eps_minus_adj)

    def _pair_worst(self, eps_plus_adj: float, eps_minus_adj: float) -> np.ndarray | float:
        """Largest (or an upper bound on the) pair weight per group, SPEC §8."""
        if self.structure is None or eps_plus_adj + eps_minus_adj == 0:
            return 0.0
        if self._pair_local_binds(eps_plus_adj, eps_minus_adj):
            return self.structure.local_max(self._adj_wp, self._adj_wm, eps_plus_adj,
                                            eps_minus_adj)
        return (_greedy_max(self._adj_wp, self.structure.cap_plus, eps_plus_adj)
                + _greedy_max(self._adj_wm, self.structure.cap_minus, eps_minus_adj))

    def sure_mask(self, budget_plus, budget_minus, budget_plus_adj=0,
                  budget_minus_adj=0) -> np.ndarray:
        """Pairs no single admissible allocation can break (the naive certificate per pair)."""
        eps_p, eps_m, eps_pa, eps_ma = self._clip_budgets(budget_plus, budget_minus,
                                                          budget_plus_adj, budget_minus_adj)
        cols = self._merged.column
        worst = _max_weights(self._wp[:, cols], self._wm[:, cols], self._merged, eps_p, eps_m)
        worst = worst + self._pair_worst(eps_pa, eps_ma)
        return self.pairs.eta > worst[self.pairs.group]

    def naive(self, budget_plus, budget_minus, budget_plus_adj=0, budget_minus_adj=0) -> int:
        """Targeted outputs certified on their own (each against its own worst allocation)."""
        if not self.pairs.total:
            return 0
        sure = self.sure_mask(budget_plus, budget_minus, budget_plus_adj, budget_minus_adj)
        return int(self.pairs.count[sure].sum())

    def certify(self, budget_plus, budget_minus, budget_plus_adj=0, budget_minus_adj=0) -> int:
        """Guaranteed number of targeted outputs that stay certified under the budgets
        (``*_adj``: edges added / deleted, which need ``structure``)."""
        eps = self._clip_budgets(budget_plus, budget_minus, budget_plus_adj, budget_minus_adj)
        if not self.pairs.total:
            return 0
        sure = self.sure_mask(*eps)
        n_sure = int(self.pairs.count[sure].sum())
        if sure.all():
            return n_sure
        if (not self.relax and not self._pair_local_binds(*eps[2:])
                and self._enumerator.candidates(*eps) <= self.max_enumeration):
            return self._enumerator.certify(*eps)
        program = self._program()
        self._eps_plus.value, self._eps_minus.value = eps[:2]
        if self.structure is not None:
            self._eps_plus_adj.value, self._eps_minus_adj.value = eps[2:]
        return min(self.pairs.total, max(n_sure, program.solve(sure, self._box)))

    def sweep(self, budgets_plus, budgets_minus, budgets_plus_adj=0,
              budgets_minus_adj=0) -> np.ndarray:
        """``certify`` along non-decreasing budgets (scalars broadcast), zeros after the first 0.

        Raises ValueError unless every budget sequence is non-decreasing, since only then is
        the count non-increasing and early stopping valid.
        """
        budgets = [budgets_plus, budgets_minus]
        if self.structure is not None or np.any(budgets_plus_adj) or np.any(budgets_minus_adj):
            budgets += [budgets_plus_adj, budgets_minus_adj]
        return _monotone_sweep(self.certify, *budgets)


def collective_certificate(eta, out_group, w_plus, w_minus, cap_plus, cap_minus, budget_plus,
                           budget_minus, *, unit_group=None, local_budget=None, targets=None,
                           relax: bool = False, n_bins: int | None = None,
                           merge_units: bool = True, max_enumeration: int = 10**7,
                           structure: PairUnits | None = None, budget_plus_adj=0,
                           budget_minus_adj=0) -> int:
    """Collective certificate for additions/deletions of bits (SPEC §5).

    Args:
        eta: (n_out,) base radii; ``<= 0`` abstains (never certified); ``+inf`` is
            certified unless the change uses an infinite weight.
        out_group: (n_out,) row of the weight matrices each output uses.
        w_plus, w_minus: (n_groups, n_unit_groups) non-negative weights per added/deleted bit
            (``inf``: one such bit breaks the output).
        cap_plus, cap_minus: (n_units,) bits each unit can add / delete.
        budget_plus, budget_minus: global budgets (floored; ``inf`` allowed).
        unit_group: (n_units,) weight column per unit (default: unit u uses column u).
        local_budget: None, scalar or (n_units,) bound on ``b_plus[u] + b_minus[u]``.
        targets: boolean mask or index array of the outputs to count (default all).
        relax: LP relaxation (valid, weaker lower bound) instead of the exact MILP.
        n_bins: quantise eta down into ``n_bins`` bins per group (see ``quantize_eta``).
        merge_units: merge the units of one column in the MILP (exact); False keeps per-unit
            variables.
        max_enumeration: enumerate the adversary's allocations instead of solving the MILP
            when there are at most this many (0: always the MILP).
        structure: the node pairs as units (`PairUnits`, SPEC §8), rows = output groups.
        budget_plus_adj, budget_minus_adj: edges added / deleted (need ``structure``).

    Returns:
        min over admissible integer b of ``#{targeted n: eta_n > 0 and
        W_plus[k(n)].b_plus + W_minus[k(n)].b_minus (+ the pair terms) < eta_n}`` (a lower
        bound if relaxed).
    """
    certifier = CollectiveCertifier(
        eta, out_group, w_plus, w_minus, cap_plus, cap_minus, unit_group=unit_group,
        local_budget=local_budget, targets=targets, relax=relax, n_bins=n_bins,
        merge_units=merge_units, max_enumeration=max_enumeration, structure=structure)
    return certifier.certify(budget_plus, budget_minus, budget_plus_adj, budget_minus_adj)


def naive_certificate(eta, out_group, w_plus, w_minus, cap_plus, cap_minus, budget_plus,
                      budget_minus, *, unit_group=None, local_budget=None, targets=None,
                      n_bins: int | None = None, structure: PairUnits | None = None,
                      budget_plus_adj=0, budget_minus_adj=0) -> int:
    """Targeted outputs certified on their own: worst allocation per output < eta (SPEC §5),
    exact except with binding per-node pair budgets (then an upper bound on the worst).

    Arguments as in ``collective_certificate``.
    """
    certifier = CollectiveCertifier(
        eta, out_group, w_plus, w_minus, cap_plus, cap_minus, unit_group=unit_group,
        local_budget=local_budget, targets=targets, n_bins=n_bins, structure=structure)
    return certifier.naive(budget_plus, budget_minus, budget_plus_adj, budget_minus_adj)


def _check_structure(structure, n_groups: int) -> PairUnits | None:
    if structure is None:
        return None
    if not isinstance(structure, PairUnits):
        raise ValueError(f"structure must be a PairUnits, got {type(structure).__name__}")
    if structure.n_groups != n_groups:
        raise ValueError(f"structure weights have {structure.n_groups} output groups, the "
                         f"attribute weights {n_groups}")
    return structure


# ----------------------------------------------------------------------------- l2 data
class CollectiveCertifierL2(_LazyProgram):
    """Collective certificate for continuous units (SPEC §5, last sentences).

    The adversary picks real ``b[u] >= 0`` with ``sum b <= budget`` (budget = eps^2) and breaks
    output n iff ``w[k(n)] . b >= eta_n``.  Exact as a MILP (binary indicators, continuous b)
    or relaxed to an LP.  The exact MILP grows hard with the number of distinct radii (one
    binary each): for thousands of outputs use ``relax=True`` or a few ``n_bins`` per group.
    A group with an infinite weight is broken by any positive budget: treating it as broken for
    free (keeping the full budget for the rest) can only lower the count, so it is sound.
    """

    _empty = "no targeted output with finite weights: no problem to build"

    def __init__(self, eta, out_group, w, *, targets=None, relax: bool = False,
                 n_bins: int | None = None):
        eta = _vector(eta, "eta")
        w = _weights(w, "w")
        out_group = _index_vector(out_group, "out_group", eta.size, w.shape[0])
        self.relax = relax
        pairs = _pairs(eta, out_group, targets, n_bins)
        self.n_valid = pairs.total
        finite = np.isfinite(w[pairs.groups]).all(axis=1)[pairs.group]
        # an infinite radius with finite weights is certified under every finite budget (and
        # under an infinite one if its weights are 0): counted apart, outside the program
        unbreakable = finite & np.isinf(pairs.eta)
        zero_w = (w[pairs.groups].max(axis=1, initial=0.0) == 0)[pairs.group]
        self.n_infinite = int(pairs.count[unbreakable].sum())
        self.n_infinite_zero_w = int(pairs.count[unbreakable & zero_w].sum())
        finite &= ~unbreakable
        keep_groups, group = np.unique(pairs.group[finite], return_inverse=True)
        self.pairs = _Pairs(group.astype(np.int64), pairs.eta[finite], pairs.count[finite],
                            pairs.groups[keep_groups])
        self._w = w[self.pairs.groups]
        self._max_w = self._w.max(axis=1, initial=0.0)

    def _build(self) -> _CountingProgram:
        self._eps = cp.Parameter(nonneg=True)
        rows = [([sp.csr_matrix(np.ones((1, self._w.shape[1])))], self._eps)]
        return _CountingProgram(self.pairs, self.relax, [(self._w, None, False)], rows)

    def certify(self, budget) -> int:
        """Guaranteed number of targeted outputs that stay certified under ``sum b <= budget``."""
        budget = _budget(budget, "budget")
        if budget == 0:
            return self.n_valid
        infinite = self.n_infinite_zero_w if math.isinf(budget) else self.n_infinite
        if not self.pairs.total:
            return infinite
        worst = np.where(self._max_w > 0, budget * self._max_w, 0.0)
        sure = self.pairs.eta > worst[self.pairs.group]
        n_sure = int(self.pairs.count[sure].sum())
        if sure.all() or math.isinf(budget):  # an infinite budget breaks every weighted group
            return infinite + n_sure
        program = self._program()
        self._eps.value = budget
        box = [np.full(self._w.shape[1], budget)]  # implied by b >= 0, sum b <= budget
        return infinite + min(self.pairs.total, max(n_sure, program.solve(sure, box)))

    def sweep(self, budgets) -> np.ndarray:
        """``certify`` along non-decreasing budgets, zeros after the first 0 (as in
        ``CollectiveCertifier.sweep``)."""
        return _monotone_sweep(self.certify, budgets)


def collective_certificate_l2(eta, out_group, w, budget, *, targets=None, relax: bool = False,
                              n_bins: int | None = None) -> int:
    """Collective l2 certificate (SPEC §5): ``w`` is (n_groups, n_units), ``budget`` = eps^2."""
    certifier = CollectiveCertifierL2(eta, out_group, w, targets=targets, relax=relax,
                                      n_bins=n_bins)
    return certifier.certify(budget)


def naive_certificate_l2(eta, out_group, w, budget, *, targets=None,
                         n_bins: int | None = None) -> int:
    """Targeted outputs with ``budget * max_u w[k(n), u] < eta_n`` (each attacked alone)."""
    eta = _vector(eta, "eta")
    w = _weights(w, "w")
    out_group = _index_vector(out_group, "out_group", eta.size, w.shape[0])
    budget = _budget(budget, "budget")
    pairs = _pairs(eta, out_group, targets, n_bins)
    if budget == 0 or not pairs.total:
        return pairs.total
    max_w = w[pairs.groups].max(axis=1, initial=0.0)
    worst = budget * max_w if math.isfinite(budget) else np.where(max_w > 0, np.inf, 0.0)
    return int(pairs.count[pairs.eta > worst[pairs.group]].sum())


def l2_certified_counts(cert: BaseCertificate, target: np.ndarray, w: np.ndarray, eps, *,
                     collective: bool = True, relax: bool = True,
                     n_bins: int | None = 64) -> np.ndarray:
    """Outputs predicting ``target`` still certified under every l2 radius in ``eps`` (SPEC §5, §6).

    ``collective=False`` counts pixels certified on their own (naive); otherwise the LP
    (``relax``) or MILP collective certificate over continuous units (grid cells, graph clusters), with radii
    quantized down into ``n_bins`` per output group (None: exact radii).
    """
    eps = np.asarray(eps, dtype=np.float64)
    if eps.ndim != 1 or np.any(eps < 0) or np.any(np.diff(eps) < 0):
        raise ValueError("eps must be a non-decreasing 1-D array of non-negative radii")
    targets = ~cert.abstained & (cert.predicted == np.ravel(target))
    if not collective:
        return np.array([naive_certificate_l2(cert.eta, cert.group, w, e**2, targets=targets,
                                              n_bins=n_bins) for e in eps], dtype=np.int64)
    certifier = CollectiveCertifierL2(cert.eta, cert.group, w, targets=targets, relax=relax,
                                      n_bins=n_bins)
    return np.asarray(certifier.sweep(eps**2), dtype=np.int64)
