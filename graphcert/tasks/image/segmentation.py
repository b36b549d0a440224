"""Certified image segmentation by (localized) Gaussian smoothing (docs/theory.md §4, §5, §6, §7).

* :func:`anisotropic_certificate`: per-pixel base certificates ``eta = Phi^{-1}(p_lower)^2`` of
  the pixel's own cell distribution, Clopper-Pearson bounds with Holm (or Bonferroni)
  correction over all pixels of the image (docs/theory.md §4, LRS §G.4);
* :func:`segcertify_star`: the isotropic SegCertify* baseline (threshold tau, Holm, radius
  ``sigma * Phi^{-1}(tau)``);
* :func:`l2_certified_counts`: naive and collective (docs/theory.md §5, one continuous unit
  per cell) numbers of correct, certified pixels over l2 budgets;
* :func:`confusion_matrix`, :func:`mean_iou`, :func:`pixel_accuracy`: abstentions count as wrong.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from graphcert.certificates import BaseCertificate, gaussian_l2_radius
from graphcert.certificates.bounds import corrected_lower_bounds, holm_lower_bounds
from graphcert.noise.gaussian import GridGaussian
from graphcert.tasks.image.votes import PixelVotes
from graphcert.utils.validation import check_real

__all__ = ["ABSTAIN", "anisotropic_certificate", "confusion_matrix",
           "mean_iou", "pixel_accuracy", "prediction", "segcertify_star",
           "segcertify_star_pixels"]

ABSTAIN = -1


def anisotropic_certificate(votes: PixelVotes, noise: GridGaussian, alpha: float,
                            correction: str = "holm") -> BaseCertificate:
    """Per-pixel anisotropic Gaussian certificates (docs/theory.md §4, §7).

    Pixel n (cell k) is certified against every perturbation with
    ``sum_u ||delta_u||^2 / sigma[k, u]^2 < eta_n``; ``eta_n = -inf`` (abstain) unless the
    corrected test of ``p > 1/2`` passes. ``group`` is the cell of every pixel, so
    ``(eta, group, noise.weights())`` is the input of the collective certificate.

    Args:
        votes (PixelVotes): candidate classes and votes, (H * W,).
        noise (GridGaussian): the noise.
        alpha (float): significance level.
        correction (str): ``"holm"`` or ``"bonferroni"``.

    Returns:
        BaseCertificate: (H * W,) entries.
    """
    p_lower, passed = corrected_lower_bounds(votes.votes, votes.n, alpha, 0.5, correction)
    eta = np.where(passed, gaussian_l2_radius(p_lower), -np.inf)
    return BaseCertificate(votes.candidate, eta, noise.labels)


def prediction(cert: BaseCertificate) -> np.ndarray:
    """Smoothed predicted classes with ``ABSTAIN`` where the certificate abstains.

    Args:
        cert (BaseCertificate): the certificates, (n,).

    Returns:
        np.ndarray: int64 (n,).
    """
    return np.where(cert.abstained, ABSTAIN, cert.predicted)


def segcertify_star(votes: PixelVotes, sigma: float, tau: float, alpha: float):
    """SegCertify* (docs/theory.md §4): ``(predicted, radius)``; a pixel's predicted class is
    ``ABSTAIN`` unless the Holm test of ``p > tau`` passes, and non-abstaining pixels are
    certified for ``||delta|| < radius`` with ``radius = sigma * Phi^{-1}(tau)``.

    Args:
        votes (PixelVotes): candidate classes and votes, (H * W,).
        sigma (float): noise level.
        tau (float): threshold in [0.5, 1).
        alpha (float): significance level.

    Returns:
        tuple[np.ndarray, float]: classes (H * W,) and the radius.
    """
    sigma = check_real(sigma, "sigma", "(0, inf)")
    tau = check_real(tau, "tau", "[0.5, 1)")
    _, passed = holm_lower_bounds(votes.votes, votes.n, alpha, tau)
    return np.where(passed, votes.candidate, ABSTAIN), sigma * float(ndtri(tau))


def segcertify_star_pixels(predicted: np.ndarray, radius: float, target: np.ndarray,
                           eps) -> np.ndarray:
    """Number of correct pixels certified at every l2 radius in ``eps`` (SegCertify*);
    ``predicted`` as `segcertify_star` returns it, ``target`` the true classes.

    Args:
        predicted (np.ndarray): classes from `segcertify_star`, (H * W,).
        radius (float): its radius.
        target (np.ndarray): true classes, H * W of them.
        eps (array_like): l2 radii, (R,).

    Returns:
        np.ndarray: int (R,).
    """
    correct = int(np.sum((predicted != ABSTAIN) & (predicted == np.ravel(target))))
    return np.where(np.asarray(eps, dtype=np.float64) < radius, correct, 0)


def confusion_matrix(predicted: np.ndarray, target: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes + 1) counts [true class, predicted class]; the last column counts
    abstentions (``ABSTAIN``), so they are never correct.

    Args:
        predicted (np.ndarray): predicted classes or ``ABSTAIN``, any shape.
        target (np.ndarray): true classes, as ``predicted``.
        n_classes (int): number of classes C.

    Returns:
        np.ndarray: int64 (C, C + 1).
    """
    predicted, target = np.ravel(predicted), np.ravel(target)
    if predicted.shape != target.shape:
        raise ValueError(f"predicted {predicted.shape} and target {target.shape} differ in "
                         "size")
    if np.any(target < 0) or np.any(target >= n_classes):
        raise ValueError(f"target classes must lie in [0, {n_classes})")
    if np.any((predicted < ABSTAIN) | (predicted >= n_classes)):
        raise ValueError(f"predicted classes must lie in [0, {n_classes}) or be ABSTAIN")
    pred = np.where(predicted == ABSTAIN, n_classes, predicted)
    counts = np.bincount(target * (n_classes + 1) + pred, minlength=n_classes * (n_classes + 1))
    return counts.reshape(n_classes, n_classes + 1)


def mean_iou(confusion: np.ndarray) -> float:
    """Mean over classes present in target or prediction of TP / (TP + FP + FN).

    Args:
        confusion (np.ndarray): (C, C + 1), from `confusion_matrix`.

    Returns:
        float: mean IoU, NaN if no class is present.
    """
    n = confusion.shape[0]
    tp = np.diag(confusion[:, :n]).astype(np.float64)
    union = confusion.sum(axis=1) + confusion[:, :n].sum(axis=0) - tp
    present = union > 0
    return float(np.mean(tp[present] / union[present])) if present.any() else float("nan")


def pixel_accuracy(confusion: np.ndarray) -> float:
    """Fraction of pixels predicted correctly (abstentions are wrong).

    Args:
        confusion (np.ndarray): (C, C + 1), from `confusion_matrix`.

    Returns:
        float: the accuracy.
    """
    n = confusion.shape[0]
    return float(np.trace(confusion[:, :n]) / confusion.sum())
