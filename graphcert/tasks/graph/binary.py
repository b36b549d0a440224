"""Result builders of the command line for binary attributes and edges (docs/theory.md §3-§6, §8).

Two families of methods:
* variance-constrained smoothing (localized or isotropic): per-target radii eta
  (`Certificate`), naive and collective (MILP) certificates over deletion and addition
  budgets;
* SparseSmooth (isotropic, vote based, Holm correction): each target's exact certified region.

Both certify attribute bits, node pairs (edges, docs/theory.md §8) or both at once, and return a
`MethodResult` (a row of results.json).
"""
from __future__ import annotations

import numpy as np

from graphcert.certificates.collective import CollectiveCertifier, PairUnits
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.certificate import (
    Certificate,
    attack_budgets,
    certified_counts,
)
from graphcert.tasks.graph.results import FAMILIES, Curve, MethodResult, joint_grid
from graphcert.tasks.graph.surface import AttackSurface
from graphcert.tasks.graph.vote_certificates import SparseSmoothCertificate

__all__ = ["sparse_smooth_result", "variance_constrained_result"]


def variance_constrained_result(method: str, stats: SmoothingStats, y: np.ndarray,
                                targets: np.ndarray, theta_plus: np.ndarray | None,
                                theta_minus: np.ndarray | None, surface: AttackSurface, *,
                                alpha: float, bounds: str = "dkw", max_deletions: int = 100,
                                max_additions: int = 20, milp_bins: int | None = None,
                                relax: bool = False, collective: bool = True,
                                structure: PairUnits | None = None,
                                max_edge_deletions: int = 20,
                                max_edge_additions: int = 5) -> MethodResult:
    """Variance-constrained base certificates (Bonferroni over targets) and their curves.

    Attribute curves and grid unless the attributes are not noised (``theta_* = None``, see
    `Certificate.from_statistics`); edge curves and grid with ``structure`` (docs/theory.md §8).

    Args:
        method (str): the method's name.
        stats (SmoothingStats): the Monte Carlo statistics.
        y (np.ndarray): labels of all nodes, (N,).
        targets (np.ndarray): target node ids, (T,).
        theta_plus, theta_minus (np.ndarray, optional): (C, C) flip probabilities; None: the
            attributes are not noised.
        surface (AttackSurface): what the adversary can flip.
        alpha (float): significance level shared by the targets.
        bounds (str): ``"binary"``, ``"dkw"`` or ``"bernstein"``.
        max_deletions, max_additions (int): largest attribute budgets.
        milp_bins (int, optional): radius quantisation of the collective program.
        relax (bool): solve the LP relaxation (a looser, sound bound).
        collective (bool): also the collective counts.
        structure (PairUnits, optional): the node pairs as units (structure noise).
        max_edge_deletions, max_edge_additions (int): largest edge budgets.

    Returns:
        MethodResult: predictions, curves and grids.
    """
    cert = Certificate.from_statistics(stats, theta_plus, theta_minus, surface, targets,
                                       alpha=alpha, bounds=bounds, structure=structure)
    predicted = cert.base.predicted
    result = MethodResult(method, predicted, predicted == y[targets], cert.base.abstained,
                          extra={"eta": cert.radius.tolist(), "bounds": bounds})
    maxima = {"attributes": (max_additions, max_deletions),
              "edges": (max_edge_additions, max_edge_deletions)}
    families = ([] if theta_plus is None else ["attributes"]) + \
        ([] if structure is None else ["edges"])
    certifier = cert.certifier(y, relax=relax, milp_bins=milp_bins)
    for family in families:
        plus, minus, grid = FAMILIES[family]
        top_plus, top_minus = maxima[family]
        for name, top in ((minus, top_minus), (plus, top_plus)):
            result.curves[name] = cert.curve(y, name, range(top + 1), collective=collective,
                                             relax=relax, milp_bins=milp_bins)
        result.extra[grid] = _joint_counts(certifier, plus, minus, top_plus, top_minus,
                                           collective, len(targets))
    return result


def _joint_counts(certifier: CollectiveCertifier, plus: str, minus: str, max_plus: int,
                  max_minus: int, collective: bool, n_targets: int) -> dict:
    """`joint_grid` of the additions x deletions budgets of one family (`FAMILIES`)."""
    deletions, additions = np.arange(max_minus + 1), np.arange(max_plus + 1)
    joint_naive, joint_coll = [], []
    for budget_plus in additions:  # rows stop once nothing is certified at 0 deletions
        sequences = attack_budgets(deletions.size, **{plus: budget_plus, minus: deletions})
        naive, coll = certified_counts(certifier, *sequences, collective=collective)
        if naive[0] == 0 and not (coll or [0])[0]:
            break
        joint_naive.append(naive)
        joint_coll.append(coll)
    return joint_grid(additions, deletions, joint_naive, joint_coll if collective else None,
                      n_targets)


def sparse_smooth_result(stats: SmoothingStats, y: np.ndarray, targets: np.ndarray,
                         theta_plus: float | None, theta_minus: float | None, *, alpha: float,
                         max_deletions: int = 100, max_additions: int = 20,
                         p_plus: float | None = None, p_minus: float | None = None,
                         max_edge_deletions: int = 20, max_edge_additions: int = 5
                         ) -> MethodResult:
    """SparseSmooth (Bojchevski et al. 2020): Holm-corrected vote bounds, exact regions.

    Attribute curves and grid with ``theta_*`` (docs/theory.md §4), edge curves and grid with the
    structure noise's ``p_*`` (docs/theory.md §8: edges alone are §4 with the pair probabilities);
    both when the votes come from the product of the two noises. Counted from the
    per-target `SparseSmoothCertificate`.

    Args:
        stats (SmoothingStats): the Monte Carlo statistics.
        y (np.ndarray): labels of all nodes, (N,).
        targets (np.ndarray): target node ids, (T,).
        theta_plus, theta_minus (float, optional): attribute flip probabilities; None: not noised.
        alpha (float): significance level shared by the targets.
        max_deletions, max_additions (int): largest attribute budgets.
        p_plus, p_minus (float, optional): edge add / delete probabilities; None: not noised.
        max_edge_deletions, max_edge_additions (int): largest edge budgets.

    Returns:
        MethodResult: predictions, curves and grids.
    """
    cert = SparseSmoothCertificate.from_statistics(
        stats, targets, alpha=alpha,
        attributes=None if theta_plus is None else (theta_plus, theta_minus),
        edges=None if p_plus is None else (p_plus, p_minus))
    correct = cert.predicted == y[cert.targets]
    result = MethodResult("sparse_smooth", cert.predicted, correct, ~cert.passed)
    n = len(targets)
    maxima = {"attributes": (max_additions, max_deletions),
              "edges": (max_edge_additions, max_edge_deletions)}
    for family in cert.kinds:
        plus, minus, grid = FAMILIES[family]
        top_plus, top_minus = maxima[family]
        region = cert.region(family, top_plus, top_minus)
        for name, certified in ((minus, region[:, 0, :]), (plus, region[:, :, 0])):
            naive = (certified & correct[:, None]).sum(0).astype(int).tolist()
            ratio = certified.sum(0).astype(int).tolist()
            result.curves[name] = Curve(list(range(certified.shape[1])), naive, None, ratio, n)
        result.extra[grid] = joint_grid(range(top_plus + 1), range(top_minus + 1),
                                        (region & correct[:, None, None]).sum(0).tolist(),
                                        None, n)
    return result
