"""`graphcert attribute`: certified attributions of a small CNN on scikit-learn's digits
(docs/theory.md §7, Anani et al. 2025): certified maps per K, the overlaid map, %certified,
Certified GridPG on 2 x 2 grids of distinct digits and deletion faithfulness."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from graphcert.run.demos.configs import AttributeConfig
from graphcert.run.demos.data import digits_dataset
from graphcert.run.demos.models import DigitsCNN
from graphcert.tasks.image.attribution import (
    CertifiedAttribution,
    attribution_method,
    certified_gridpg,
    certify_attribution,
    deletion_curve,
    image_grid,
    percent_certified,
)
from graphcert.tasks.image.segmentation import ABSTAIN
from graphcert.utils.io import write_figure

__all__ = ["AttributeConfig", "run"]


def train(config: AttributeConfig, x: torch.Tensor, y: torch.Tensor) -> DigitsCNN:
    """Adam on noisy images (Gaussian, sigma as in certification)."""
    torch.manual_seed(config.seed)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(config.epochs):
        for idx in torch.randperm(len(x)).split(32):
            loss = F.cross_entropy(model(x[idx] + config.sigma * torch.randn_like(x[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def run(config: AttributeConfig, out: Path) -> dict:
    """Train the CNN, certify the attribution maps of every method, write the plots.

    Args:
        config (AttributeConfig): the settings.
        out (Path): the output directory.

    Returns:
        dict: ``radius``, the ``table`` (one row per method) and the certified ``images``.
    """
    out.mkdir(parents=True, exist_ok=True)
    x, y = digits_dataset()
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(config.seed))
    train_idx, test_idx = perm[:1500], perm[1500:]
    t0 = time.time()
    model = train(config, x[train_idx], y[train_idx])
    with torch.no_grad():
        pred = model(x[test_idx]).argmax(1)
    print(f"trained CNN in {time.time() - t0:.0f} s, clean test accuracy "
          f"{(pred == y[test_idx]).float().mean():.3f}")
    correct = test_idx[pred == y[test_idx]]
    images = [int(i) for i in correct[:config.n_images]]
    grids = _grids(correct, y, config)
    kw = dict(n_pre=config.n_pre, n_samples=config.n_samples, tau=config.tau,
              alpha=config.alpha, seed=config.seed)
    table, maps = [], {}
    for name in config.methods:
        t0 = time.time()
        attribute = attribution_method(name, model, model.features)
        certs = [certify_attribution(attribute, x[i], int(y[i]), config.ks, config.sigma, **kw)
                 for i in images]
        maps[name] = certs[0]
        grid_scores = []
        for grid, target in grids:
            gc = certify_attribution(attribute, grid, target, config.ks, config.sigma, **kw)
            grid_scores.append([certified_gridpg(m, 2, 0) for m in gc.maps])
        curves = np.stack([deletion_curve(model, x[i], int(y[i]), c)
                           for i, c in zip(images, certs, strict=True)])
        table.append({"method": name,
                      "%certified": 100 * np.mean([percent_certified(c.maps) for c in certs]),
                      "%cert-1": 100 * np.mean([np.mean(c.maps == 1) for c in certs]),
                      "cert GridPG": _mean_defined(grid_scores),
                      "deletion": curves.mean(0).round(3).tolist(),
                      "seconds": round(time.time() - t0, 1)})
    _plot(maps, x[images[0]], config, out)
    return {"radius": maps[config.methods[0]].radius, "table": table, "images": images}


def _mean_defined(values) -> float:
    """Mean of the non-NaN values (NaN: GridPG undefined when nothing is certified as 1)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def _grids(correct: torch.Tensor, y: torch.Tensor, config: AttributeConfig):
    """2 x 2 grids of correctly classified digits of distinct classes; target: top-left."""
    x, _ = digits_dataset()
    rng = np.random.default_rng(config.seed)
    grids = []
    for _ in range(config.n_grids):
        chosen, classes = [], set()
        for i in rng.permutation(correct.numpy()):
            if int(y[i]) not in classes:
                chosen.append(int(i))
                classes.add(int(y[i]))
            if len(chosen) == 4:
                break
        grids.append((image_grid([x[i] for i in chosen], 2), int(y[chosen[0]])))
    return grids


def overlaid(cert: CertifiedAttribution) -> np.ndarray:
    """Smallest K at which each pixel is certified as 1 (NaN: never): lower K wins."""
    level = np.full(cert.maps.shape[1:], np.nan)
    for i in np.argsort(cert.ks)[::-1]:
        level[cert.maps[i] == 1] = cert.ks[i]
    return level


def _plot(maps: dict, image: torch.Tensor, config: AttributeConfig, out: Path) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    cmap = ListedColormap(["#bbbbbb", "#ffffff", "#d62728"])  # abstain, 0, 1
    cols = len(config.ks) + 2
    fig = Figure(figsize=(1.6 * cols, 1.7 * len(maps)))
    axes = fig.subplots(len(maps), cols, squeeze=False)
    for row, (name, cert) in zip(axes, maps.items(), strict=True):
        row[0].imshow(image[0].numpy(), cmap="gray")
        row[0].set_ylabel(name, fontsize=8)
        for a, k, m in zip(row[1:-1], cert.ks, cert.maps, strict=True):
            a.imshow(np.where(m == ABSTAIN, 0, m + 1), cmap=cmap, vmin=0, vmax=2,
                     interpolation="nearest")
            a.set_title(f"K={k:g}%", fontsize=8)
        row[-1].imshow(overlaid(cert), cmap="Reds_r", vmin=0, vmax=max(config.ks) * 1.3,
                       interpolation="nearest")
        row[-1].set_title("overlaid", fontsize=8)
        for a in row:
            a.set_xticks([])
            a.set_yticks([])
    fig.suptitle(f"certified attributions (red 1, white 0, grey abstain), "
                 f"R = {cert.radius:.3f}", fontsize=9)
    fig.tight_layout()
    write_figure(out / "attribution_maps.png", fig, dpi=120)
