"""Evaluation metrics for robustness certificates (docs/theory.md §6; LRS §7, §C.1).

Certified accuracy ``xi(eps)`` is the fraction of evaluated outputs that are correct AND
certified at budget ``eps`` (abstentions count as wrong; the curves of a run are
`graphcert.tasks.graph.results.Curve`). Here: the average certified radius of such a curve,
center smoothing's certified accuracy and the Pareto front of accuracy and ACR.
"""

from __future__ import annotations

import numpy as np

from graphcert.utils.validation import (
    check_finite,
    check_real,
)

__all__ = ["average_certified_radius", "center_smoothing_certified_accuracy", "pareto_front"]


def average_certified_radius(budgets, cert_acc) -> float:
    """ACR = h * sum_{k >= 1} xi(k h) over the grid 0, h, 2h, ... (docs/theory.md §6).

    For integer budgets (h = 1) this is ``sum_{e >= 1} xi(e)``. The grid must start at 0, be
    evenly spaced and extend until the curve reaches 0, else the sum would be truncated.

    Args:
        budgets (array_like): budget grid 0, h, 2h, ..., shape (B,), B >= 2.
        cert_acc (array_like): certified accuracy xi at each budget in [0, 1], shape (B,).

    Returns:
        float: the ACR.
    """
    budgets, cert_acc = check_finite(budgets, "budgets"), check_finite(cert_acc, "cert_acc")
    if budgets.ndim != 1 or budgets.shape != cert_acc.shape or budgets.size < 2:
        raise ValueError("budgets and cert_acc must be 1-D of the same length >= 2")
    if budgets[0] != 0:
        raise ValueError("the budget grid must start at 0")
    step = budgets[1]
    if step <= 0 or not np.allclose(np.diff(budgets), step, rtol=1e-9, atol=0):
        raise ValueError("the budget grid must be evenly spaced and increasing (no gaps)")
    cert_acc = check_real(cert_acc, "cert_acc", "[0, 1]")
    if cert_acc[-1] != 0:
        raise ValueError("the curve must reach 0 within the grid (extend the budgets)")
    return float(step * cert_acc[1:].sum())


def center_smoothing_certified_accuracy(n_correct, n_robust, n_outputs):
    """``max(0, n_correct - (n_outputs - n_robust)) / n_outputs`` (docs/theory.md §6).

    Center smoothing only bounds how many outputs (``n_robust``) stay unchanged; in the worst
    case the changed ones are all among the correct ones.

    Args:
        n_correct (array_like): correct outputs.
        n_robust (array_like): outputs certified to stay unchanged.
        n_outputs (array_like): outputs in all, > 0.

    Returns:
        float or np.ndarray: certified accuracy in [0, 1], a float for scalar inputs.
    """
    n_correct, n_robust, n_outputs = (np.asarray(v, dtype=float)
                                      for v in (n_correct, n_robust, n_outputs))
    if np.any(n_outputs <= 0):
        raise ValueError("n_outputs must be positive")
    for name, value in (("n_correct", n_correct), ("n_robust", n_robust)):
        if np.any(value < 0) or np.any(value > n_outputs):
            raise ValueError(f"{name} must lie in [0, n_outputs]")
    out = np.maximum(0.0, n_correct - (n_outputs - n_robust)) / n_outputs
    return float(out) if out.ndim == 0 else out


def pareto_front(accuracy, acr) -> np.ndarray:
    """Indices of the points no other point dominates (both maximised), by accuracy.

    A point is dominated if another is at least as good in both and better in one; equal
    points are all kept. Ties in accuracy are ordered by index.

    Args:
        accuracy (array_like): accuracy per point, shape (n,).
        acr (array_like): average certified radius per point, shape (n,).

    Returns:
        np.ndarray: int64 indices of the front, by increasing accuracy.
    """
    accuracy, acr = check_finite(accuracy, "accuracy"), check_finite(acr, "acr")
    if accuracy.ndim != 1 or accuracy.shape != acr.shape:
        raise ValueError("accuracy and acr must be 1-D of the same length")
    geq = (accuracy[None, :] >= accuracy[:, None]) & (acr[None, :] >= acr[:, None])
    better = (accuracy[None, :] > accuracy[:, None]) | (acr[None, :] > acr[:, None])
    front = np.flatnonzero(~(geq & better).any(axis=1))
    return front[np.argsort(accuracy[front], kind="stable")]
