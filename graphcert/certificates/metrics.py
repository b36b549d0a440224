"""Evaluation metrics for robustness certificates (SPEC §6; LRS §7, §C.1).

Certified accuracy ``xi(eps)`` is the fraction of evaluated outputs that are correct AND
certified at budget ``eps`` (abstentions count as wrong); the certified ratio drops the
correctness condition.  Budget grids index budgets ``0, h, 2h, ...`` along their axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphcert.utils.validation import (
    check_bool_array,
    check_finite,
    check_positive_int,
    check_real,
)

__all__ = [
    "BudgetCurves",
    "average_certified_radius",
    "budget_curves",
    "center_smoothing_certified_accuracy",
    "certified_accuracy",
    "certified_from_radii",
    "certified_ratio",
    "collective_accuracy_curve",
    "pareto_front",
]


def _per_output(mask: np.ndarray, certified: np.ndarray, name: str) -> np.ndarray:
    if mask.ndim != 1 or mask.shape[0] != certified.shape[0]:
        raise ValueError(f"{name} must have shape ({certified.shape[0]},), got {mask.shape}")
    return mask.reshape(mask.shape + (1,) * (certified.ndim - 1))


def certified_ratio(certified, abstained=None) -> float | np.ndarray:
    """Fraction of evaluated outputs certified (SPEC §6); axis 0 indexes outputs.

    ``certified`` is (n,) or (n, *grid) for a budget grid; ``abstained`` (n,) outputs are
    never certified whatever ``certified`` says.
    """
    certified = check_bool_array(certified, "certified")
    if abstained is not None:
        abstained = check_bool_array(abstained, "abstained")
        certified = certified & ~_per_output(abstained, certified, "abstained")
    return certified.mean(axis=0)


def certified_accuracy(correct, certified, abstained=None) -> float | np.ndarray:
    """Fraction of evaluated outputs that are correct AND certified (SPEC §6).

    ``correct`` is (n,), ``certified`` (n,) or (n, *grid); abstentions count as wrong.
    """
    certified = check_bool_array(certified, "certified")
    correct = _per_output(check_bool_array(correct, "correct"), certified, "correct")
    return certified_ratio(certified & correct, abstained)


def certified_from_radii(radii, budgets) -> np.ndarray:
    """(n, len(budgets)) mask ``budget <= radius``, radius = largest certified budget.

    A negative radius (e.g. -1 or -inf) marks an output not certified even at budget 0.
    """
    radii = np.asarray(radii, dtype=float)
    if radii.ndim != 1 or np.isnan(radii).any():
        raise ValueError("radii must be 1-D without NaN")
    budgets = check_finite(budgets, "budgets")
    if budgets.ndim != 1:
        raise ValueError("budgets must be 1-D")
    return budgets[None, :] <= radii[:, None]


@dataclass(frozen=True)
class BudgetCurves:
    """Certified accuracy (or ratio) over additions, deletions and the joint grid."""

    additions: np.ndarray  # xi(a, 0)
    deletions: np.ndarray  # xi(0, d)
    joint: np.ndarray  # xi(a, d)


def budget_curves(certified, correct=None, abstained=None) -> BudgetCurves:
    """Curves of a naive certificate from ``certified[n, a, d]`` (budgets a, d = 0, 1, ...).

    Certified accuracy if ``correct`` is given, else the certified ratio (SPEC §6). Each
    output's region must shrink with either budget, as every certificate's does.
    """
    certified = check_bool_array(certified, "certified")
    if certified.ndim != 3:
        raise ValueError(f"certified must be (n, n_plus, n_minus), got shape {certified.shape}")
    if np.any(np.diff(certified.astype(np.int8), axis=1) > 0) or np.any(
            np.diff(certified.astype(np.int8), axis=2) > 0):
        raise ValueError("certified must not grow with a larger budget")
    joint = (certified_ratio(certified, abstained) if correct is None
             else certified_accuracy(correct, certified, abstained))
    return BudgetCurves(additions=joint[:, 0], deletions=joint[0, :], joint=joint)


def collective_accuracy_curve(counts, n_evaluated: int) -> np.ndarray:
    """Collective certified accuracy ``count / n_evaluated`` per budget (SPEC §6).

    ``counts`` come from the collective certificate run with targets = correctly predicted,
    non-abstaining outputs, so they are already counts of correct AND certified outputs.
    """
    n_evaluated = check_positive_int(n_evaluated, "n_evaluated")
    counts = check_real(counts, "counts", f"[0, {n_evaluated}]")
    return counts / n_evaluated


def average_certified_radius(budgets, cert_acc) -> float:
    """ACR = h * sum_{k >= 1} xi(k h) over the grid 0, h, 2h, ... (SPEC §6).

    For integer budgets (h = 1) this is ``sum_{e >= 1} xi(e)``. The grid must start at 0, be
    evenly spaced and extend until the curve reaches 0, else the sum would be truncated.
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
    """``max(0, n_correct - (n_outputs - n_robust)) / n_outputs`` (SPEC §6).

    Center smoothing only bounds how many outputs (``n_robust``) stay unchanged; in the worst
    case the changed ones are all among the correct ones.
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
    """
    accuracy, acr = check_finite(accuracy, "accuracy"), check_finite(acr, "acr")
    if accuracy.ndim != 1 or accuracy.shape != acr.shape:
        raise ValueError("accuracy and acr must be 1-D of the same length")
    geq = (accuracy[None, :] >= accuracy[:, None]) & (acr[None, :] >= acr[:, None])
    better = (accuracy[None, :] > accuracy[:, None]) | (acr[None, :] > acr[:, None])
    front = np.flatnonzero(~(geq & better).any(axis=1))
    return front[np.argsort(accuracy[front], kind="stable")]
