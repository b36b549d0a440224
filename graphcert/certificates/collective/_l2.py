"""Collective certificates for continuous data under an l2 budget (docs/theory.md §5)."""
from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from graphcert.certificates._base import BaseCertificate
from graphcert.certificates.collective._outputs import OutputPairs, output_pairs
from graphcert.certificates.collective._program import (
    CountingProgram,
    LazyProgram,
    monotone_sweep,
)
from graphcert.utils.validation import (
    check_budget,
    check_float_vector,
    check_index_vector,
    check_weight_matrix,
)


class CollectiveCertifierL2(LazyProgram):
    """Collective certificate for continuous units (docs/theory.md §5.6).

    The adversary picks real ``b[u] >= 0`` with ``sum b <= budget`` (budget = eps^2) and breaks
    output n iff ``w[k(n)] . b >= eta_n``.  Exact as a MILP (binary indicators, continuous b)
    or relaxed to an LP.  The exact MILP grows hard with the number of distinct radii (one
    binary each): for thousands of outputs use ``relax=True`` or a few ``milp_bins`` per group.
    A group with an infinite weight is broken by any positive budget: treating it as broken for
    free (keeping the full budget for the rest) can only lower the count, so it is sound.

    Args:
        eta (array_like): base radii, (n_out,).
        out_group (array_like): row of ``w`` each output uses, (n_out,).
        w (array_like): non-negative weights, (n_groups, n_units).
        targets (array_like, optional): bool mask or indices of the counted outputs.
        relax (bool): LP relaxation instead of the MILP.
        milp_bins (int, optional): quantise eta into this many values per group.
    """

    _empty = "no targeted output with finite weights: no problem to build"

    def __init__(self, eta, out_group, w, *, targets=None, relax: bool = False,
                 milp_bins: int | None = None):
        eta = check_float_vector(eta, "eta")
        w = check_weight_matrix(w, "w")
        out_group = check_index_vector(out_group, "out_group", eta.size, w.shape[0])
        self.relax = relax
        pairs = output_pairs(eta, out_group, targets, milp_bins)
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
        self.pairs = OutputPairs(group.astype(np.int64), pairs.eta[finite], pairs.count[finite],
                            pairs.groups[keep_groups])
        self._w = w[self.pairs.groups]
        self._max_w = self._w.max(axis=1, initial=0.0)

    def _build(self) -> CountingProgram:
        self._eps = cp.Parameter(nonneg=True)
        rows = [([sp.csr_matrix(np.ones((1, self._w.shape[1])))], self._eps)]
        return CountingProgram(self.pairs, self.relax, [(self._w, None, False)], rows)

    def certify(self, budget) -> int:
        """Guaranteed number of targeted outputs that stay certified under ``sum b <= budget``.

        Args:
            budget (float): eps^2 >= 0 (``inf`` allowed).

        Returns:
            int: the collective count.
        """
        budget = check_budget(budget, "budget")
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
        ``CollectiveCertifier.sweep``).

        Args:
            budgets (array_like): non-decreasing eps^2, (B,).

        Returns:
            np.ndarray: the counts, (B,).
        """
        return monotone_sweep(self.certify, budgets)


def collective_certificate_l2(eta, out_group, w, budget, *, targets=None, relax: bool = False,
                              milp_bins: int | None = None) -> int:
    """Collective l2 certificate (docs/theory.md §5): ``w`` is (n_groups, n_units), ``budget`` =
    eps^2.

    Args:
        eta (array_like): base radii, (n_out,).
        out_group (array_like): row of ``w`` each output uses, (n_out,).
        w (array_like): non-negative weights, (n_groups, n_units).
        budget (float): eps^2.
        targets (array_like, optional): bool mask or indices of the counted outputs.
        relax (bool): LP relaxation instead of the MILP.
        milp_bins (int, optional): quantise eta into this many values per group.

    Returns:
        int: the collective count.
    """
    certifier = CollectiveCertifierL2(eta, out_group, w, targets=targets, relax=relax,
                                      milp_bins=milp_bins)
    return certifier.certify(budget)


def naive_certificate_l2(eta, out_group, w, budget, *, targets=None,
                         milp_bins: int | None = None) -> int:
    """Targeted outputs with ``budget * max_u w[k(n), u] < eta_n`` (each attacked alone).

    Args:
        eta (array_like): base radii, (n_out,).
        out_group (array_like): row of ``w`` each output uses, (n_out,).
        w (array_like): non-negative weights, (n_groups, n_units).
        budget (float): eps^2.
        targets (array_like, optional): bool mask or indices of the counted outputs.
        milp_bins (int, optional): quantise eta into this many values per group.

    Returns:
        int: certified targeted outputs.
    """
    eta = check_float_vector(eta, "eta")
    w = check_weight_matrix(w, "w")
    out_group = check_index_vector(out_group, "out_group", eta.size, w.shape[0])
    budget = check_budget(budget, "budget")
    pairs = output_pairs(eta, out_group, targets, milp_bins)
    if budget == 0 or not pairs.total:
        return pairs.total
    max_w = w[pairs.groups].max(axis=1, initial=0.0)
    worst = budget * max_w if math.isfinite(budget) else np.where(max_w > 0, np.inf, 0.0)
    return int(pairs.count[pairs.eta > worst[pairs.group]].sum())


def l2_certified_counts(cert: BaseCertificate, target: np.ndarray, w: np.ndarray, eps, *,
                     collective: bool = True, relax: bool = True,
                     milp_bins: int | None = 64) -> np.ndarray:
    """Outputs predicting ``target`` still certified under every l2 radius in ``eps``
    (docs/theory.md §5, §6).

    ``collective=False`` counts pixels certified on their own (naive); otherwise the LP
    (``relax``) or MILP collective certificate over continuous units (grid cells, graph
    clusters), with radii quantized down into ``milp_bins`` per output group (None: exact radii).

    Args:
        cert (BaseCertificate): the base certificates, (n_out,).
        target (np.ndarray): true class per output, n_out of them.
        w (np.ndarray): weights ``1 / sigma^2``, (n_groups, n_units).
        eps (array_like): non-decreasing l2 radii, (R,).
        collective (bool): collective counts, else naive.
        relax (bool): LP relaxation instead of the MILP.
        milp_bins (int, optional): quantise eta into this many values per group.

    Returns:
        np.ndarray: int64 (R,).
    """
    eps = np.asarray(eps, dtype=np.float64)
    if eps.ndim != 1 or np.any(eps < 0) or np.any(np.diff(eps) < 0):
        raise ValueError("eps must be a non-decreasing 1-D array of non-negative radii")
    targets = ~cert.abstained & (cert.predicted == np.ravel(target))
    if not collective:
        return np.array([naive_certificate_l2(cert.eta, cert.group, w, e**2, targets=targets,
                                              milp_bins=milp_bins) for e in eps], dtype=np.int64)
    certifier = CollectiveCertifierL2(cert.eta, cert.group, w, targets=targets, relax=relax,
                                      milp_bins=milp_bins)
    return np.asarray(certifier.sweep(eps**2), dtype=np.int64)
