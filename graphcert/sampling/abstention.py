"""Abstaining copies: a first-class outcome of the base classifier (docs/theory.md §10).

A base classifier may answer "abstain" for an output of a noisy copy (e.g.
`graphcert.tasks.graph.denoise.abstain_below`). It says so with a row of logits that are all
-inf (`ABSTAIN`): no class has any probability. Such a row

* votes for no class: the vote counts of a node sum to the number of samples minus its
  abstentions, and every bound divides by the number of samples, never by the votes;
* scores 0 for every class (the one-hot row of "no class"), so the score statistics (sums,
  histograms) still count every sample.

Both keep every certificate family sound: the abstaining base classifier is a map to
sub-probability vectors, whose class probabilities sum to at most 1 (docs/theory.md §10).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["ABSTAIN", "abstaining_rows", "class_votes", "class_scores"]

ABSTAIN = float("-inf")  # every logit of an abstaining output


def abstaining_rows(logits: np.ndarray | Tensor):
    """(...,) bool: outputs whose logits are all -inf.

    Args:
        logits (np.ndarray or Tensor): logits, shape (..., Y).

    Returns:
        np.ndarray or Tensor: bool (...,).
    """
    if isinstance(logits, Tensor):
        return torch.isneginf(logits).all(-1)
    return np.isneginf(logits).all(-1)


def class_votes(logits: np.ndarray | Tensor):
    """(...,) predicted class per output, -1 where it abstains.

    Args:
        logits (np.ndarray or Tensor): logits, shape (..., Y).

    Returns:
        np.ndarray or Tensor: int64 (...,).
    """
    if isinstance(logits, Tensor):
        return torch.where(abstaining_rows(logits), -1, logits.argmax(-1))
    return np.where(abstaining_rows(logits), -1, logits.argmax(-1))


def class_scores(logits: np.ndarray | Tensor):
    """Softmax scores (float64 for numpy, the logits' float type for torch), 0 for every
    class where the output abstains.

    Args:
        logits (np.ndarray or Tensor): logits, shape (..., Y).

    Returns:
        np.ndarray or Tensor: scores, shape (..., Y).
    """
    if isinstance(logits, Tensor):
        abstain = abstaining_rows(logits)[..., None]
        safe = torch.where(abstain, torch.zeros_like(logits), logits)
        return torch.where(abstain, 0.0, torch.softmax(safe, dim=-1))
    z = np.asarray(logits, dtype=np.float64)
    abstain = abstaining_rows(z)[..., None]
    z = np.where(abstain, 0.0, z)
    z = z - z.max(-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(-1, keepdims=True)
    return np.where(abstain, 0.0, z)
