"""`graphcert multimodal`: MMCert on synthetic road scenes with two modalities (docs/theory.md §7,
Wang et al. 2024).

A tiny U-Net segments road / not road from an RGB-like and a depth-like image, trained on
ablated inputs. Each test scene is smoothed by majority vote over N ablated inputs, once with
MMCert (k_1 RGB and k_2 depth pixels kept, sampled independently per modality) and once with
randomized ablation (k_1 + k_2 of all pixels pooled), and every pixel is certified against
r_1 modified RGB and r_2 modified depth pixels on a grid of (r_1, r_2).
"""
from __future__ import annotations

import io
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from graphcert.certificates import mmcert_certified
from graphcert.noise.ablation import AblationSampler
from graphcert.run.demos.configs import BATCH, MultimodalConfig
from graphcert.run.demos.data import road_scenes
from graphcert.run.demos.models import TinyUNet
from graphcert.tasks.image.multimodal import (
    MMVotes,
    ablate,
    ablation_votes,
    mmcert_bounds,
    segmentation_scores,
)
from graphcert.utils.io import write_bytes, write_figure

__all__ = ["MultimodalConfig", "load_or_train", "run", "train"]

METHODS = ("MMCert", "RA")  # RA: randomized ablation, the pooled baseline
SUMMARY = ("method", "clean acc", "ablated acc", "smoothed acc", "smoothed F", "smoothed IoU")
N_EXAMPLES = 3
TRAIN_FIELDS = ("size", "n_train", "steps", "k", "seed")


def _samplers(config: MultimodalConfig) -> dict[str, AblationSampler]:
    """MMCert's per-modality sampler and the pooled randomized-ablation one (docs/theory.md §7)."""
    n = (config.size**2,) * 2
    return {"MMCert": AblationSampler(n, config.k),
            "RA": AblationSampler(n, config.k, pooled=True)}


