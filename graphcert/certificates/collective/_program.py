"""The counting program (MILP / LP relaxation, HiGHS) and its sound integer bounds."""
from __future__ import annotations

import math
from functools import cache

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from graphcert.certificates.collective._outputs import OutputPairs

_MIP_TOL = 1e-6


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


class CountingProgram:
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

    def __init__(self, pairs: OutputPairs, relax: bool, blocks: list, rows: list):
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
        z = sum(w @ b for w, b in zip(self.weights, self.b, strict=True))
        # a row lists the matrices of the leading blocks (None: the block is not in the row)
        self.rows = [(mats, rhs, sum(a @ b for a, b in zip(mats, self.b[:len(mats)], strict=True)
                                     if a is not None) <= rhs)
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
        terms += [np.minimum(g * upper, 0.0) for g, upper in zip(g_b, box, strict=True)]
        total = sum(float(term.sum()) for term in terms)
        magnitude = sum(float(np.abs(term).sum()) for term in terms)
        return total, 1e-9 * (1.0 + magnitude)


def monotone_sweep(certify, *budgets) -> np.ndarray:
    """Certify along componentwise non-decreasing budgets, stopping once the count hits 0."""
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(b, dtype=float)) for b in budgets))
    if arrays[0].ndim != 1:
        raise ValueError("budgets must be scalars or 1-D sequences")
    for arr in arrays:
        if np.isnan(arr).any() or np.any(np.diff(arr) < 0):
            raise ValueError("sweep budgets must be non-decreasing (early stopping needs "
                             "monotone budgets); call certify() for arbitrary budgets")
    counts = np.zeros(arrays[0].size, dtype=np.int64)
    for i, values in enumerate(zip(*arrays, strict=True)):
        counts[i] = certify(*values)
        if counts[i] == 0:  # monotone: every larger budget certifies nothing either
            break
    return counts


class LazyProgram:
    """The `CountingProgram` of a certifier, built by `_build` on first use (the certifiers
    that never need a solver never build one). `_empty` says why there is nothing to build."""

    pairs: OutputPairs
    _empty: str
    _problem: CountingProgram | None = None

    @property
    def problem(self) -> cp.Problem:
        """The DPP cvxpy problem (built on first use)."""
        return self._program().problem

    def _program(self) -> CountingProgram:
        if self._problem is None:
            if not self.pairs.total:
                raise ValueError(self._empty)
            self._problem = self._build()
        return self._problem

    def _build(self) -> CountingProgram:
        raise NotImplementedError
