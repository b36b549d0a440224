"""`graphcert segment`: train a tiny U-Net on synthetic shapes, certify it (docs/theory.md §4-§7).

Localized smoothing on a rows x cols grid (naive and collective LP certificates) against
SegCertify* (isotropic, tau, Holm) and center smoothing; certified accuracy over l2 radii,
ACR, mIOU and pixel accuracy of the smoothed predictions (abstentions wrong).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from graphcert.certificates.collective import l2_certified_counts
from graphcert.data.grid import GridPartition
from graphcert.noise.gaussian import GridGaussian
from graphcert.run.demos.configs import SegmentConfig
from graphcert.run.demos.data import SHAPE_CLASSES, shapes_dataset
from graphcert.run.demos.models import TinyUNet
from graphcert.tasks.image.center_smoothing import center_smoothing
from graphcert.tasks.image.segmentation import (
    ABSTAIN,
    anisotropic_certificate,
    confusion_matrix,
    mean_iou,
    pixel_accuracy,
    prediction,
    segcertify_star,
    segcertify_star_pixels,
)
from graphcert.tasks.image.votes import smoothed_votes
from graphcert.utils.io import write_figure

__all__ = ["SegmentConfig", "run"]


def train(config: SegmentConfig, noises: list[GridGaussian]) -> TinyUNet:
    """Adam on cross-entropy (background down-weighted), every image perturbed by a random cell's
    distribution of a random one of ``noises`` (training on the smoothing distributions,
    LRS App. C.2)."""
    torch.manual_seed(config.seed)
    x, y = shapes_dataset(config.n_train, config.size, seed=config.seed)
    model = TinyUNet(3, len(SHAPE_CLASSES))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(config.seed)
    for _ in range(config.steps):
        idx = rng.choice(len(x), 16, replace=False)
        batch = torch.stack([
            noises[j].sample(x[i], int(rng.integers(noises[j].n_clusters)), 1, rng)[0]
            for i, j in zip(idx, rng.integers(len(noises), size=16), strict=True)])
        loss = F.cross_entropy(model(batch), y[idx], weight=torch.tensor([0.3, 1.0, 1.0, 1.0]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def run(config: SegmentConfig, out: Path) -> dict:
    """Train the U-Net, certify the test images with every method, write the plots.

    Args:
        config (SegmentConfig): the settings.
        out (Path): the output directory.

    Returns:
        dict: ``eps``, the certified accuracy ``curves`` and the ``table``.
    """
    from graphcert.certificates.metrics import (
        average_certified_radius,
        center_smoothing_certified_accuracy,
    )

    out.mkdir(parents=True, exist_ok=True)
    part = GridPartition(config.size, config.size, config.rows, config.cols)
    local = GridGaussian(part, config.sigma_min, config.sigma_max)
    iso = GridGaussian.isotropic(config.size, config.size, config.sigma_iso)
    t0 = time.time()
    model = train(config, [local, iso])
    print(f"trained U-Net in {time.time() - t0:.0f} s")
    x_test, y_test = shapes_dataset(config.n_test, config.size, seed=config.seed + 1)
    eps = np.round(np.arange(0, config.eps_max + 1e-9, config.eps_step), 10)
    predict = lambda z: model(z).argmax(1)  # noqa: E731
    n_classes, n_pix = len(SHAPE_CLASSES), config.size**2
    curves = {m: np.zeros(eps.size) for m in ("localized naive", "localized collective",
                                              "SegCertify*", "center smoothing")}
    conf = {m: np.zeros((n_classes, n_classes + 1), np.int64) for m in ("localized", "iso")}
    examples = []
    iso_samples = config.n_samples * part.n_cells  # same total budget as localized smoothing
    for i, (x, y) in enumerate(zip(x_test, y_test, strict=True)):
        target = y.numpy().ravel()
        votes = smoothed_votes(predict, x, local, n_classes, config.n_pre, config.n_samples,
                               seed=config.seed + i)
        cert = anisotropic_certificate(votes, local, config.alpha)
        w = local.weights()
        curves["localized naive"] += l2_certified_counts(cert, target, w, eps, collective=False)
        curves["localized collective"] += l2_certified_counts(cert, target, w, eps)
        conf["localized"] += confusion_matrix(prediction(cert), target, n_classes)
        iso_votes = smoothed_votes(predict, x, iso, n_classes, config.n_pre, iso_samples,
                                   seed=config.seed + i)
        labels, radius = segcertify_star(iso_votes, config.sigma_iso, config.tau, config.alpha)
        curves["SegCertify*"] += segcertify_star_pixels(labels, radius, target, eps)
        conf["iso"] += confusion_matrix(labels, target, n_classes)
        center = center_smoothing(predict, x, iso, eps, alpha=config.alpha, seed=config.seed + i)
        n_correct = 0 if center.center is None else int(np.sum(center.center == target))
        curves["center smoothing"] += [
            center_smoothing_certified_accuracy(n_correct, int(robust), n_pix) * n_pix
            for robust in center.robust]
        examples.append((x, y.numpy(), prediction(cert).reshape(y.shape), labels.reshape(y.shape)))
    total = n_pix * config.n_test
    results = {"eps": eps.tolist(), "curves": {}, "table": []}
    for name, counts in curves.items():
        acc = counts / total
        results["curves"][name] = acc.tolist()
        c = conf["iso"] if name in ("SegCertify*", "center smoothing") else conf["localized"]
        results["table"].append({
            "method": name, "mIOU": mean_iou(c), "pixel acc": pixel_accuracy(c),
            "ACR": average_certified_radius(eps, acc),
            **{f"cert@{e:g}": float(acc[np.argmin(np.abs(eps - e))]) for e in (0.1, 0.25, 0.5)}})
    results["table"][-1]["mIOU"] = results["table"][-1]["pixel acc"] = float("nan")
    _plot(results, examples, config, out)
    return results


def _plot(results: dict, examples: list, config: SegmentConfig, out: Path) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, acc in results["curves"].items():
        ax.plot(results["eps"], acc, "--" if "naive" in name else "-", label=name)
    ax.set(xlabel="l2 radius eps", ylabel="certified pixel accuracy", ylim=(0, 1),
           title=f"U-Net on synthetic shapes, {config.rows}x{config.cols} grid, "
                 f"sigma {config.sigma_min}..{config.sigma_max}")
    ax.legend()
    fig.tight_layout()
    write_figure(out / "segment_certified_accuracy.png", fig, dpi=120)
    cmap = ListedColormap(["#222222", "#e41a1c", "#377eb8", "#4daf4a", "#bbbbbb"])
    fig = Figure(figsize=(8, 2 * len(examples)))
    axes = fig.subplots(len(examples), 4, squeeze=False)
    for row, (x, y, loc, iso) in zip(axes, examples, strict=True):
        row[0].imshow(x.permute(1, 2, 0).numpy())
        for a, lab in zip(row[1:], (y, loc, iso), strict=True):
            a.imshow(np.where(lab == ABSTAIN, 4, lab), cmap=cmap, vmin=0, vmax=4,
                     interpolation="nearest")
        titles = ("image", "truth", "localized (grey: abstain)", "SegCertify*")
        for a, t in zip(row, titles, strict=True):
            a.set_title(t, fontsize=8)
            a.axis("off")
    fig.tight_layout()
    write_figure(out / "segment_examples.png", fig, dpi=120)
