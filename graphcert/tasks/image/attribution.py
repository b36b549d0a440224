"""Pixel-level certified attributions by randomized smoothing (docs/theory.md §7, Anani et al.
2025).

An attribution method h maps images and a target class to (B, H, W) maps; the sparsified map
h^K marks the top K% of each map as 1 (ties broken by pixel index), the rest 0. Smoothing
h^K with N(0, sigma^2 I) turns it into a two-class segmentation: pixel i is certified as
c in {0, 1} if the Holm-corrected binomial test of ``Pr[h^K_i(x + e) = c] > tau`` passes
(SegCertify*), for every l2 perturbation below ``R = sigma * Phi^{-1}(tau)``. One noisy
sample set serves all K levels (each level is its own Holm family).

Attribution methods: captum's Saliency, InputXGradient, IntegratedGradients, GuidedBackprop,
LayerGradCam (upsampled to the input), Occlusion and LRP (epsilon rule), plus RISE.
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from graphcert.noise.gaussian import GridGaussian
from graphcert.sampling.predictions import sample_predictions
from graphcert.tasks.image.segmentation import ABSTAIN, segcertify_star
from graphcert.tasks.image.votes import PixelVotes

__all__ = ["ATTRIBUTION_METHODS", "CertifiedAttribution", "attribution_method", "certified_gridpg",
           "certify_attribution", "deletion_curve", "image_grid", "percent_certified", "rise",
           "sparsify"]

Attribution = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ATTRIBUTION_METHODS = ("saliency", "inputxgradient", "integratedgradients", "guidedbackprop",
                       "gradcam", "occlusion", "lrp", "rise")


def _check_k(k: float) -> Fraction:
    frac = Fraction(str(k)) if isinstance(k, float) else Fraction(k)
    if not 0 < frac <= 100:
        raise ValueError(f"K must lie in (0, 100], got {k}")
    return frac


def sparsify(attribution: torch.Tensor, k: float) -> torch.Tensor:
    """h^K: 1 for the ``ceil(K N / 100)`` largest values of each (H, W) map, else 0
    (docs/theory.md §7).

    Exactly K% ones whenever K N / 100 is whole; ties go to the lower (row-major) index.

    Args:
        attribution (Tensor): maps, shape (..., H, W).
        k (float): percent of ones, in (0, 100].

    Returns:
        Tensor: int64 of ``attribution``'s shape.
    """
    n = attribution.shape[-2] * attribution.shape[-1]
    n_ones = math.ceil(_check_k(k) * n / 100)
    flat = attribution.reshape(-1, n)
    order = torch.argsort(flat, dim=1, descending=True, stable=True)
    out = torch.zeros_like(flat, dtype=torch.long)
    out.scatter_(1, order[:, :n_ones], 1)
    return out.reshape(attribution.shape)


# ----------------------------------------------------------------------------- methods
def rise(model: nn.Module, n_masks: int = 500, cells: int = 6, keep: float = 0.5,
         seed: int = 0, batch_size: int = 100) -> Attribution:
    """RISE (Petsiuk et al. 2018): ``sum_i p_target(x * M_i) M_i / (n_masks * keep)`` over
    fixed random masks (bilinearly upsampled ``cells x cells`` Bernoulli(keep) grids with a
    random shift), so the attribution is a deterministic function of the input.

    Args:
        model (nn.Module): the classifier.
        n_masks (int): number of masks.
        cells (int): grid side of a mask before upsampling.
        keep (float): probability that a cell is kept.
        seed (int): seed of the masks.
        batch_size (int): masks per forward pass.

    Returns:
        Attribution: the attribution function.
    """
    gen = torch.Generator().manual_seed(seed)
    grid = (torch.rand(n_masks, 1, cells, cells, generator=gen) < keep).float()
    shifts = torch.rand(n_masks, 2, generator=gen)
    cache: dict[tuple[int, int], torch.Tensor] = {}

    def masks(h: int, w: int) -> torch.Tensor:
        if (h, w) not in cache:
            ch, cw = math.ceil(h / cells), math.ceil(w / cells)
            up = F.interpolate(grid, size=((cells + 1) * ch, (cells + 1) * cw), mode="bilinear",
                               align_corners=False)
            dy, dx = (shifts[:, 0] * ch).long(), (shifts[:, 1] * cw).long()
            cache[h, w] = torch.stack([up[i, 0, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
                                       for i in range(n_masks)])
        return cache[h, w]

    def attribute(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        m = masks(*x.shape[-2:])
        out = torch.zeros(x.shape[0], *x.shape[-2:])
        with torch.no_grad():
            for b in range(x.shape[0]):
                for s in range(0, n_masks, batch_size):
                    mb = m[s:s + batch_size]
                    p = torch.softmax(model(x[b:b + 1] * mb[:, None]), dim=1)[:, target[b]]
                    out[b] += torch.einsum("n,nhw->hw", p, mb)
        return out / (n_masks * keep)

    return attribute


def _lrp_model(model: nn.Module) -> nn.Module:
    """A copy of the model with the LRP-alpha1-beta0 (z+) rule on convolutions and
    LRP-epsilon (0.25) on linear layers; captum's default (epsilon 1e-9 everywhere) coincides
    with Input x Gradient on ReLU networks."""
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule

    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.rule = Alpha1_Beta0_Rule()
        elif isinstance(module, nn.Linear):
            module.rule = EpsilonRule(epsilon=0.25)
    return model


def attribution_method(name: str, model: nn.Module, layer: nn.Module | None = None, *,
                       occlusion_window: int = 4, occlusion_stride: int = 3,
                       ig_steps: int = 16) -> Attribution:
    """(B, C, H, W) images, (B,) targets -> (B, H, W) attributions (channels summed).

    ``gradcam`` needs ``layer`` (a convolution); its map is bilinearly upsampled to the input.
    ``lrp`` (z+ / epsilon rules, see `_lrp_model`) needs a model made of captum-supported
    modules (no module used twice).

    Args:
        name (str): one of `ATTRIBUTION_METHODS`.
        model (nn.Module): the classifier.
        layer (nn.Module, optional): the convolution for ``gradcam``.
        occlusion_window (int): side of the occlusion window.
        occlusion_stride (int): stride of the occlusion window.
        ig_steps (int): integrated gradients' steps.

    Returns:
        Attribution: the attribution function.
    """
    from captum import attr

    if name not in ATTRIBUTION_METHODS:
        raise ValueError(f"unknown attribution method {name!r}; choose from "
                         f"{ATTRIBUTION_METHODS}")
    if name == "rise":
        return rise(model, n_masks=300)
    if name == "gradcam":
        if layer is None:
            raise ValueError("gradcam needs the layer to attribute to")
        method = attr.LayerGradCam(model, layer)
    else:
        method = {"saliency": attr.Saliency, "inputxgradient": attr.InputXGradient,
                  "integratedgradients": attr.IntegratedGradients,
                  "guidedbackprop": attr.GuidedBackprop, "occlusion": attr.Occlusion,
                  "lrp": attr.LRP}[name](_lrp_model(model) if name == "lrp" else model)

    def attribute(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x = x.detach().clone().requires_grad_(name != "occlusion")
        target = target.tolist()
        if name == "gradcam":
            out = attr.LayerAttribution.interpolate(method.attribute(x, target=target),
                                                    tuple(x.shape[-2:]), "bilinear")
        elif name == "occlusion":
            w = occlusion_window
            out = method.attribute(x, target=target, sliding_window_shapes=(x.shape[1], w, w),
                                   strides=(x.shape[1], occlusion_stride, occlusion_stride),
                                   perturbations_per_eval=64)
        elif name == "integratedgradients":
            out = method.attribute(x, target=target, n_steps=ig_steps)
        else:
            with warnings.catch_warnings():  # guided backprop announces its ReLU hooks
                warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
                out = method.attribute(x, target=target)
        return out.detach().sum(dim=1)

    return attribute


# ----------------------------------------------------------------------------- certification
@dataclass(frozen=True)
class CertifiedAttribution:
    """Certified maps per K: (H, W) arrays of 1, 0 or ``ABSTAIN``; all share ``radius``.

    Args:
        ks (tuple[float, ...]): the K values (percent of ones).
        maps (np.ndarray): certified maps, (len(ks), H, W).
        radius (float): the l2 radius they hold for.
    """

    ks: tuple[float, ...]
    maps: np.ndarray  # (len(ks), H, W)
    radius: float


def _sparse_votes(attribute: Attribution, x: torch.Tensor, target: int, ks: Sequence[float],
                  noise: GridGaussian, n: int, stream: str, seed: int,
                  batch_size: int) -> np.ndarray:
    """(len(ks), H * W) counts of h^K = 1 over n noisy samples of `stream`."""
    ones = np.zeros((len(ks), x.shape[-2] * x.shape[-1]), dtype=np.int64)

    def maps_of(z: torch.Tensor) -> torch.Tensor:
        return attribute(z, torch.full((z.shape[0],), target))

    for maps in sample_predictions(maps_of, partial(noise.sample, x, 0), n, seed=seed,
                                   stream=stream, batch_size=batch_size):
        for i, k in enumerate(ks):
            ones[i] += sparsify(maps, k).reshape(maps.shape[0], -1).sum(0).numpy()
    return ones


def certify_attribution(attribute: Attribution, x: torch.Tensor, target: int, ks: Sequence[float],
                        sigma: float, *, n_pre: int = 20, n_samples: int = 100,
                        tau: float = 0.75, alpha: float = 0.001, batch_size: int = 25,
                        seed: int = 0) -> CertifiedAttribution:
    """Certify h^K of one (C, H, W) image for every K (docs/theory.md §7): the pre-sample fixes each
    pixel's candidate (majority), the main sample's votes go through SegCertify*.

    Args:
        attribute (Attribution): the attribution function.
        x (Tensor): the image, shape (C, H, W).
        target (int): the class to attribute.
        ks (Sequence[float]): the K values in (0, 100].
        sigma (float): Gaussian noise level.
        n_pre (int): pre-samples.
        n_samples (int): main samples.
        tau (float): SegCertify*'s threshold.
        alpha (float): significance level.
        batch_size (int): images per attribution call.
        seed (int): seed of the samples.

    Returns:
        CertifiedAttribution: the maps.
    """
    ks = tuple(float(_check_k(k)) for k in ks)
    noise = GridGaussian.isotropic(x.shape[-2], x.shape[-1], sigma)
    x = noise.prepare(x)
    pre = _sparse_votes(attribute, x, target, ks, noise, n_pre, "pre", seed, batch_size)
    main = _sparse_votes(attribute, x, target, ks, noise, n_samples, "main", seed, batch_size)
    maps, radius = [], 0.0
    for i in range(len(ks)):
        candidate = (2 * pre[i] > n_pre).astype(np.int64)
        votes = np.where(candidate == 1, main[i], n_samples - main[i])
        certified, radius = segcertify_star(PixelVotes(candidate, votes, n_samples), sigma,
                                            tau, alpha)
        maps.append(certified.reshape(x.shape[-2:]))
    return CertifiedAttribution(ks, np.stack(maps), radius)


# ----------------------------------------------------------------------------- metrics
def percent_certified(certified_map: np.ndarray) -> float:
    """Share of pixels certified as 0 or 1 (docs/theory.md §7).

    Args:
        certified_map (np.ndarray): certified map, (H, W).

    Returns:
        float: the share in [0, 1].
    """
    return float(np.mean(np.asarray(certified_map) != ABSTAIN))


def image_grid(images: Sequence[torch.Tensor], m: int) -> torch.Tensor:
    """Tile m * m equally sized (C, h, w) images row-major into one (C, m h, m w) image.

    Args:
        images (Sequence[Tensor]): m * m images, (C, h, w) each.
        m (int): grid side.

    Returns:
        Tensor: (C, m h, m w).
    """
    if len(images) != m * m:
        raise ValueError(f"need m * m = {m * m} images, got {len(images)}")
    rows = [torch.cat(list(images[i * m:(i + 1) * m]), dim=-1) for i in range(m)]
    return torch.cat(rows, dim=-2)


def certified_gridpg(certified_map: np.ndarray, m: int, cell: int) -> float:
    """Certified GridPG: share of the pixels certified as 1 that lie in sub-image ``cell``
    (row-major) of an m x m grid; NaN if no pixel is certified as 1.

    Args:
        certified_map (np.ndarray): certified map, shape (m h, m w).
        m (int): grid side.
        cell (int): the sub-image, in [0, m * m).

    Returns:
        float: the share, or NaN.
    """
    certified_map = np.asarray(certified_map)
    h, w = certified_map.shape[0] // m, certified_map.shape[1] // m
    if certified_map.shape != (m * h, m * w) or not 0 <= cell < m * m:
        raise ValueError(f"certified_map {certified_map.shape} is not an {m} x {m} grid or "
                         f"bad cell {cell}")
    ones = certified_map == 1
    if not ones.any():
        return float("nan")
    i, j = divmod(cell, m)
    return float(ones[i * h:(i + 1) * h, j * w:(j + 1) * w].sum() / ones.sum())


def deletion_curve(model: nn.Module, x: torch.Tensor, target: int,
                   certified: CertifiedAttribution, baseline: float = 0.0) -> np.ndarray:
    """Deletion faithfulness (docs/theory.md §7): the target-class probability on x, then after
    removing (setting to ``baseline``) the pixels certified as 1 at each K, smallest K first,
    cumulatively.

    Args:
        model (nn.Module): the classifier.
        x (Tensor): the image, shape (C, H, W).
        target (int): the class.
        certified (CertifiedAttribution): the certified maps.
        baseline (float): the value of removed pixels.

    Returns:
        np.ndarray: float32 (len(ks) + 1,).
    """
    order = np.argsort(certified.ks, kind="stable")
    removed = np.zeros(x.shape[-2:], dtype=bool)
    batch = [x.clone()]
    for i in order:
        removed |= certified.maps[i] == 1
        z = x.clone()
        z[:, torch.from_numpy(removed)] = baseline
        batch.append(z)
    with torch.no_grad():
        return torch.softmax(model(torch.stack(batch)), dim=1)[:, target].numpy()
