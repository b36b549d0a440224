"""The rows of results.json: certified-accuracy curves and smoothed predictions (docs/theory.md §6).

A `MethodResult` holds a method's smoothed predictions of the targets and its `Curve`s of
certified counts (correct and certified, abstentions count as wrong) over integer budgets:
``deletions`` / ``additions`` of attribute bits, ``edge_deletions`` / ``edge_additions`` of
edges, and per family (`FAMILIES`) a joint grid of additions x deletions (`joint_grid`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphcert.certificates.metrics import average_certified_radius

__all__ = ["FAMILIES", "Curve", "MethodResult", "joint_grid"]

#: attack directions: (name of the additions curve, name of the deletions curve, joint grid)
FAMILIES = {"attributes": ("additions", "deletions", "joint"),
            "edges": ("edge_additions", "edge_deletions", "joint_edges")}


@dataclass
class Curve:
    """Certified counts along one attack direction; fractions are over all targets.

    ``naive`` and ``collective`` count the targets that are correct and certified (naive and
    collective certificate) at each budget, ``naive_certified`` those that the naive
    certificate certifies whether correct or not (the certified ratio's numerator; stored
    as ``naive_ratio`` in results.json).

    Args:
        budgets (list[int]): the budgets, (B,).
        naive (list[int]): naive counts, (B,).
        collective (list[int], optional): collective counts, (B,).
        naive_certified (list[int]): naive certified counts, correct or not, (B,).
        n_targets (int): number of targets T.
    """

    budgets: list[int]
    naive: list[int]
    collective: list[int] | None
    naive_certified: list[int]
    n_targets: int

    def accuracy(self, kind: str = "collective") -> np.ndarray:
        """Certified accuracy per budget, (len(budgets),): the ``"collective"`` counts (the
        naive ones where there are none) or the ``"naive"`` ones, over all targets.

        Args:
            kind (str): ``"collective"`` or ``"naive"``.

        Returns:
            np.ndarray: float64 (B,).
        """
        counts = self.naive if kind == "naive" or self.collective is None else self.collective
        return np.asarray(counts, dtype=float) / self.n_targets

    def reaches_zero(self, kind: str = "collective") -> bool:
        """Whether the curve drops to 0 within the budgets (else its ACR is a lower bound).

        Args:
            kind (str): ``"collective"`` or ``"naive"``.

        Returns:
            bool: whether the last budget's accuracy is 0.
        """
        return bool(self.accuracy(kind)[-1] == 0)

    def acr(self, kind: str = "collective") -> float:
        """ACR (docs/theory.md §6); a curve cut off by the budget grid gives a lower bound (it is
        summed as if it dropped to 0 right after the grid; see `reaches_zero`).

        Args:
            kind (str): ``"collective"`` or ``"naive"``.

        Returns:
            float: the ACR.
        """
        accuracy = self.accuracy(kind)
        budgets = self.budgets
        if accuracy[-1] != 0:
            step = budgets[1] - budgets[0] if len(budgets) > 1 else 1
            accuracy, budgets = np.append(accuracy, 0.0), budgets + [budgets[-1] + step]
        return float(average_certified_radius(budgets, accuracy))

    def to_dict(self) -> dict:
        """The curve as results.json stores it, with its ACRs.

        Returns:
            dict: budgets, counts, ``naive_ratio``, n_targets and ACRs.
        """
        return {"budgets": self.budgets, "naive": self.naive, "collective": self.collective,
                "naive_ratio": self.naive_certified, "n_targets": self.n_targets,
                "acr_naive": self.acr("naive"),
                "acr_collective": None if self.collective is None else self.acr("collective"),
                "acr_is_lower_bound": not (self.reaches_zero("naive")
                                           and self.reaches_zero("collective"))}


@dataclass
class MethodResult:
    """Smoothed predictions of the targets and their certified-accuracy curves.

    Args:
        method (str): the method's name.
        predicted (np.ndarray): predicted class per target, (T,).
        correct (np.ndarray): bool (T,).
        abstained (np.ndarray): bool (T,).
        curves (dict[str, Curve]): curves by attack.
        extra (dict): further entries of results.json.
    """

    method: str
    predicted: np.ndarray
    correct: np.ndarray
    abstained: np.ndarray
    curves: dict[str, Curve] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Smoothed accuracy, abstentions counted as wrong."""
        return float(np.mean(self.correct & ~self.abstained))

    def to_dict(self) -> dict:
        """The result as results.json stores it.

        Returns:
            dict: method, accuracy, abstain_rate, n_targets, curves and the extra entries.
        """
        return {"method": self.method, "accuracy": self.accuracy,
                "abstain_rate": float(np.mean(self.abstained)),
                "n_targets": int(len(self.predicted)),
                "curves": {name: curve.to_dict() for name, curve in self.curves.items()},
                **self.extra}


def joint_grid(budgets_plus, budgets_minus, naive, collective, n_targets: int) -> dict:
    """Certified counts on the (additions x deletions) grid; rows missing at the end are 0.

    Args:
        budgets_plus (Iterable[int]): additions, (A,).
        budgets_minus (Iterable[int]): deletions, (D,).
        naive (list[list[int]]): naive counts, up to A rows of D.
        collective (list[list[int]], optional): collective counts, as `naive`.
        n_targets (int): number of targets T.

    Returns:
        dict: budgets and (A, D) grids as lists.
    """
    def padded(rows):
        grid = np.zeros((len(budgets_plus), len(budgets_minus)), dtype=int)
        if rows:
            grid[:len(rows)] = rows
        return grid.tolist()
    return {"budgets_plus": list(map(int, budgets_plus)),
            "budgets_minus": list(map(int, budgets_minus)), "naive": padded(naive),
            "collective": None if collective is None else padded(collective),
            "n_targets": n_targets}
