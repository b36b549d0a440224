"""MMCert: certified multimodal predictions by independent sub-sampling (SPEC §7, paper 002).

Modality i has n_i elements (pixels: all channels of a pixel form one element); an ablated input
keeps k_i of them, drawn uniformly without replacement and independently per modality, and
blanks the rest. The smoothed prediction is the majority vote over N ablated inputs. An
attacker who modifies r_i elements of modality i changes the ablated input only if a kept
element was modified, which happens with probability

    delta = 1 - prod_i C(n_i - r_i, k_i) / C(n_i, k_i),

so class A stays the prediction if ``p_A - delta > p_B + delta`` with p_A rounded down and p_B
rounded up to multiples of ``1 / prod_i C(n_i, k_i)`` (every probability under the ablation
distribution is such a multiple). Everything here is exact integer arithmetic.
Randomized ablation (Levine & Feizi) is the special case of one pooled modality with
``n = sum n_i``, ``k = sum k_i``, ``r = sum r_i``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np
import torch

from graphcert.montecarlo import MAIN, PRE, chunk_generator
from graphcert.stats import clopper_pearson_lower, clopper_pearson_upper

__all__ = ["AblationSampler", "MMVotes", "ablate", "ablation_delta", "ablation_votes",
           "mmcert_bounds", "mmcert_certified", "run_phases", "segmentation_scores"]


def _sizes(n: Sequence[int], k: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    n, k = tuple(int(v) for v in n), tuple(int(v) for v in k)
    if len(n) != len(k) or not n:
        raise ValueError(f"n {n} and k {k} need one entry per modality")
    if any(v < 1 for v in n):
        raise ValueError(f"every modality needs n_i >= 1 elements, got {n}")
    if any(not 0 <= ki <= ni for ni, ki in zip(n, k)) or sum(k) < 1:
        raise ValueError(f"need 0 <= k_i <= n_i and some k_i > 0, got n {n}, k {k}")
    return n, k


def _budgets(r: Sequence[int], n: tuple[int, ...]) -> tuple[int, ...]:
    r = tuple(int(v) for v in r)
    if len(r) != len(n) or any(not 0 <= ri <= ni for ri, ni in zip(r, n)):
        raise ValueError(f"need 0 <= r_i <= n_i per modality, got r {r} for n {n}")
    return r


def _kept_unmodified(n: tuple[int, ...], k: tuple[int, ...], r: tuple[int, ...]) -> int:
    return math.prod(math.comb(ni - ri, ki) for ni, ki, ri in zip(n, k, r))


def ablation_delta(n: Sequence[int], k: Sequence[int], r: Sequence[int]) -> Fraction:
    """Exact probability that an ablated input keeps at least one of the modified elements."""
    n, k = _sizes(n, k)
    r = _budgets(r, n)
    total = math.prod(math.comb(ni, ki) for ni, ki in zip(n, k))
    return 1 - Fraction(_kept_unmodified(n, k, r), total)


def _probabilities(p, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if np.isnan(p).any() or np.any((p < 0) | (p > 1)):
        raise ValueError(f"{name} must lie in [0, 1]")
    return p


def mmcert_certified(p_a_lower, p_b_upper, n: Sequence[int], k: Sequence[int],
                     budgets: Sequence[Sequence[int]]) -> np.ndarray:
    """(outputs, budgets) bool: certified against every attack modifying at most ``r_i``
    elements of modality i, for each ``r`` in ``budgets`` (SPEC §7, MMCert Theorem 1).

    With ``T = prod C(n_i, k_i)`` and ``M(r) = prod C(n_i - r_i, k_i)``:
    ``floor(p_A T) - (T - M) > ceil(p_B T) + (T - M)``, compared as exact integers.
    """
    n, k = _sizes(n, k)
    p_a = _probabilities(p_a_lower, "p_a_lower").ravel()
    p_b = _probabilities(p_b_upper, "p_b_upper").ravel()
    if p_a.shape != p_b.shape:
        raise ValueError(f"p_a_lower {p_a.shape} and p_b_upper {p_b.shape} differ in size")
    total = math.prod(math.comb(ni, ki) for ni, ki in zip(n, k))
    budgets = [_budgets(r, n) for r in budgets]
    twice_loss = np.empty(len(budgets), dtype=object)
    twice_loss[:] = [2 * (total - _kept_unmodified(n, k, r)) for r in budgets]
    gap = np.empty(p_a.size, dtype=object)
    for i, (a, b) in enumerate(zip(p_a.tolist(), p_b.tolist())):
        fa, fb = Fraction(a), Fraction(b)
        floor_a = fa.numerator * total // fa.denominator
        ceil_b = -(-fb.numerator * total // fb.denominator)
        gap[i] = floor_a - ceil_b
    return (gap[:, None] > twice_loss[None, :]).astype(bool)


# ----------------------------------------------------------------------------- sampling
class AblationSampler:
    """Uniform k_i-subsets of each modality's n_i elements, independent across modalities;
    ``pooled=True`` draws ``sum k_i`` of all ``sum n_i`` elements at once (randomized ablation)."""

    def __init__(self, n: Sequence[int], k: Sequence[int], pooled: bool = False):
        self.n, self.k = _sizes(n, k)
        self.pooled = pooled

    def masks(self, batch_size: int, generator: np.random.Generator) -> list[np.ndarray]:
        """One (B, n_i) bool mask per modality (True = element kept)."""
        groups = [(sum(self.n), sum(self.k))] if self.pooled else list(zip(self.n, self.k))
        parts = []
        for size, keep in groups:
            keys = generator.random((batch_size, size))
            chosen = np.argpartition(keys, keep - 1, axis=1)[:, :keep] if keep else \
                np.empty((batch_size, 0), dtype=np.int64)
            mask = np.zeros((batch_size, size), dtype=bool)
            np.put_along_axis(mask, chosen, True, axis=1)
            parts.append(mask)
        return np.split(parts[0], np.cumsum(self.n)[:-1], axis=1) if self.pooled else parts


def ablate(modalities: Sequence[torch.Tensor], masks: Sequence[np.ndarray]) -> torch.Tensor:
    """(B, sum_i (c_i + 1), H, W): every modality's kept pixels (others 0) and its mask channel.

    ``modalities[i]`` is (c_i, H, W); its elements are the H * W pixels in row-major order.
    """
    out = []
    for x, mask in zip(modalities, masks):
        m = torch.from_numpy(mask).reshape(mask.shape[0], 1, *x.shape[1:]).to(x.dtype)
        out += [x[None] * m, m]
    return torch.cat(out, dim=1)


def ablation_votes(predict: Callable[[torch.Tensor], torch.Tensor],
                   modalities: Sequence[torch.Tensor], sampler: AblationSampler, n_samples: int,
                   n_classes: int, *, batch_size: int = 64, seed: int = 0,
                   phase: int = MAIN) -> np.ndarray:
    """(outputs, n_classes) votes of ``predict`` (ablated batch -> (B, outputs...) labels)."""
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples}")
    sizes = tuple(int(np.prod(x.shape[1:])) for x in modalities)
    if sizes != sampler.n:
        raise ValueError(f"modalities have {sizes} elements, the sampler expects {sampler.n}")
    rng = chunk_generator(seed, phase, 0, 0)
    counts = None
    with torch.no_grad():
        for start in range(0, n_samples, batch_size):
            size = min(batch_size, n_samples - start)
            pred = predict(ablate(modalities, sampler.masks(size, rng))).reshape(size, -1).long()
            if pred.min() < 0 or pred.max() >= n_classes:
                raise ValueError(f"predicted labels must lie in [0, {n_classes})")
            n_out = pred.shape[1]
            idx = (torch.arange(n_out) * n_classes + pred).ravel()
            batch = torch.bincount(idx, minlength=n_out * n_classes)
            counts = batch if counts is None else counts + batch
    return counts.reshape(-1, n_classes).numpy()


@dataclass(frozen=True)
class MMVotes:
    """Candidate class per output (pre-sample), its main-sample votes and the runner-up's."""

    candidate: np.ndarray
    votes_a: np.ndarray
    votes_b: np.ndarray
    n: int
    n_classes: int

    @classmethod
    def from_counts(cls, pre: np.ndarray, main: np.ndarray, n: int) -> "MMVotes":
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
    """
    m = votes.candidate.size
    lower = clopper_pearson_lower(votes.votes_a, votes.n, alpha / (2 * m))
    upper = clopper_pearson_upper(np.maximum(votes.votes_b, 0), votes.n,
                                  alpha / (2 * m * max(votes.n_classes - 1, 1)))
    return lower, np.minimum(upper, 1.0 - lower)


def segmentation_scores(predicted: np.ndarray, certified: np.ndarray, target: np.ndarray,
                        n_classes: int) -> dict[str, float]:
    """Certified pixel accuracy, F-score and IoU (paper 002, App. C, modification attacks):
    per label c, TP = certified pixels with prediction = truth = c, TN = certified pixels with
    prediction != c and truth != c, FP = #(prediction = c) - TP, FN = #(prediction != c) - TN;
    F and IoU are averaged over the labels present in prediction or truth."""
    predicted, certified, target = np.ravel(predicted), np.ravel(certified), np.ravel(target)
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
    """Pre-sample (fixes each output's class A) and main sample (votes) of the ablation."""
    kw = dict(batch_size=batch_size, seed=seed)
    pre = ablation_votes(predict, modalities, sampler, n_pre, n_classes, phase=PRE, **kw)
    main = ablation_votes(predict, modalities, sampler, n_samples, n_classes, phase=MAIN, **kw)
    return MMVotes.from_counts(pre, main, n_samples)
