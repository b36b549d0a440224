"""MMCert on images (docs/theory.md §7, Wang et al. 2024): ablated votes, simultaneous
bounds and certified segmentation scores. The certificate itself is
`graphcert.certificates.mmcert_certified`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from graphcert.certificates.bounds import clopper_pearson_lower, clopper_pearson_upper
from graphcert.noise.ablation import AblationSampler
from graphcert.sampling.predictions import sample_predictions
from graphcert.sampling.votes import VoteCounts
from graphcert.utils.validation import (
    check_bool_array,
    check_index_array,
    check_positive_int,
)

__all__ = ["MMVotes", "ablate", "ablation_votes", "mmcert_bounds", "run_phases",
           "segmentation_scores"]


def ablate(modalities: Sequence[torch.Tensor], masks: Sequence[np.ndarray]) -> torch.Tensor:
    """(B, sum_i (c_i + 1), H, W): every modality's kept pixels (others 0) and its mask channel.

    ``modalities[i]`` is (c_i, H, W); its elements are the H * W pixels in row-major order.

    Args:
        modalities (Sequence[Tensor]): (c_i, H, W) each.
        masks (Sequence[np.ndarray]): bool (B, H * W) each.

    Returns:
        Tensor: (B, sum_i (c_i + 1), H, W).
    """
    out = []
    for x, mask in zip(modalities, masks, strict=True):
        m = torch.from_numpy(mask).reshape(mask.shape[0], 1, *x.shape[1:]).to(x.dtype)
        out += [x[None] * m, m]
    return torch.cat(out, dim=1)


def ablation_votes(predict: Callable[[torch.Tensor], torch.Tensor],
                   modalities: Sequence[torch.Tensor], sampler: AblationSampler, n_samples: int,
                   n_classes: int, *, batch_size: int = 64, seed: int = 0,
                   stream: str = "main") -> np.ndarray:
    """(outputs, n_classes) votes of ``predict`` (ablated batch -> (B, outputs...) classes).

    Args:
        predict (Callable[[Tensor], Tensor]): the predictor.
        modalities (Sequence[Tensor]): (c_i, H, W) each.
        sampler (AblationSampler): the ablation.
        n_samples (int): samples.
        n_classes (int): number of classes Y.
        batch_size (int): samples per call.
        seed (int): seed of the samples.
        stream (str): ``"pre"`` or ``"main"``.

    Returns:
        np.ndarray: int64 (outputs, Y).
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    n_classes = check_positive_int(n_classes, "n_classes")
    sizes = tuple(int(np.prod(x.shape[1:])) for x in modalities)
    if sizes != sampler.n:
        raise ValueError(f"modalities have {sizes} elements, the sampler expects {sampler.n}")

    def draw(size: int, rng: np.random.Generator) -> torch.Tensor:
        return ablate(modalities, sampler.masks(size, rng))

    votes = None
    with torch.no_grad():
        for predicted in sample_predictions(predict, draw, n_samples, seed=seed, stream=stream,
                                            batch_size=batch_size):
            predicted = predicted.reshape(predicted.shape[0], -1).numpy()
            if votes is None:
                votes = VoteCounts(predicted.shape[1], n_classes)
            votes.add(predicted)
    return votes.counts


@dataclass(frozen=True)
class MMVotes:
    """Candidate class per output (pre-sample), its main-sample votes and the runner-up's.

    Args:
        candidate (np.ndarray): class A per output, (m,).
        votes_a (np.ndarray): votes of A, (m,).
        votes_b (np.ndarray): votes of the runner-up, (m,).
        n (int): main samples.
        n_classes (int): number of classes Y.
    """

    candidate: np.ndarray
    votes_a: np.ndarray
    votes_b: np.ndarray
    n: int
    n_classes: int

    @classmethod
    def from_counts(cls, pre: np.ndarray, main: np.ndarray, n: int) -> "MMVotes":
        """Candidates from the pre-sample's argmax; votes from the main sample.

        Args:
            pre (np.ndarray): pre-sample votes, (m, Y).
            main (np.ndarray): main-sample votes, (m, Y).
            n (int): main samples.

        Returns:
            MMVotes: the votes.
        """
        candidate = pre.argmax(axis=1)
        rows = np.arange(candidate.size)
        others = main.copy()
        others[rows, candidate] = -1
        return cls(candidate, main[rows, candidate], others.max(axis=1), int(n), main.shape[1])


