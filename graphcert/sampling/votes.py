"""Votes: how often each class is predicted, per output (docs/theory.md §4).

`class_counts` counts a batch of predicted classes; `VoteCounts` adds them up for predictors
that return classes rather than scores (per-pixel segmentation, MMCert).
"""
from __future__ import annotations

import numpy as np

__all__ = ["VoteCounts", "class_counts"]


def class_counts(predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n_classes) counts of the classes in `predicted` (B, n), column by column; -1 (an
    abstaining output, `graphcert.sampling.abstention`) counts for no class.

    Args:
        predicted (np.ndarray): int classes, shape (B, n), -1 for none.
        n_classes (int): number of classes Y.

    Returns:
        np.ndarray: int64 (n, Y).
    """
    n = predicted.shape[1]
    keys = np.arange(n) * n_classes + predicted
    return np.bincount(keys[predicted >= 0], minlength=n * n_classes).reshape(n, n_classes)


class VoteCounts:
    """How often each class is predicted for each output (the vote-only statistics of
    predictors that return classes, e.g. per-pixel segmentation, docs/theory.md §4).

    Args:
        n_outputs (int): number of outputs n.
        n_classes (int): number of classes Y.
    """

    def __init__(self, n_outputs: int, n_classes: int):
        self.n_classes = n_classes
        self.counts = np.zeros((n_outputs, n_classes), dtype=np.int64)

    def add(self, predicted, outputs: np.ndarray | None = None) -> None:
        """Add a batch of predicted classes (B, n_outputs); with `outputs` (indices), only
        those outputs count this batch (e.g. the pixels of the cell whose noise it drew).

        Args:
            predicted (array_like): integer classes in [0, Y), shape (B, n), or (B, len(outputs))
                with `outputs`.
            outputs (np.ndarray, optional): indices of the outputs that count this batch.
        """
        predicted = np.asarray(predicted)
        if predicted.ndim != 2 or predicted.shape[1] != self.counts.shape[0]:
            raise ValueError(f"predicted classes have shape {predicted.shape}, expected "
                             f"(batch, {self.counts.shape[0]})")
        if predicted.dtype.kind not in "iu":
            raise ValueError(f"predicted classes must be integers, got dtype {predicted.dtype}")
        if outputs is not None:
            predicted = predicted[:, outputs]
        if predicted.size and (predicted.min() < 0 or predicted.max() >= self.n_classes):
            raise ValueError(f"predicted classes must lie in [0, {self.n_classes})")
        votes = class_counts(predicted.astype(np.int64, copy=False), self.n_classes)
        if outputs is None:
            self.counts += votes
        else:
            self.counts[outputs] += votes