def train(config: MultimodalConfig) -> TinyUNet:
    """Adam on cross-entropy over ablated scenes, alternating MMCert and pooled ablations
    (training on the smoothing distributions, as MMCert does).

    Args:
        config (MultimodalConfig): the settings.

    Returns:
        TinyUNet: the model in eval mode.
    """
    torch.manual_seed(config.seed)
    rgb, depth, road = road_scenes(config.n_train, config.size, seed=config.seed)
    samplers = list(_samplers(config).values())
    model = TinyUNet(6, 2)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(config.seed)
    for step in range(config.steps):
        idx = rng.choice(config.n_train, BATCH, replace=False)
        masks = samplers[step % 2].masks(BATCH, rng)
        batch = torch.cat([ablate([rgb[i], depth[i]], [m[j:j + 1] for m in masks])
                           for j, i in enumerate(idx)])
        loss = F.cross_entropy(model(batch), road[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def load_or_train(config: MultimodalConfig, out: Path) -> TinyUNet:
    """The model saved in ``out/model.pt`` if it was trained with the same settings, else a
    freshly trained (and atomically saved) one.

    Args:
        config (MultimodalConfig): the settings.
        out (Path): the output directory.

    Returns:
        TinyUNet: the model in eval mode.
    """
    path = out / "model.pt"
    settings = {f: list(v) if isinstance(v := getattr(config, f), tuple) else v
                for f in TRAIN_FIELDS}
    if path.exists():
        try:
            saved = torch.load(path, weights_only=True)
            state = saved["state"] if saved["settings"] == settings else None
        except Exception as error:  # truncated or foreign file: torch raises many kinds
            raise ValueError(f"{path} is unreadable ({type(error).__name__}: {error}); it is "
                             "the demo's trained model: delete it to retrain") from None
        if state is not None:
            model = TinyUNet(6, 2)
            model.load_state_dict(state)
            print(f"reloaded model from {path}")
            return model.eval()
    t0 = time.time()
    model = train(config)
    buffer = io.BytesIO()
    torch.save({"settings": settings, "state": model.state_dict()}, buffer)
    write_bytes(path, buffer.getvalue())
    print(f"trained U-Net in {time.time() - t0:.0f} s")
    return model


def _certify(predict, modalities, sampler: AblationSampler, budgets, config: MultimodalConfig,
             seed: int):
    """Main-sample vote counts (pixels, 2) and certified (pixels, budgets) of one scene."""
    kw = dict(n_classes=2, seed=seed)
    pre = ablation_votes(predict, modalities, sampler, config.n_pre, stream="pre", **kw)
    main = ablation_votes(predict, modalities, sampler, config.n_samples, stream="main", **kw)
    votes = MMVotes.from_counts(pre, main, config.n_samples)
    lower, upper = mmcert_bounds(votes, config.alpha)
    if sampler.pooled:  # randomized ablation: one modality of sum n_i elements, r = sum r_i
        n, k, budgets = (sum(sampler.n),), (sum(sampler.k),), [(sum(r),) for r in budgets]
    else:
        n, k = sampler.n, sampler.k
    return main, mmcert_certified(lower, upper, n, k, budgets)


class SceneResult(NamedTuple):
    """One scene under one method: certified (acc, F, IoU) per budget (budgets, 3), the
    summary row (clean, ablated, smoothed acc, F, IoU), the smoothed prediction (pixels,)
    and the certified pixels per budget (pixels, budgets)."""

    scores: np.ndarray
    summary: np.ndarray
    smoothed: np.ndarray
    certified: np.ndarray


def _scene(predict, scene: list[torch.Tensor], target: np.ndarray, budgets: list,
           config: MultimodalConfig, seed: int) -> dict[str, SceneResult]:
    """Smooth and certify one scene with MMCert and with randomized ablation."""
    n_pix = target.size
    with torch.no_grad():
        full = [np.ones((1, n_pix), dtype=bool)] * 2
        clean = predict(ablate(scene, full)).numpy().ravel()
    out = {}
    for method, sampler in _samplers(config).items():
        main, certified = _certify(predict, scene, sampler, budgets, config, seed)
        smoothed = main.argmax(1)
        scores = np.array([list(segmentation_scores(smoothed, c, target, 2).values())
                           for c in certified.T])
        plain = segmentation_scores(smoothed, np.ones(n_pix, dtype=bool), target, 2)
        summary = [np.mean(clean == target),
                   main[np.arange(n_pix), target].mean() / config.n_samples, *plain.values()]
        out[method] = SceneResult(scores, np.array(summary), smoothed, certified)
    return out


def run(config: MultimodalConfig, out: Path) -> dict:
    """Train or reload, certify ``n_test`` scenes with both methods, write the PNGs.

    Args:
        config (MultimodalConfig): the settings.
        out (Path): the output directory.

    Returns:
        dict: budgets, summary, certified accuracy, regions and the table.
    """
    out.mkdir(parents=True, exist_ok=True)
    model = load_or_train(config, out)
    predict = lambda z: model(z).argmax(1)  # noqa: E731
    rgb, depth, road = road_scenes(config.n_test, config.size, seed=config.seed + 1)
    grid = list(range(0, config.r_max + 1, config.r_step))
    region = [(a, b) for a in grid for b in grid]
    report = [(a, b) for a in config.report_r for b in config.report_r]
    budgets = region + report + [tuple(config.example_r)]
    scenes = [_scene(predict, [rgb[i], depth[i]], road[i].numpy().ravel(), budgets, config,
                     config.seed + i) for i in range(config.n_test)]
    scores = {m: np.mean([s[m].scores for s in scenes], axis=0) for m in METHODS}
    summary = {m: np.mean([s[m].summary for s in scenes], axis=0) for m in METHODS}
    accuracy = {m: scores[m][:len(region), 0].reshape(len(grid), len(grid)) for m in METHODS}
    results = {
        "k": list(config.k), "r": grid,
        "summary": [dict(zip(SUMMARY, [m, *summary[m].tolist()], strict=True)) for m in METHODS],
        "certified_accuracy": {m: a.tolist() for m, a in accuracy.items()},
        "region": {m: _region(a, grid, config.region_level) for m, a in accuracy.items()},
        "table": [{"r1": a, "r2": b,
                   **{f"{m} {name}": float(scores[m][len(region) + j, col]) for m in METHODS
                      for col, name in enumerate(("acc", "F", "IoU"))}}
                  for j, (a, b) in enumerate(report)]}
    _plot(results, config, out)
    examples = [([rgb[i], depth[i]], road[i].numpy(),
                 {m: (s[m].smoothed, s[m].certified[:, -1]) for m in METHODS})
                for i, s in enumerate(scenes[:N_EXAMPLES])]
    _plot_examples(examples, _samplers(config)["MMCert"], config, out)
    return results


def _region(accuracy: np.ndarray, grid: list[int], level: float) -> list:
    """Per r_1 of the grid, the largest r_2 with certified accuracy >= level (None: none)."""
    return [max((r2 for r2, a in zip(grid, row, strict=True) if a >= level), default=None)
            for row in accuracy]


def _plot(results: dict, config: MultimodalConfig, out: Path) -> None:
    """Heatmaps of certified pixel accuracy over (r1, r2): MMCert, the baseline, difference."""
    from matplotlib.figure import Figure

    grid = np.array(results["r"])
    acc = {m: np.array(results["certified_accuracy"][m]) for m in METHODS}
    extent = (grid[0] - config.r_step / 2, grid[-1] + config.r_step / 2) * 2
    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    panels = [(acc["MMCert"], f"MMCert, k = ({config.k[0]}, {config.k[1]})", "viridis", 0, 1),
              (acc["RA"], f"randomized ablation, k = {sum(config.k)} pooled", "viridis", 0, 1),
              (acc["MMCert"] - acc["RA"], "MMCert - randomized ablation", "RdBu", -1, 1)]
    for ax, (values, title, cmap, lo, hi) in zip(axes, panels, strict=True):
        im = ax.imshow(values.T, origin="lower", extent=extent, cmap=cmap, vmin=lo, vmax=hi,
                       interpolation="nearest", aspect="auto")
        if cmap == "viridis":
            ax.contour(grid, grid, values.T, levels=[config.region_level], colors="white")
        ax.set(xlabel="r1 (modified RGB pixels)", ylabel="r2 (modified depth pixels)",
               title=title)
        fig.colorbar(im, ax=ax, label="certified pixel accuracy" if cmap == "viridis"
                     else "difference")
    fig.suptitle(f"certified pixel accuracy over (r1, r2), {config.n_test} road scenes "
                 f"{config.size}x{config.size}, N = {config.n_samples}; white: "
                 f"{config.region_level:g} level", fontsize=10)
    fig.tight_layout()
    write_figure(out / "multimodal_region.png", fig, dpi=110)


def _plot_examples(examples: list, sampler: AblationSampler, config: MultimodalConfig,
                   out: Path) -> None:
    """One row per scene: inputs, one ablated input, truth, smoothed prediction and the
    certified-pixel masks of both methods at ``example_r``."""
    import matplotlib
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    status = ListedColormap(["#444444", "#2ca02c", "#d62728"])  # not certified, right, wrong
    sparse = matplotlib.colormaps["viridis"].with_extremes(bad="white")
    rng = np.random.default_rng(config.seed)
    r1, r2 = config.example_r
    fig = Figure(figsize=(15, 2.1 * len(examples) + 0.5))
    axes = fig.subplots(len(examples), 8, squeeze=False)
    for row, (scene, road, certs) in zip(axes, examples, strict=True):
        ablated = ablate(scene, sampler.masks(1, rng))[0].numpy()  # dropped pixels white
        panels = [(scene[0].permute(1, 2, 0).numpy(), "RGB", None, {}),
                  (scene[1][0].numpy(), "depth", "viridis", {}),
                  (np.where(ablated[3:4], ablated[:3], 1.0).transpose(1, 2, 0),
                   f"ablated RGB ({config.k[0]} kept)", None, {}),
                  (np.ma.masked_where(ablated[5] == 0, ablated[4]),
                   f"ablated depth ({config.k[1]} kept)", sparse, dict(vmin=0, vmax=1)),
                  (road, "truth (white: road)", "gray", {}),
                  (certs["MMCert"][0].reshape(road.shape), "MMCert smoothed", "gray", {})]
        for m in METHODS:
            smoothed, cert = certs[m]
            code = np.where(cert, np.where(smoothed == road.ravel(), 1, 2), 0)
            panels.append((code.reshape(road.shape), f"{m} certified, r = ({r1}, {r2})",
                           status, dict(vmin=0, vmax=2)))
        for ax, (img, title, cmap, kw) in zip(row, panels, strict=True):
            ax.imshow(img, cmap=cmap, interpolation="nearest", **kw)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.suptitle("certified masks: green certified and correct, red certified and wrong, "
                 "dark not certified", fontsize=9)
    fig.tight_layout()
    write_figure(out / "multimodal_example.png", fig, dpi=110)