def mmcert_bounds(votes: MMVotes, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous ``(p_A lower, p_B upper)`` for all outputs (Bonferroni over the m outputs).

    Per output alpha/m is split: alpha/(2m) for the Clopper-Pearson lower bound of the
    pre-selected class A, alpha/(2m) shared by upper bounds of the other classes (each at
    alpha/(2m(Y-1))); the runner-up B has the largest of these, and ``p_B <= 1 - p_A`` also
    holds on the same event.

    Args:
        votes (MMVotes): the votes.
        alpha (float): significance level.

    Returns:
        tuple[np.ndarray, np.ndarray]: float64 (m,) each.
    """
    m = votes.candidate.size
    lower = clopper_pearson_lower(votes.votes_a, votes.n, alpha / (2 * m))
    upper = clopper_pearson_upper(np.maximum(votes.votes_b, 0), votes.n,
                                  alpha / (2 * m * max(votes.n_classes - 1, 1)))
    return lower, np.minimum(upper, 1.0 - lower)


def segmentation_scores(predicted: np.ndarray, certified: np.ndarray, target: np.ndarray,
                        n_classes: int) -> dict[str, float]:
    """Certified pixel accuracy, F-score and IoU (Wang et al. 2024, App. C, modification
    attacks): per label c, TP = certified pixels with prediction = truth = c, TN = certified pixels
    with prediction != c and truth != c, FP = #(prediction = c) - TP, FN = #(prediction != c) - TN;
    F and IoU are averaged over the classes present in prediction or truth. At least one pixel
    is needed (the averages of nothing are undefined).

    Args:
        predicted (np.ndarray): predicted classes, (H, W) or flat.
        certified (np.ndarray): bool, certified pixels, as ``predicted``.
        target (np.ndarray): true classes, as ``predicted``.
        n_classes (int): number of classes.

    Returns:
        dict[str, float]: ``pixel_accuracy``, ``f_score`` and ``iou``.
    """
    n_classes = check_positive_int(n_classes, "n_classes")
    if np.size(predicted) == 0:
        raise ValueError("segmentation_scores needs at least one pixel, got 0")
    predicted = check_index_array(np.ravel(predicted), "predicted", n_classes)
    target = check_index_array(np.ravel(target), "target", n_classes, shape=predicted.shape)
    certified = check_bool_array(np.ravel(certified), "certified")
    if certified.shape != predicted.shape:
        raise ValueError(f"certified has {certified.size} pixels, predicted {predicted.size}")
    f_scores, ious = [], []
    for c in range(n_classes):
        pred_c, true_c = predicted == c, target == c
        if not (pred_c.any() or true_c.any()):
            continue
        tp = np.sum(certified & pred_c & true_c)
        tn = np.sum(certified & ~pred_c & ~true_c)
        fp, fn = pred_c.sum() - tp, (~pred_c).sum() - tn
        f_scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
        ious.append(tp / (tp + fp + fn) if tp + fp + fn else 0.0)
    return {"pixel_accuracy": float(np.mean(certified & (predicted == target))),
            "f_score": float(np.mean(f_scores)), "iou": float(np.mean(ious))}


def run_phases(predict, modalities, sampler: AblationSampler, n_pre: int, n_samples: int,
               n_classes: int, *, batch_size: int = 64, seed: int = 0) -> MMVotes:
    """Pre-sample (fixes each output's class A) and main sample (votes) of the ablation.

    Args:
        predict (Callable[[Tensor], Tensor]): the predictor.
        modalities (Sequence[Tensor]): (c_i, H, W) each.
        sampler (AblationSampler): the ablation.
        n_pre (int): pre-samples.
        n_samples (int): main samples.
        n_classes (int): number of classes Y.
        batch_size (int): samples per call.
        seed (int): seed of the samples.

    Returns:
        MMVotes: the votes.
    """
    kw = dict(batch_size=batch_size, seed=seed)
    pre = ablation_votes(predict, modalities, sampler, n_pre, n_classes, stream="pre", **kw)
    main = ablation_votes(predict, modalities, sampler, n_samples, n_classes, stream="main",
                          **kw)
    return MMVotes.from_counts(pre, main, n_samples)
