"""Localized Gaussian smoothing of graphs with continuous features (docs/theory.md §2, §4-§6).

The graph counterpart of the grid adapter (`graphcert.noise.gaussian`,
`graphcert.tasks.image.segmentation`): METIS clusters play the role of the cells, and the noise
level for outputs of cluster k on the features of cluster u follows the affinity rank
(docs/theory.md §2 with sigma in place of theta):

    sigma[k, u] = sigma_min + (sigma_max - sigma_min) * ranks[k, u] / (C - 1).

Base certificates are vote-based anisotropic Gaussian certificates (docs/theory.md §4):
``eta_n = Phi^{-1}(p_lower)^2``, certified iff ``sum_u ||delta_u||^2 / sigma[k(n), u]^2 < eta_n``
where ``delta_u`` is the change of the features of cluster u. The collective certificate
(docs/theory.md §5) has one continuous unit per cluster, weights ``1 / sigma^2`` and budget
``eps^2``.
"""
from __future__ import annotations

import numpy as np

from graphcert.certificates import BaseCertificate, gaussian_l2_radius
from graphcert.certificates.bounds import corrected_lower_bounds
from graphcert.certificates.collective import l2_certified_counts
from graphcert.noise.gaussian import GraphGaussian
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.results import Curve, MethodResult

__all__ = ["gaussian_certificate", "gaussian_result", "l2_budget_grid"]

def gaussian_certificate(stats: SmoothingStats, targets: np.ndarray, alpha: float,
                         correction: str = "bonferroni") -> BaseCertificate:
    """Anisotropic Gaussian base certificates of the target nodes (docs/theory.md §4).

    The candidate is the pre-sample's vote argmax; ``p_lower`` is the Clopper-Pearson bound on
    its main-sample votes, corrected over the targets (Bonferroni: simultaneous bounds, as the
    collective certificate uses the radii jointly; Holm: docs/theory.md §4's decision procedure).

    Args:
        stats (SmoothingStats): the Monte Carlo statistics.
        targets (np.ndarray): target node ids, (T,).
        alpha (float): significance level shared by the targets.
        correction (str): ``"bonferroni"`` or ``"holm"``.

    Returns:
        BaseCertificate: prediction, eta and output cluster per target, (T,) each.
    """
    targets = np.asarray(targets, dtype=np.int64)
    predicted = stats.candidate_vote[targets]
    if np.any(predicted < 0) or np.any(stats.n[targets] == 0):
        raise ValueError("the statistics are incomplete for some targets (no candidate or "
                         "no main samples)")
    votes = stats.votes[targets, predicted]
    p_lower, passed = corrected_lower_bounds(votes, stats.n[targets], alpha,
                                             correction=correction)
    eta = np.where(passed, gaussian_l2_radius(np.where(passed, p_lower, 0.5)), -np.inf)
    return BaseCertificate(predicted, eta, stats.labels[targets])


def l2_budget_grid(cert: BaseCertificate, w: np.ndarray, step: float) -> np.ndarray:
    """Radii 0, step, 2 step, ... up to the first one at which nothing can stay certified.

    Putting the whole budget eps^2 on one unit breaks output n once eps^2 * w[k(n), u] >= eta_n,
    so nothing is certified (naive or collective) from eps^2 >= max eta / min w on.

    Args:
        cert (BaseCertificate): the base certificates.
        w (np.ndarray): weights ``1 / sigma^2``, (C, C).
        step (float): spacing, > 0.

    Returns:
        np.ndarray: float64 radii, (B,).
    """
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    finite = cert.eta[np.isfinite(cert.eta) & (cert.eta > 0)]
    limit = np.sqrt(finite.max() / np.min(w)) if finite.size else 0.0
    return step * np.arange(int(np.floor(limit / step)) + 2)


def gaussian_result(stats: SmoothingStats, noise: GraphGaussian, y: np.ndarray,
                    targets: np.ndarray, *, alpha: float, step: float = 0.05,
                    relax: bool = True, milp_bins: int | None = 64, collective: bool = True,
                    correction: str = "bonferroni") -> MethodResult:
    """Naive and collective certified accuracy over l2 radii (curve ``"l2"``,
    docs/theory.md §5, §6).

    Args:
        stats (SmoothingStats): the Monte Carlo statistics.
        noise (GraphGaussian): the noise.
        y (np.ndarray): labels of all nodes, (N,).
        targets (np.ndarray): target node ids, (T,).
        alpha (float): significance level shared by the targets.
        step (float): spacing of the l2 radii.
        relax (bool): solve the LP relaxation of the collective program.
        milp_bins (int, optional): radius quantisation of the collective program.
        collective (bool): also the collective counts.
        correction (str): ``"bonferroni"`` or ``"holm"``.

    Returns:
        MethodResult: predictions and the ``"l2"`` curve.
    """
    cert = gaussian_certificate(stats, targets, alpha, correction)
    w = noise.weights()
    eps = l2_budget_grid(cert, w, step)
    truth = np.asarray(y)[targets]
    naive = l2_certified_counts(cert, truth, w, eps, collective=False, milp_bins=milp_bins)
    ratio = l2_certified_counts(cert, cert.predicted, w, eps, collective=False, milp_bins=milp_bins)
    coll = l2_certified_counts(cert, truth, w, eps, relax=relax, milp_bins=milp_bins) \
        if collective else None
    correct = cert.predicted == truth
    result = MethodResult("gaussian", cert.predicted, correct, cert.abstained,
                          extra={"eta": cert.eta.tolist(), "correction": correction})
    result.curves["l2"] = Curve(eps.tolist(), naive.tolist(),
                                None if coll is None else coll.tolist(), ratio.tolist(),
                                len(targets))
    return result
