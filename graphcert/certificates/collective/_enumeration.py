"""The exact certificate by enumerating the adversary's allocations, where they are few."""
from __future__ import annotations

import math

import numpy as np

from graphcert.certificates.collective._outputs import OutputPairs
from graphcert.certificates.collective._units import Units


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


class Enumerator:
    """Exact collective optimum by enumerating the adversary's maximal integer allocations.

    Weights are non-negative, so some optimal allocation cannot be increased: unless a local
    budget can bind, it spends ``min(eps, capacity)`` bits on each side. Worth it on merged
    units (few columns), where a MILP with one indicator per distinct radius is slow to prove
    optimal (tens of seconds per budget at CiteSeer scale).
    """

    def __init__(self, pairs: OutputPairs, units: Units, w_plus: np.ndarray, w_minus: np.ndarray,
                 structure: tuple | None = None, chunk: int = 1 << 18):
        self.units, self.chunk = units, chunk
        self.w_plus, self.w_minus = w_plus[:, units.column], w_minus[:, units.column]
        self.structure = structure  # (PairUnits, w_plus, w_minus) of the pair units, or None
        starts = np.searchsorted(pairs.group, np.arange(pairs.groups.size))
        ends = np.r_[starts[1:], pairs.group.size][:starts.size]  # none without groups
        self.etas = [pairs.eta[a:b] for a, b in zip(starts, ends, strict=True)]
        self.broken = [np.r_[0, np.cumsum(pairs.count[a:b])]
                       for a, b in zip(starts, ends, strict=True)]
        self.total = pairs.total

    def candidates(self, eps_plus: float, eps_minus: float, eps_plus_adj: float = 0.0,
                   eps_minus_adj: float = 0.0) -> int:
        """Upper bound on the number of allocations ``certify`` would try."""
        u, exact = self.units, not self.units.binds(eps_plus, eps_minus)
        count = (_count_bound(u.cap_plus, eps_plus, exact)
                 * _count_bound(u.cap_minus, eps_minus, exact))
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
                         for k, (eta, cum) in enumerate(zip(self.etas, self.broken, strict=True)))
            if not exact:
                local = plus[lo:lo + step, None, :] + minus[None] <= u.local
                broken = np.where(local.all(axis=-1)[..., None], broken, 0)
            most = max(most, int(broken.max()))
        return self.total - most
