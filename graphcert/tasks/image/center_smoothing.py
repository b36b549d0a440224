"""Center smoothing baseline for segmentation (docs/theory.md §7.2; Kumar & Goldstein 2022;
LRS §7.1).

The smoothed output is an (approximate) center of the label maps predicted under isotropic
Gaussian noise, with the Hamming distance (number of differing pixels) as output metric.
For an input radius eps the center moves by at most ``(1 + beta) * R(eps)`` pixels, with
``R(eps)`` the empirical ``q``-quantile of the distances from the center to fresh samples,

    q = Phi(Phi^{-1}(1/2 + Delta) + eps / sigma) + sqrt(ln(1 / alpha_2) / (2 n_cert)).

It reports only a count ``l`` of robust pixels; certified accuracy then follows docs/theory.md §6.
Parameters default to the ones LRS uses (Delta = 0.05, beta = 2, alpha_1 = alpha_2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from scipy.stats import norm

from graphcert.noise.gaussian import GridGaussian
from graphcert.sampling.predictions import sample_predictions
from graphcert.tasks.image.votes import Predict
from graphcert.utils.validation import check_positive_int, check_real

__all__ = ["CenterSmoothing", "center_smoothing"]


@dataclass(frozen=True)
class CenterSmoothing:
    """Center label map (flat; None if the center check failed) and robust pixel counts.

    Args:
        center (np.ndarray, optional): center label map, flat (H * W,).
        robust (np.ndarray): robust pixels per radius, int64 (R,).
    """

    center: np.ndarray | None
    robust: np.ndarray


def _predicted_maps(predict: Predict, x, noise: GridGaussian, n: int, seed: int, stream: str,
                batch_size: int) -> np.ndarray:
    """(n, pixels) predicted class maps of n noisy samples of `stream`."""
    with torch.no_grad():
        return np.concatenate([
            maps.reshape(maps.shape[0], -1).numpy()
            for maps in sample_predictions(predict, partial(noise.sample, x, 0), n, seed=seed,
                                           stream=stream, batch_size=batch_size)])


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[:, None, :] != b[None, :, :]).sum(axis=-1)


def center_smoothing(predict: Predict, x, noise: GridGaussian, eps, *, n_centers: int = 30,
                     n_pred: int = 2000, n_cert: int = 2000, delta: float = 0.05,
                     beta: float = 2.0, alpha: float = 0.01, batch_size: int = 32,
                     seed: int = 0) -> CenterSmoothing:
    """Center smoothing with Hamming distance; ``robust[i]`` pixels provably keep the center's
    label under any perturbation with ``||delta||_2 <= eps[i]`` (0 where it abstains).

    ``noise`` must be isotropic (one cell). ``alpha`` is split equally between the center
    check (alpha_1) and the quantile bound (alpha_2).

    Args:
        predict (Predict): (B, channels, H, W) -> (B, H, W) classes.
        x (array_like): the image, (channels, H, W).
        noise (GridGaussian): isotropic noise.
        eps (array_like): l2 radii, (R,).
        n_centers (int): candidate centers.
        n_pred (int): samples of the center check.
        n_cert (int): samples of the quantile bound.
        delta (float): the center's margin in (0, 0.5).
        beta (float): the Hamming relaxation factor >= 1.
        alpha (float): significance level.
        batch_size (int): copies per call.
        seed (int): seed of the samples.

    Returns:
        CenterSmoothing: the center and the robust pixel counts.
    """
    if noise.n_clusters != 1:
        raise ValueError("center smoothing uses isotropic noise (a 1 x 1 grid)")
    delta = check_real(delta, "delta", "(0, 0.5)")
    beta = check_real(beta, "beta", "[1, inf)")
    alpha = check_real(alpha, "alpha", "(0, 1)")
    for name, n in (("n_centers", n_centers), ("n_pred", n_pred), ("n_cert", n_cert)):
        check_positive_int(n, name)
    eps = np.asarray(check_real(eps, "eps", "[0, inf]"))
    if eps.ndim != 1:
        raise ValueError(f"eps must be a 1-D array of radii, got shape {eps.shape}")
    alpha_1 = alpha_2 = alpha / 2
    delta_1 = math.sqrt(math.log(2 / alpha_1) / (2 * n_pred))
    if delta_1 > delta:
        raise ValueError(f"n_pred = {n_pred} is too small for delta = {delta}: the center check "
                         f"needs n_pred >= ln(2 / alpha_1) / (2 delta^2)")
    x = noise.prepare(x)
    n_out = noise.labels.size
    zero = np.zeros(eps.size, dtype=np.int64)
    candidates = _predicted_maps(predict, x, noise, n_centers, seed, "center/candidates",
                             batch_size)
    samples = _predicted_maps(predict, x, noise, n_pred, seed, "center/median", batch_size)
    medians = np.median(_hamming(candidates, samples), axis=1)
    best = int(np.argmin(medians))
    center, radius = candidates[best], medians[best]
    check = _predicted_maps(predict, x, noise, n_pred, seed, "center/check", batch_size)
    inside = float(np.mean(_hamming(center[None], check)[0] <= radius))
    if max(delta_1, 0.5 - (inside - delta_1)) > delta:
        return CenterSmoothing(None, zero)
    certify = _predicted_maps(predict, x, noise, n_cert, seed, "center/certify", batch_size)
    dist = np.sort(_hamming(center[None], certify)[0])
    q = norm.cdf(norm.ppf(0.5 + delta) + eps / noise.sigma_min) \
        + math.sqrt(math.log(1 / alpha_2) / (2 * n_cert))
    valid = q <= 1.0
    # conservative empirical quantile: the ceil(q n)-th smallest distance
    index = np.clip(np.ceil(np.where(valid, q, 1.0) * n_cert).astype(np.int64) - 1, 0, n_cert - 1)
    moved = np.floor((1.0 + beta) * dist[index]).astype(np.int64)
    robust = np.where(valid, np.maximum(n_out - moved, 0), 0)
    return CenterSmoothing(center, robust)
