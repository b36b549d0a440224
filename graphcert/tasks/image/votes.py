"""Per-pixel vote counting under localized image noise (docs/theory.md §4, §7).

The graph engine (`graphcert.sampling.engine`) keeps softmax-score histograms for the
variance-constrained certificate; vote-based Gaussian certificates only need, per pixel, how
often each class is predicted. One sample set per output cell: samples drawn from the
distribution of cell k count only for the pixels of cell k. The candidate class of each pixel
comes from a separate pre-sample (stream ``"pre"``), the votes for it from the main sample
(``"main"``), drawn by `graphcert.sampling.predictions.sample_predictions` for each cell.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import torch

from graphcert.noise.gaussian import GridGaussian
from graphcert.sampling.predictions import sample_predictions
from graphcert.sampling.votes import VoteCounts
from graphcert.utils.validation import check_positive_int

__all__ = ["PixelVotes", "cell_votes", "smoothed_votes"]

Predict = Callable[[torch.Tensor], torch.Tensor]


def cell_votes(predict: Predict, x, noise: GridGaussian, n_samples: int, n_classes: int, *,
               batch_size: int = 32, seed: int = 0, stream: str = "main") -> np.ndarray:
    """(H * W, n_classes) vote counts; pixel n counts the samples of its own cell's distribution.

    ``predict`` maps a (B, channels, H, W) batch to (B, H, W) integer classes in
    ``[0, n_classes)`` (e.g. ``lambda z: model(z).argmax(1)``).

    Args:
        predict (Predict): (B, channels, H, W) -> (B, H, W) classes.
        x (array_like): the image, (channels, H, W).
        noise (GridGaussian): the noise.
        n_samples (int): samples per cell.
        n_classes (int): number of classes.
        batch_size (int): copies per call.
        seed (int): seed of the samples.
        stream (str): ``"pre"`` or ``"main"``.

    Returns:
        np.ndarray: int64 (H * W, n_classes).
    """
    n_classes = check_positive_int(n_classes, "n_classes")
    x = noise.prepare(x)
    labels = np.asarray(noise.labels)
    votes = VoteCounts(labels.size, n_classes)
    with torch.no_grad():
        for cell in np.unique(labels):
            pixels = np.flatnonzero(labels == cell)
            for predicted in sample_predictions(predict, partial(noise.sample, x, int(cell)),
                                                n_samples, seed=seed, stream=stream,
                                                output_cluster=int(cell),
                                                batch_size=batch_size):
                votes.add(predicted.reshape(predicted.shape[0], -1).numpy(), pixels)
    return votes.counts


@dataclass(frozen=True)
class PixelVotes:
    """Candidate class per pixel (from the pre-sample) and its votes among ``n`` main samples.

    Args:
        candidate (np.ndarray): candidate class per pixel, (H * W,).
        votes (np.ndarray): its votes, (H * W,).
        n (int): main samples.
    """

    candidate: np.ndarray
    votes: np.ndarray
    n: int


def smoothed_votes(predict: Predict, x, noise: GridGaussian, n_classes: int, n_pre: int,
                   n_samples: int, *, batch_size: int = 32, seed: int = 0) -> PixelVotes:
    """Pre-sample fixes each pixel's candidate (argmax, ties to the lower class), the main
    sample counts its votes (docs/theory.md §4: the candidate must not come from the counted
    samples).

    Args:
        predict (Predict): (B, channels, H, W) -> (B, H, W) classes.
        x (array_like): the image, (channels, H, W).
        noise (GridGaussian): the noise.
        n_classes (int): number of classes.
        n_pre (int): pre-samples per cell.
        n_samples (int): main samples per cell.
        batch_size (int): copies per call.
        seed (int): seed of the samples.

    Returns:
        PixelVotes: candidates and their votes.
    """
    pre = cell_votes(predict, x, noise, n_pre, n_classes, batch_size=batch_size, seed=seed,
                     stream="pre")
    candidate = pre.argmax(axis=1)
    main = cell_votes(predict, x, noise, n_samples, n_classes, batch_size=batch_size, seed=seed,
                      stream="main")
    return PixelVotes(candidate, main[np.arange(candidate.size), candidate], int(n_samples))
