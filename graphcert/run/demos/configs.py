"""Settings of the image demos (`graphcert segment`, `attribute`, `multimodal`), typed schemas
like `graphcert.run.config.RunConfig` (flags, YAML and results.json share them).

This module imports no torch, so that the command line can build its flags quickly.
"""
from __future__ import annotations

from dataclasses import dataclass

from graphcert.noise.ablation import ablation_sizes
from graphcert.run.schema import Schema, option
from graphcert.utils.validation import check_choice

__all__ = ["AttributeConfig", "MultimodalConfig", "SegmentConfig"]

BATCH = 32  # multimodal training batch


def _even_size(size: int) -> None:
    if size % 2:
        raise ValueError(f"size == {size}, must be even (U-Net pooling)")


@dataclass(frozen=True)
class SegmentConfig(Schema):
    """`graphcert segment`: a tiny U-Net on synthetic shapes (docs/theory.md §4-§7).

    Args:
        **fields: one keyword per field below, each documented by its ``help`` (the text of
            ``graphcert segment --help``).
    """

    seed_fields = ("seed",)

    size: int = option(32, interval="[2, inf)", help="image side (even)")
    n_train: int = option(256, interval="[16, inf)", help="training images")
    n_test: int = option(4, interval="[1, inf)", help="certified test images")
    steps: int = option(800, interval="[1, inf)", help="training steps (batches of 16)")
    rows: int = option(2, interval="[1, inf)", help="grid rows of localized smoothing")
    cols: int = option(2, interval="[1, inf)", help="grid columns of localized smoothing")
    sigma_min: float = option(0.15, interval="(0, inf)",
                              help="noise level on the own cell")
    sigma_max: float = option(0.6, interval="(0, inf)",
                              help="noise level on the farthest cell")
    sigma_iso: float = option(0.15, interval="(0, inf)",
                              help="noise level of the isotropic baselines")
    tau: float = option(0.75, interval="[0.5, 1)", help="SegCertify* threshold")
    n_pre: int = option(16, interval="[1, inf)", help="pre-samples per cell")
    n_samples: int = option(256, interval="[1, inf)", help="Monte Carlo samples per cell")
    alpha: float = option(0.01, interval="(0, 1)", help="significance level")
    eps_max: float = option(1.0, interval="[0, inf)", help="largest l2 radius")
    eps_step: float = option(0.05, interval="(0, inf)",
                             help="l2 radius grid step")
    seed: int = option(0, interval="[0, 4294967295]", help="seed of data, training and sampling")

    def check(self) -> None:
        _even_size(self.size)
        if self.rows > self.size or self.cols > self.size:
            raise ValueError(f"rows == {self.rows}, cols == {self.cols}: a grid cell needs at "
                             f"least one pixel of the {self.size} x {self.size} image")
        if not self.sigma_min <= self.sigma_max:
            raise ValueError(f"sigma_min == {self.sigma_min} > sigma_max == {self.sigma_max}, "
                             "need sigma_min <= sigma_max")


@dataclass(frozen=True)
class AttributeConfig(Schema):
    """`graphcert attribute`: certified attributions of a small CNN on digits
    (docs/theory.md §7).

    Args:
        **fields: one keyword per field below, each documented by its ``help`` (the text of
            ``graphcert attribute --help``).
    """

    seed_fields = ("seed",)

    methods: tuple[str, ...] = option(
        ("saliency", "inputxgradient", "integratedgradients", "guidedbackprop", "gradcam",
         "occlusion", "lrp", "rise"), help="attribution methods")
    ks: tuple[float, ...] = option((5, 10, 20, 30, 50), interval="(0, 100]",
                                   help="K: percent of pixels kept as 1")
    n_images: int = option(2, interval="[1, inf)", help="certified test images")
    n_grids: int = option(1, interval="[0, inf)", help="2 x 2 grids for Certified GridPG")
    sigma: float = option(0.15, interval="(0, inf)",
                          help="Gaussian noise level")
    tau: float = option(0.75, interval="[0.5, 1)", help="SegCertify* threshold")
    alpha: float = option(0.001, interval="(0, 1)", help="significance level")
    n_pre: int = option(20, interval="[1, inf)", help="pre-samples per image")
    n_samples: int = option(100, interval="[1, inf)", help="Monte Carlo samples per image")
    epochs: int = option(4, interval="[1, inf)", help="training epochs")
    seed: int = option(0, interval="[0, 4294967295]", help="seed of data, training and sampling")

    def check(self) -> None:
        from graphcert.tasks.image.attribution import (
            ATTRIBUTION_METHODS,  # torch, captum
        )
        for i, name in enumerate(self.methods):
            check_choice(name, f"methods[{i}]", ATTRIBUTION_METHODS)


@dataclass(frozen=True)
class MultimodalConfig(Schema):
    """`graphcert multimodal` (docs/theory.md §7, Wang et al. 2024); ``k`` and ``example_r``
    are (RGB, depth), the baseline keeps sum(k).

    Args:
        **fields: one keyword per field below, each documented by its ``help`` (the text of
            ``graphcert multimodal --help``).
    """

    seed_fields = ("seed",)

    size: int = option(24, interval="[2, inf)", help="scene side (even)")
    n_train: int = option(512, interval=f"[{BATCH}, inf)", help="training scenes")
    n_test: int = option(12, interval="[1, inf)", help="certified test scenes")
    steps: int = option(1500, interval="[1, inf)", help="training steps")
    k: tuple[int, ...] = option((16, 48), interval="[0, inf)",
                                help="kept pixels per modality (RGB, depth)")
    n_pre: int = option(20, interval="[1, inf)", help="pre-samples per scene")
    n_samples: int = option(1000, interval="[1, inf)", help="Monte Carlo samples per scene")
    alpha: float = option(0.001, interval="(0, 1)", help="significance level")
    r_max: int = option(24, interval="[0, inf)", help="largest modified-pixel budget per modality")
    r_step: int = option(1, interval="[1, inf)", help="budget grid step")
    report_r: tuple[int, ...] = option((0, 4, 8), interval="[0, inf)", help="budgets of the table")
    example_r: tuple[int, ...] = option((8, 2), interval="[0, inf)", help="budget (r1, r2) of the "
                                        "example masks")
    region_level: float = option(0.5, interval="[0, 1]", help="certified accuracy of the region")
    seed: int = option(0, interval="[0, 4294967295]", help="seed of data, training and sampling")

    def check(self) -> None:
        if len(self.k) != 2 or len(self.example_r) != 2:
            raise ValueError(f"k {self.k} and example_r {self.example_r} need one entry per "
                             "modality (RGB, depth)")
        _even_size(self.size)
        budgets = (self.r_max, *self.report_r, *self.example_r)
        if max(budgets) > self.size**2:
            raise ValueError(f"budgets must lie in [0, size^2 = {self.size**2}], got {budgets}")
        if not self.r_step <= self.r_max:
            raise ValueError(f"need 1 <= r_step <= r_max (a grid of at least two budgets), "
                             f"got r_step {self.r_step}, r_max {self.r_max}")
        ablation_sizes((self.size**2,) * 2, self.k)  # 0 <= k_i <= size^2, some k_i > 0
