"""From Monte Carlo statistics to certified-accuracy curves (SPEC §3-§6).

Two families of methods:
* variance-constrained smoothing (localized or isotropic): per-target radii eta, naive and
  collective (MILP) certificates over deletion and addition budgets;
* SparseSmooth (isotropic, vote based, Holm correction): each target's exact certified region.

Each returns a `MethodResult` with curves of certified accuracy (correct and certified,
abstentions count as wrong) and certified ratio over integer budgets.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphcert.certificates import (
    localized_weight_matrices,
    sparse_smooth_region,
    variance_constrained_radius,
)
from graphcert.certificates.bounds import holm_lower_bounds, mu_zeta_bounds
from graphcert.certificates.collective import CollectiveCertifier
from graphcert.certificates.metrics import average_certified_radius
from graphcert.sampling.statistics import SmoothingStats


@dataclass
class Curve:
    """Certified counts along one attack direction; fractions are over all targets."""

    budgets: list[int]
    naive: list[int]
    collective: list[int] | None
    naive_ratio: list[int]
    n_targets: int

    def accuracy(self, kind: str = "collective") -> np.ndarray:
        counts = self.naive if kind == "naive" or self.collective is None else self.collective
        return np.asarray(counts, dtype=float) / self.n_targets

    def reaches_zero(self, kind: str = "collective") -> bool:
        return bool(self.accuracy(kind)[-1] == 0)

    def acr(self, kind: str = "collective") -> float:
        """ACR (SPEC §6); a curve cut off by the budget grid gives a lower bound (it is summed
        as if it dropped to 0 right after the grid; see `reaches_zero`)."""
        accuracy = self.accuracy(kind)
        budgets = self.budgets
        if accuracy[-1] != 0:
            step = budgets[1] - budgets[0] if len(budgets) > 1 else 1
            accuracy, budgets = np.append(accuracy, 0.0), budgets + [budgets[-1] + step]
        return float(average_certified_radius(budgets, accuracy))

    def to_dict(self) -> dict:
        return {"budgets": self.budgets, "naive": self.naive, "collective": self.collective,
                "naive_ratio": self.naive_ratio, "n_targets": self.n_targets,
                "acr_naive": self.acr("naive"),
                "acr_collective": None if self.collective is None else self.acr("collective"),
                "acr_is_lower_bound": not (self.reaches_zero("naive")
                                           and self.reaches_zero("collective"))}


@dataclass
class MethodResult:
    """Smoothed predictions of the targets and their certified-accuracy curves."""

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
        return {"method": self.method, "accuracy": self.accuracy,
                "abstain_rate": float(np.mean(self.abstained)),
                "n_targets": int(len(self.predicted)),
                "curves": {name: curve.to_dict() for name, curve in self.curves.items()},
                **self.extra}


@dataclass
class AttackSurface:
    """What the adversary can flip: per-node capacities (units are nodes, SPEC §5)."""

    cap_plus: np.ndarray   # zeros per node (bits that can be added)
    cap_minus: np.ndarray  # ones per node (bits that can be deleted)
    local_budget: int | None = None

    @classmethod
    def from_attributes(cls, x, local_budget: int | None = None) -> "AttackSurface":
        ones = np.asarray(x.sum(-1)).astype(np.int64).ravel()
        return cls(x.shape[-1] - ones, ones, local_budget)


def variance_constrained_result(method: str, stats: SmoothingStats, y: np.ndarray,
                                targets: np.ndarray, theta_plus: np.ndarray,
                                theta_minus: np.ndarray, surface: AttackSurface, *,
                                alpha: float, bounds: str = "dkw", max_deletions: int = 100,
                                max_additions: int = 20, n_bins: int | None = None,
                                relax: bool = False, collective: bool = True) -> MethodResult:
    """Variance-constrained base certificates (Bonferroni over targets) and their curves."""
    predicted = stats.candidate_score[targets]
    eta = variance_constrained_eta(stats, targets, alpha=alpha, bounds=bounds)
    correct = predicted == y[targets]
    w_plus, w_minus = localized_weight_matrices(theta_plus, theta_minus)
    groups = stats.labels[targets]
    common = dict(unit_group=stats.labels, local_budget=surface.local_budget, n_bins=n_bins)
    args = (eta, groups, w_plus, w_minus, surface.cap_plus, surface.cap_minus)
    result = MethodResult(method, predicted, correct, ~(eta > 0),
                          extra={"eta": eta.tolist(), "bounds": bounds})
    certifier = CollectiveCertifier(*args, targets=correct, relax=relax, **common)
    all_outputs = CollectiveCertifier(*args, targets=np.ones_like(correct), **common)

    def counts(plus, minus) -> tuple[list[int], list[int] | None]:
        naive = sweep_naive(certifier, plus, minus)
        if not collective:
            return naive, None
        if not certifier.pairs.total:
            return naive, [0] * len(plus)
        return naive, certifier.sweep(plus, minus).astype(int).tolist()

    deletions, additions = np.arange(max_deletions + 1), np.arange(max_additions + 1)
    for name, plus, minus in (("deletions", 0 * deletions, deletions),
                              ("additions", additions, 0 * additions)):
        naive, coll = counts(plus, minus)
        ratio = sweep_naive(all_outputs, plus, minus)
        result.curves[name] = Curve(plus.tolist() if name == "additions" else minus.tolist(),
                                    naive, coll, ratio, len(targets))
    joint_naive, joint_coll = [], []
    for budget_plus in additions:  # rows stop once nothing is certified at 0 deletions
        naive, coll = counts(np.full_like(deletions, budget_plus), deletions)
        if naive[0] == 0 and not (coll or [0])[0]:
            break
        joint_naive.append(naive)
        joint_coll.append(coll)
    result.extra["joint"] = joint_grid(additions, deletions, joint_naive,
                                       joint_coll if collective else None, len(targets))
    return result


def variance_constrained_eta(stats: SmoothingStats, targets: np.ndarray, *, alpha: float,
                             bounds: str) -> np.ndarray:
    """Radii eta of the targets' candidate scores (SPEC §3), from bounds on mu and zeta that
    hold for all targets together (Bonferroni, alpha / number of targets); -inf: abstain."""
    mu_lower, zeta_upper = mu_zeta_bounds(
        alpha=alpha / len(targets), method=bounds, hist=stats.hist[targets],
        score_sum=stats.score_sum[targets], score_sq_sum=stats.score_sq_sum[targets],
        n=stats.n[targets])
    return variance_constrained_radius(np.minimum(mu_lower, 1.0), zeta_upper)


def joint_grid(budgets_plus, budgets_minus, naive, collective, n_targets: int) -> dict:
    """Certified counts on the (additions x deletions) grid; rows missing at the end are 0."""
    def padded(rows):
        grid = np.zeros((len(budgets_plus), len(budgets_minus)), dtype=int)
        if rows:
            grid[:len(rows)] = rows
        return grid.tolist()
    return {"budgets_plus": list(map(int, budgets_plus)),
            "budgets_minus": list(map(int, budgets_minus)), "naive": padded(naive),
            "collective": None if collective is None else padded(collective),
            "n_targets": n_targets}


def sweep_naive(certifier: CollectiveCertifier, plus, minus) -> list[int]:
    """Naive counts along non-decreasing budgets, zeros after the first 0."""
    counts = []
    for budget_plus, budget_minus in zip(plus, minus):
        counts.append(certifier.naive(budget_plus, budget_minus))
        if counts[-1] == 0:
            counts += [0] * (len(plus) - len(counts))
            break
    return counts


def sparse_smooth_result(stats: SmoothingStats, y: np.ndarray, targets: np.ndarray,
                         theta_plus: float, theta_minus: float, *, alpha: float,
                         max_deletions: int = 100, max_additions: int = 20) -> MethodResult:
    """SparseSmooth (Bojchevski et al. 2020): Holm-corrected vote bounds, exact regions."""
    predicted = stats.candidate_vote[targets]
    votes = stats.votes[targets, predicted]
    p_lower, passed = holm_lower_bounds(votes, stats.n[targets], alpha)
    p_lower = np.where(passed, p_lower, 0.0)
    region = sparse_smooth_region(p_lower, theta_plus, theta_minus, max_additions,
                                  max_deletions)
    correct = predicted == y[targets]
    result = MethodResult("sparse_smooth", predicted, correct, ~passed)
    n = len(targets)
    for name, certified in (("deletions", region[:, 0, :]), ("additions", region[:, :, 0])):
        naive = (certified & correct[:, None]).sum(0).astype(int).tolist()
        ratio = certified.sum(0).astype(int).tolist()
        result.curves[name] = Curve(list(range(certified.shape[1])), naive, None, ratio, n)
    result.extra["joint"] = joint_grid(range(max_additions + 1), range(max_deletions + 1),
                                       (region & correct[:, None, None]).sum(0).tolist(),
                                       None, n)
    return result
