"""K-ary categorical smoothing of node attributes: certified accuracy over Hamming budgets
(docs/theory.md §9, §3, §5, §6). A budget r lets the adversary change up to r attribute values
(coordinates) anywhere in the graph.

* Isotropic noise (`kary_vote_result`): Holm-corrected vote bounds and each target's exact
  Hamming certificate (Lee et al. 2019). One distribution smooths every output, so every
  changed coordinate counts the same against every target: the collective count equals the
  naive one and is not reported separately.
* Localized noise (`kary_variance_result`): variance-constrained radii eta, a weight
  ``kary_weights(keep[k, j], K)`` per coordinate of cluster j changed against the outputs of
  cluster k, and naive and collective (MILP) counts through
  `graphcert.certificates.collective` with one budget type: units are the nodes, each with
  capacity F (its number of features).

Features with different alphabet sizes are certified with the largest K: the noise on a
smaller alphabet is a garbling of the noise on a larger one at the same keep, so a change
there can only be weaker (and its variance weight is smaller).
"""
from __future__ import annotations

import numpy as np

from graphcert.certificates import BaseCertificate, kary_weights
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.certificate import Certificate, variance_constrained_eta
from graphcert.tasks.graph.results import Curve, MethodResult
from graphcert.tasks.graph.surface import AttackSurface
from graphcert.tasks.graph.vote_certificates import KaryHammingCertificate

__all__ = ["kary_variance_certificate", "kary_variance_result", "kary_vote_result"]


def kary_vote_result(method: str, stats: SmoothingStats, y: np.ndarray, targets: np.ndarray,
                     keep: float, n_values, *, alpha: float, max_hamming: int) -> MethodResult:
    """Isotropic K-ary smoothing: Holm vote bounds and exact Hamming regions
    (docs/theory.md §9, §4), counted from the per-target `KaryHammingCertificate`.

    Args:
        method (str): the method's name.
        stats (SmoothingStats): the Monte Carlo statistics.
        y (np.ndarray): labels of all nodes, (N,).
        targets (np.ndarray): target node ids, (T,).
        keep (float): keep probability.
        n_values (int or array_like): alphabet size(s).
        alpha (float): significance level shared by the targets.
        max_hamming (int): largest Hamming budget.

    Returns:
        MethodResult: predictions and the ``"hamming"`` curve.
    """
    cert = KaryHammingCertificate.from_statistics(stats, targets, alpha=alpha, keep=keep,
                                                  n_values=n_values)
    region = cert.region(max_hamming)
    correct = cert.predicted == y[cert.targets]
    result = MethodResult(method, cert.predicted, correct, ~cert.passed,
                          extra={"radius": (region.sum(axis=1) - 1).tolist()})
    result.curves["hamming"] = Curve(list(range(max_hamming + 1)),
                                     (region & correct[:, None]).sum(0).astype(int).tolist(),
                                     None, region.sum(0).astype(int).tolist(), len(targets))
    return result


def kary_variance_certificate(stats: SmoothingStats, targets: np.ndarray, keep: np.ndarray,
                              n_values, *, alpha: float, bounds: str,
                              local_budget: int | None = None) -> Certificate:
    """Variance-constrained radii of the targets under localized K-ary noise
    (docs/theory.md §3, §9). ``keep`` (C, C): row = output cluster, column = input cluster,
    the clusters being ``stats.labels``; ``n_values`` (F,): one alphabet size per feature (F is
    every node's capacity).

    The collective machinery's "additions" carry the Hamming budget: one changed value of a
    node in cluster j weighs ``kary_weights(keep, K)[k, j]`` against outputs of cluster k,
    and every node can change all F of its values; the certificate answers "hamming".

    Args:
        stats (SmoothingStats): the Monte Carlo statistics.
        targets (np.ndarray): target node ids, (T,).
        keep (np.ndarray): keep probabilities, (C, C).
        n_values (array_like): alphabet size per feature, (F,).
        alpha (float): significance level shared by the targets.
        bounds (str): ``"binary"``, ``"dkw"`` or ``"bernstein"``.
        local_budget (int, optional): changed values per node.

    Returns:
        Certificate: kinds ("hamming",).
    """
    n_values = np.asarray(n_values)
    if n_values.ndim != 1 or n_values.size == 0:
        raise ValueError(f"n_values must give one alphabet size per feature, got shape "
                         f"{n_values.shape}")
    targets = np.asarray(targets, dtype=np.int64)
    eta = variance_constrained_eta(stats, targets, alpha=alpha, bounds=bounds)
    base = BaseCertificate(stats.candidate_score[targets], eta, stats.labels[targets])
    weights = kary_weights(keep, int(n_values.max()))
    capacity = np.full(stats.labels.size, n_values.size)
    surface = AttackSurface(capacity, np.zeros_like(capacity), local_budget)
    return Certificate(targets, base, stats.labels, weights, np.zeros_like(weights), surface,
                       stats, kinds=("hamming",))


def kary_variance_result(method: str, stats: SmoothingStats, y: np.ndarray,
                         targets: np.ndarray, keep: np.ndarray, n_values, *, alpha: float,
                         bounds: str, max_hamming: int, local_budget: int | None = None,
                         milp_bins: int | None = None, relax: bool = False) -> MethodResult:
    """Localized K-ary smoothing: variance-constrained radii (`kary_variance_certificate`),
    naive and collective counts over Hamming budgets 0..max_hamming (docs/theory.md §3, §5).

    Args:
        method (str): the method's name.
        stats (SmoothingStats): the Monte Carlo statistics.
        y (np.ndarray): labels of all nodes, (N,).
        targets (np.ndarray): target node ids, (T,).
        keep (np.ndarray): keep probabilities, (C, C).
        n_values (array_like): alphabet size per feature, (F,).
        alpha (float): significance level shared by the targets.
        bounds (str): ``"binary"``, ``"dkw"`` or ``"bernstein"``.
        max_hamming (int): largest Hamming budget.
        local_budget (int, optional): changed values per node.
        milp_bins (int, optional): radius quantisation of the collective program.
        relax (bool): solve the LP relaxation.

    Returns:
        MethodResult: predictions and the ``"hamming"`` curve.
    """
    cert = kary_variance_certificate(stats, targets, keep, n_values, alpha=alpha,
                                     bounds=bounds, local_budget=local_budget)
    base = cert.base
    result = MethodResult(method, base.predicted, base.predicted == y[cert.targets],
                          base.abstained, extra={"eta": base.eta.tolist(), "bounds": bounds})
    result.curves["hamming"] = cert.curve(y, "hamming", range(max_hamming + 1), relax=relax,
                                          milp_bins=milp_bins)
    return result
