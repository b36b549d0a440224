"""Collective certificates for binary data: attribute bits and node pairs
(docs/theory.md §5, §8)."""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from graphcert.certificates._pair_units import PairUnits
from graphcert.certificates.collective._enumeration import Enumerator
from graphcert.certificates.collective._outputs import (
    beyond_finite_change,
    output_pairs,
)
from graphcert.certificates.collective._program import (
    CountingProgram,
    LazyProgram,
    monotone_sweep,
)
from graphcert.certificates.collective._units import (
    greedy_max,
    max_weights,
    normalised_units,
)
from graphcert.utils.validation import (
    check_budget,
    check_capacities,
    check_float_vector,
    check_index_vector,
    check_local_budgets,
    check_weight_matrix,
)


class CollectiveCertifier(LazyProgram):
    """Collective certificate for bit additions/deletions (docs/theory.md §5), built once per
    instance.

    The exact optimum comes from enumerating the adversary's maximal allocations over merged
    units when there are at most ``max_enumeration`` of them, else from the MILP.  The cvxpy
    problem is built once (lazily) and is DPP with the budgets as parameters, so ``certify``
    and ``sweep`` re-solve without recompiling.  ``merge_units=False`` keeps one budget unit
    per input unit in the MILP (the native form); merging is exact either way.  ``structure``
    adds the node pairs as units (docs/theory.md §8) with their own two budgets
    (``budget_plus_adj``, ``budget_minus_adj`` of ``certify``): one program, four budget
    constraints.  See ``collective_certificate`` for the arguments.

    Args:
        eta, out_group, w_plus, w_minus, cap_plus, cap_minus: as in `collective_certificate`.
        unit_group, local_budget, targets, relax, milp_bins, merge_units, max_enumeration,
            structure: as in `collective_certificate`.
    """

    _empty = "no targeted output is certifiable: there is no problem to build"

    def __init__(self, eta, out_group, w_plus, w_minus, cap_plus, cap_minus, *,
                 unit_group=None, local_budget=None, targets=None, relax: bool = False,
                 milp_bins: int | None = None, merge_units: bool = True,
                 max_enumeration: int = 10**7, structure: PairUnits | None = None):
        eta = check_float_vector(eta, "eta")
        w_plus = check_weight_matrix(w_plus, "w_plus")
        w_minus = check_weight_matrix(w_minus, "w_minus", w_plus.shape)
        n_groups, n_cols = w_plus.shape
        out_group = check_index_vector(out_group, "out_group", eta.size, n_groups)
        cap_p = check_capacities(cap_plus, "cap_plus")
        cap_m = check_capacities(cap_minus, "cap_minus")
        if cap_m.size != cap_p.size:
            raise ValueError("cap_plus and cap_minus must have the same length")
        if unit_group is None:
            if cap_p.size != n_cols:
                raise ValueError(f"without unit_group there must be one unit per weight column "
                                 f"({n_cols}), got {cap_p.size}")
            column = np.arange(n_cols)
        else:
            column = check_index_vector(unit_group, "unit_group", cap_p.size, n_cols)
        local = check_local_budgets(local_budget, cap_p.size)
        self.relax = relax
        self.structure = _check_structure(structure, n_groups)
        blocks = [(w_plus[:, column], cap_p), (w_minus[:, column], cap_m)]
        if self.structure is not None:
            blocks += [(self.structure.w_plus, self.structure.cap_plus),
                       (self.structure.w_minus, self.structure.cap_minus)]
        self.pairs = output_pairs(eta, out_group, targets, milp_bins, beyond_finite_change(blocks))
        self._merged = normalised_units(cap_p, cap_m, local, column, merge=True)
        self.units = self._merged if merge_units else normalised_units(
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
        self._enumerator = Enumerator(self.pairs, self._merged, self._wp, self._wm, pair_units)

    def _build(self) -> CountingProgram:
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
        return CountingProgram(self.pairs, self.relax, blocks, rows)

    def _clip_budgets(self, budget_plus, budget_minus, budget_plus_adj=0,
                      budget_minus_adj=0) -> tuple[float, float, float, float]:
        merged = self._merged
        eps_p = min(np.floor(check_budget(budget_plus, "budget_plus")), merged.cap_plus.sum())
        eps_m = min(np.floor(check_budget(budget_minus, "budget_minus")), merged.cap_minus.sum())
        adj = [np.floor(check_budget(budget_plus_adj, "budget_plus_adj")),
               np.floor(check_budget(budget_minus_adj, "budget_minus_adj"))]
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
        """Largest (or an upper bound on the) pair weight per group, docs/theory.md §8."""
        if self.structure is None or eps_plus_adj + eps_minus_adj == 0:
            return 0.0
        if self._pair_local_binds(eps_plus_adj, eps_minus_adj):
            return self.structure.local_max(self._adj_wp, self._adj_wm, eps_plus_adj,
                                            eps_minus_adj)
        return (greedy_max(self._adj_wp, self.structure.cap_plus, eps_plus_adj)
                + greedy_max(self._adj_wm, self.structure.cap_minus, eps_minus_adj))

    def sure_mask(self, budget_plus, budget_minus, budget_plus_adj=0,
                  budget_minus_adj=0) -> np.ndarray:
        """Pairs no single admissible allocation can break (the naive certificate per pair).

        Args:
            budget_plus, budget_minus: bits added / deleted.
            budget_plus_adj, budget_minus_adj: edges added / deleted (need ``structure``).

        Returns:
            np.ndarray: bool, one per distinct (output group, radius) pair (``pairs``).
        """
        eps_p, eps_m, eps_pa, eps_ma = self._clip_budgets(budget_plus, budget_minus,
                                                          budget_plus_adj, budget_minus_adj)
        cols = self._merged.column
        worst = max_weights(self._wp[:, cols], self._wm[:, cols], self._merged, eps_p, eps_m)
        worst = worst + self._pair_worst(eps_pa, eps_ma)
        return self.pairs.eta > worst[self.pairs.group]

    def naive(self, budget_plus, budget_minus, budget_plus_adj=0, budget_minus_adj=0) -> int:
        """Targeted outputs certified on their own (each against its own worst allocation).

        Args:
            budget_plus, budget_minus: bits added / deleted.
            budget_plus_adj, budget_minus_adj: edges added / deleted (need ``structure``).

        Returns:
            int: certified targeted outputs.
        """
        if not self.pairs.total:
            return 0
        sure = self.sure_mask(budget_plus, budget_minus, budget_plus_adj, budget_minus_adj)
        return int(self.pairs.count[sure].sum())

    def naive_outputs(self, budget_plus, budget_minus, budget_plus_adj=0,
                      budget_minus_adj=0) -> np.ndarray:
        """Per output (of ``eta``): targeted, not abstaining and certified on its own against
        its own worst allocation, bool (n_outputs,); `naive` counts them.

        Args:
            budget_plus, budget_minus: bits added / deleted.
            budget_plus_adj, budget_minus_adj: edges added / deleted (need ``structure``).

        Returns:
            np.ndarray: bool (n_outputs,).
        """
        index = self.pairs.of_output
        if not self.pairs.total:
            return np.zeros(index.size, dtype=bool)
        sure = self.sure_mask(budget_plus, budget_minus, budget_plus_adj, budget_minus_adj)
        return (index >= 0) & sure[np.maximum(index, 0)]

    def certify(self, budget_plus, budget_minus, budget_plus_adj=0, budget_minus_adj=0) -> int:
        """Guaranteed number of targeted outputs that stay certified under the budgets
        (``*_adj``: edges added / deleted, which need ``structure``).

        Args:
            budget_plus, budget_minus: bits added / deleted (floored; ``inf`` allowed).
            budget_plus_adj, budget_minus_adj: edges added / deleted (need ``structure``).

        Returns:
            int: the collective count (a lower bound if relaxed).
        """
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

        Args:
            budgets_plus, budgets_minus (array_like): bits added / deleted, (B,) or scalars.
            budgets_plus_adj, budgets_minus_adj (array_like): edges added / deleted.

        Returns:
            np.ndarray: the counts, (B,).
        """
        budgets = [budgets_plus, budgets_minus]
        if self.structure is not None or np.any(budgets_plus_adj) or np.any(budgets_minus_adj):
            budgets += [budgets_plus_adj, budgets_minus_adj]
        return monotone_sweep(self.certify, *budgets)


def collective_certificate(eta, out_group, w_plus, w_minus, cap_plus, cap_minus, budget_plus,
                           budget_minus, *, unit_group=None, local_budget=None, targets=None,
                           relax: bool = False, milp_bins: int | None = None,
                           merge_units: bool = True, max_enumeration: int = 10**7,
                           structure: PairUnits | None = None, budget_plus_adj=0,
                           budget_minus_adj=0) -> int:
    """Collective certificate for additions/deletions of bits (docs/theory.md §5).

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
        milp_bins: quantise eta down into ``milp_bins`` bins per group (see ``quantize_eta``).
        merge_units: merge the units of one column in the MILP (exact); False keeps per-unit
            variables.
        max_enumeration: enumerate the adversary's allocations instead of solving the MILP
            when there are at most this many (0: always the MILP).
        structure: the node pairs as units (`PairUnits`, docs/theory.md §8), rows = output groups.
        budget_plus_adj, budget_minus_adj: edges added / deleted (need ``structure``).

    Returns:
        min over admissible integer b of ``#{targeted n: eta_n > 0 and
        W_plus[k(n)].b_plus + W_minus[k(n)].b_minus (+ the pair terms) < eta_n}`` (a lower
        bound if relaxed).
    """
    certifier = CollectiveCertifier(
        eta, out_group, w_plus, w_minus, cap_plus, cap_minus, unit_group=unit_group,
        local_budget=local_budget, targets=targets, relax=relax, milp_bins=milp_bins,
        merge_units=merge_units, max_enumeration=max_enumeration, structure=structure)
    return certifier.certify(budget_plus, budget_minus, budget_plus_adj, budget_minus_adj)


def naive_certificate(eta, out_group, w_plus, w_minus, cap_plus, cap_minus, budget_plus,
                      budget_minus, *, unit_group=None, local_budget=None, targets=None,
                      milp_bins: int | None = None, structure: PairUnits | None = None,
                      budget_plus_adj=0, budget_minus_adj=0) -> int:
    """Targeted outputs certified on their own: worst allocation per output < eta
    (docs/theory.md §5), exact except with binding per-node pair budgets (then an upper bound on the
    worst).

    Arguments as in ``collective_certificate``.

    Args:
        eta, out_group, w_plus, w_minus, cap_plus, cap_minus, budget_plus, budget_minus: as in
            `collective_certificate`.
        unit_group, local_budget, targets, milp_bins, structure, budget_plus_adj,
            budget_minus_adj: as in `collective_certificate`.

    Returns:
        int: certified targeted outputs.
    """
    certifier = CollectiveCertifier(
        eta, out_group, w_plus, w_minus, cap_plus, cap_minus, unit_group=unit_group,
        local_budget=local_budget, targets=targets, milp_bins=milp_bins, structure=structure)
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
