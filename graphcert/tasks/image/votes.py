"""Per-pixel vote counting under localized image noise (SPEC §4, §7).

The graph engine (`graphcert.sampling.engine`) keeps softmax-score histograms for the
variance-constrained certificate; vote-based Gaussian certificates only need, per pixel, how
often each class is predicted. One sample set per output cell: samples drawn from the
distribution of cell k count only for the pixels of cell k. The candidate class of each pixel
comes from a separate pre-sample (phase PRE), the votes for it from the main sample (MAIN),
each cell seeded by `chunk_generator(seed, phase, cell, 0)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from graphcert.sampling.chunks import SmoothingNoise
from graphcert.sampling.streams import MAIN, PRE, chunk_generator

__all__ = ["PixelVotes", "cell_votes", "smoothed_votes"]

Predict = Callable[[torch.Tensor], torch.Tensor]


def _positive(value, name: str) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def cell_votes(predict: Predict, x, noise: SmoothingNoise, n_samples: int, n_classes: int, *,
               batch_size: int = 32, seed: int = 0, phase: int = MAIN) -> np.ndarray:
    """(H * W, n_classes) vote counts; pixel n counts the samples of its own cell's distribution.

    ``predict`` maps a (B, channels, H, W) batch to (B, H, W) integer labels in
    ``[0, n_classes)`` (e.g. ``lambda z: model(z).argmax(1)``).
    """
    n_samples, n_classes = _positive(n_samples, "n_samples"), _positive(n_classes, "n_classes")
    batch_size = _positive(batch_size, "batch_size")
    x = noise.prepare(x)
    labels = np.asarray(noise.labels)
    counts = torch.zeros(labels.size * n_classes, dtype=torch.int64)
    with torch.no_grad():
        for cell in np.unique(labels):
            pixels = torch.from_numpy(np.flatnonzero(labels == cell))
            rng = chunk_generator(seed, phase, int(cell), 0)
            for start in range(0, n_samples, batch_size):
                size = min(batch_size, n_samples - start)
                pred = predict(noise.sample(x, int(cell), size, rng)).reshape(size, -1)
                if pred.shape[1] != labels.size:
                    raise ValueError(f"predict returned {tuple(pred.shape)} labels per batch, "
                                     f"expected {labels.size} per sample")
                pred = pred[:, pixels].long()
                if pred.numel() and (pred.min() < 0 or pred.max() >= n_classes):
                    raise ValueError(f"predicted labels must lie in [0, {n_classes})")
                counts += torch.bincount((pixels * n_classes + pred).ravel(),
                                         minlength=counts.numel())
    return counts.reshape(labels.size, n_classes).numpy()


@dataclass(frozen=True)
class PixelVotes:
    """Candidate class per pixel (from the pre-sample) and its votes among ``n`` main samples."""

    candidate: np.ndarray
    votes: np.ndarray
    n: int


def smoothed_votes(predict: Predict, x, noise: SmoothingNoise, n_classes: int, n_pre: int,
                   n_samples: int, *, batch_size: int = 32, seed: int = 0) -> PixelVotes:
    """Pre-sample fixes each pixel's candidate (argmax, ties to the lower class), the main
    sample counts its votes (SPEC §4: the candidate must not come from the counted samples)."""
    pre = cell_votes(predict, x, noise, n_pre, n_classes, batch_size=batch_size, seed=seed,
                     phase=PRE)
    candidate = pre.argmax(axis=1)
    main = cell_votes(predict, x, noise, n_samples, n_classes, batch_size=batch_size, seed=seed,
                      phase=MAIN)
    return PixelVotes(candidate, main[np.arange(candidate.size), candidate], int(n_samples))
