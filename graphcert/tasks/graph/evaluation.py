"""From Monte Carlo statistics to certified-accuracy curves (SPEC §3-§6).

Two families of methods:
* variance-constrained smoothing (localized or isotropic): per-target radii eta
  (`Certificate`), naive and collective (MILP) certificates over deletion and addition
  budgets;
* SparseSmooth (isotropic, vote based, Holm correction): each target's exact certified region.

Both certify attribute bits, node pairs (edges, SPEC §8) or both at once. Each returns a
`MethodResult` with curves of certified accuracy (correct and certified, abstentions count
as wrong) and certified ratio over integer budgets: ``deletions`` / ``additions`` of attribute
bits, ``edge_deletions`` / ``edge_additions`` of edges, and per family a joint grid of
additions x deletions (``joint``, ``joint_edges``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphcert.certificates import (
    BaseCertificate,
    localized_weight_matrices,
    sparse_smooth_region,
    variance_constrained_radius,
)
from graphcert.certificates.bounds import holm_lower_bounds, mu_zeta_bounds
from graphcert.certificates.collective import CollectiveCertifier, PairUnits
from graphcert.certificates.metrics import average_certified_radius
from graphcert.sampling.statistics import SmoothingStats
from graphcert.utils.validation import check_choice


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

    @classmethod
    def fixed(cls, n_nodes: int) -> "AttackSurface":
        """No attribute bit can be flipped (structure threat model, SPEC §8)."""
        zeros = np.zeros(int(n_nodes), dtype=np.int64)
        return cls(zeros, zeros.copy())


#: attack directions: (name of the additions curve, name of the deletions curve, joint grid)
FAMILIES = {"attributes": ("additions", "deletions", "joint"),
            "edges": ("edge_additions", "edge_deletions", "joint_edges")}
#: budget axes of `CollectiveCertifier.certify`, in its argument order
ATTACKS = ("additions", "deletions", "edge_additions", "edge_deletions")


def attack_budgets(length: int, **budgets) -> list[np.ndarray]:
    """The four budget sequences of `CollectiveCertifier.certify` (attribute additions,
    deletions, edge additions, deletions), `length` long: the named ones given (scalars
    broadcast), the others 0."""
    for name in budgets:
        check_choice(name, "attack", ATTACKS)
    return [np.broadcast_to(np.asarray(budgets.get(name, 0), dtype=np.int64), (length,))
            for name in ATTACKS]


@dataclass(frozen=True)
class Certificate:
    """Variance-constrained certificates of target nodes (SPEC §3) and what their naive and
    collective certificates need (SPEC §5): per-bit weights of every output cluster's noise,
    the input cluster of every node and the attack surface.

    ``prediction`` is the smoothed class of each target, -1 where it abstains; ``radius`` its
    eta (``-inf`` where it abstains). Certified accuracy counts abstentions as wrong (SPEC §6).
    ``structure`` (SPEC §8) holds the node pairs as units of the same program, with the
    weights of the structure noise (attributes and edges are one product distribution, one
    eta). ``stats`` are the Monte Carlo statistics the certificates come from.
    """

    targets: np.ndarray
    base: BaseCertificate  # candidate class, eta and output cluster of each target
    unit_group: np.ndarray  # input cluster of every node
    w_plus: np.ndarray  # (C, C) weight per added bit, row = output cluster
    w_minus: np.ndarray  # (C, C) weight per deleted bit
    surface: AttackSurface
    stats: SmoothingStats | None = field(default=None, repr=False, compare=False)
    structure: PairUnits | None = None

    @classmethod
    def from_statistics(cls, stats: SmoothingStats, theta_plus, theta_minus,
                        surface: AttackSurface, targets, *, alpha: float,
                        bounds: str = "dkw", structure: PairUnits | None = None
                        ) -> "Certificate":
        """Confidence bounds on mu and zeta at level alpha / |targets| (Bonferroni), then the
        radius eta = ln(1 + (mu_lower - 1/2)^2 / zeta_upper) (SPEC §3).

        ``theta_plus = theta_minus = None``: the attributes are not noised, so they must not
        be attackable (`AttackSurface.fixed`) and weigh nothing; ``structure`` then carries
        the whole threat model (SPEC §8)."""
        targets = np.asarray(targets, dtype=np.int64)
        eta = variance_constrained_eta(stats, targets, alpha=alpha, bounds=bounds)
        if theta_plus is None and theta_minus is None:
            if np.any(surface.cap_plus) or np.any(surface.cap_minus):
                raise ValueError("attributes without noise (theta_plus = theta_minus = None) "
                                 "must not be attackable: use AttackSurface.fixed")
            n_groups = int(stats.labels.max()) + 1
            w_plus = w_minus = np.zeros((n_groups, n_groups))
        else:
            w_plus, w_minus = localized_weight_matrices(theta_plus, theta_minus)
        base = BaseCertificate(stats.candidate_score[targets], eta, stats.labels[targets])
        return cls(targets, base, stats.labels, w_plus, w_minus, surface, stats, structure)

    @property
    def prediction(self) -> np.ndarray:
        return np.where(self.base.abstained, -1, self.base.predicted)

    @property
    def radius(self) -> np.ndarray:
        return self.base.eta

    def correct(self, y) -> np.ndarray:
        """Targets whose smoothed prediction is their label `y[target]` (never abstaining);
        `y` holds the labels of all nodes."""
        return self.prediction == np.asarray(y)[self.targets]

    def certifier(self, y=None, *, relax: bool = False,
                  n_bins: int | None = None) -> CollectiveCertifier:
        """The collective certificate (SPEC §5) of the correct targets (of all targets: the
        certified ratio, when `y` is None)."""
        chosen = np.ones(len(self.targets), dtype=bool) if y is None else self.correct(y)
        return CollectiveCertifier(
            self.radius, self.base.group, self.w_plus, self.w_minus, self.surface.cap_plus,
            self.surface.cap_minus, unit_group=self.unit_group,
            local_budget=self.surface.local_budget, targets=chosen, relax=relax, n_bins=n_bins,
            structure=self.structure)

    def curve(self, y, attack: str = "deletions", budgets=range(101), *,
              collective: bool = True, relax: bool = False, n_bins: int | None = None) -> Curve:
        """Naive and (with `collective`) collective certified counts of the correct targets
        against ``budgets`` (non-decreasing) of one attack (`ATTACKS`: attribute additions
        or deletions, edge additions or deletions, which need ``structure``); the curve's
        `accuracy` and `acr` give certified accuracy and ACR (SPEC §6)."""
        check_choice(attack, "attack", ATTACKS)
        if attack.startswith("edge_") and self.structure is None:
            raise ValueError(f"attack {attack!r} needs the node pairs as units (structure)")
        budgets = np.asarray(budgets, dtype=np.int64)
        sequences = attack_budgets(budgets.size, **{attack: budgets})
        certifier = self.certifier(y, relax=relax, n_bins=n_bins)
        naive, coll = certified_counts(certifier, *sequences, collective=collective)
        ratio = _sweep_naive(self.certifier(n_bins=n_bins), sequences)
        return Curve(budgets.tolist(), naive, coll, ratio, len(self.targets))

    def certified_accuracy(self, y, attack: str = "deletions", budgets=range(101), *,
                           collective: bool = False, relax: bool = False) -> np.ndarray:
        """Share of targets correct and certified at each budget (naive, or collective)."""
        curve = self.curve(y, attack, budgets, collective=collective, relax=relax)
        return curve.accuracy("collective" if collective else "naive")

    def acr(self, y, attack: str = "deletions", budgets=range(101), *,
            collective: bool = False, relax: bool = False) -> float:
        """Average certifiable radius (SPEC §6) over integer budgets; a lower bound if the
        curve has not reached 0 by the last budget (see `Curve.acr`)."""
        curve = self.curve(y, attack, budgets, collective=collective, relax=relax)
        return curve.acr("collective" if collective else "naive")


def variance_constrained_eta(stats: SmoothingStats, targets: np.ndarray, *, alpha: float,
                             bounds: str) -> np.ndarray:
    """Radii eta of the targets' candidate scores (SPEC §3), from bounds on mu and zeta that
    hold for all targets together (Bonferroni, alpha / number of targets); -inf: abstain."""
    mu_lower, zeta_upper = mu_zeta_bounds(
        alpha=alpha / len(targets), method=bounds, hist=stats.hist[targets],
        score_sum=stats.score_sum[targets], score_sq_sum=stats.score_sq_sum[targets],
        n=stats.n[targets])
    return variance_constrained_radius(np.minimum(mu_lower, 1.0), zeta_upper)


def certified_counts(certifier: CollectiveCertifier, plus, minus, plus_adj=0, minus_adj=0,
                     *, collective: bool = True) -> tuple[list[int], list[int] | None]:
    """Naive and (with `collective`) collective counts along non-decreasing budgets of
    attribute additions and deletions and (with pair units) edge additions and deletions."""
    sequences = np.broadcast_arrays(*(np.asarray(b, dtype=np.int64)
                                      for b in (plus, minus, plus_adj, minus_adj)))
    naive = _sweep_naive(certifier, sequences)
    if not collective:
        return naive, None
    if not certifier.pairs.total:
        return naive, [0] * len(sequences[0])
    return naive, certifier.sweep(*sequences).astype(int).tolist()


def variance_constrained_result(method: str, stats: SmoothingStats, y: np.ndarray,
                                targets: np.ndarray, theta_plus: np.ndarray | None,
                                theta_minus: np.ndarray | None, surface: AttackSurface, *,
                                alpha: float, bounds: str = "dkw", max_deletions: int = 100,
                                max_additions: int = 20, n_bins: int | None = None,
                                relax: bool = False, collective: bool = True,
                                structure: PairUnits | None = None,
                                max_edge_deletions: int = 20,
                                max_edge_additions: int = 5) -> MethodResult:
    """Variance-constrained base certificates (Bonferroni over targets) and their curves.

    Attribute curves and grid unless the attributes are not noised (``theta_* = None``, see
    `Certificate.from_statistics`); edge curves and grid with ``structure`` (SPEC §8)."""
    cert = Certificate.from_statistics(stats, theta_plus, theta_minus, surface, targets,
                                       alpha=alpha, bounds=bounds, structure=structure)
    predicted = cert.base.predicted
    result = MethodResult(method, predicted, predicted == y[targets], cert.base.abstained,
                          extra={"eta": cert.radius.tolist(), "bounds": bounds})
    maxima = {"attributes": (max_additions, max_deletions),
              "edges": (max_edge_additions, max_edge_deletions)}
    families = ([] if theta_plus is None else ["attributes"]) + \
        ([] if structure is None else ["edges"])
    certifier = cert.certifier(y, relax=relax, n_bins=n_bins)
    for family in families:
        plus, minus, grid = FAMILIES[family]
        top_plus, top_minus = maxima[family]
        for name, top in ((minus, top_minus), (plus, top_plus)):
            result.curves[name] = cert.curve(y, name, range(top + 1), collective=collective,
                                             relax=relax, n_bins=n_bins)
        result.extra[grid] = _joint_counts(certifier, plus, minus, top_plus, top_minus,
                                           collective, len(targets))
    return result


def _joint_counts(certifier: CollectiveCertifier, plus: str, minus: str, max_plus: int,
                  max_minus: int, collective: bool, n_targets: int) -> dict:
    """`joint_grid` of the additions x deletions budgets of one family (`FAMILIES`)."""
    deletions, additions = np.arange(max_minus + 1), np.arange(max_plus + 1)
    joint_naive, joint_coll = [], []
    for budget_plus in additions:  # rows stop once nothing is certified at 0 deletions
        sequences = attack_budgets(deletions.size, **{plus: budget_plus, minus: deletions})
        naive, coll = certified_counts(certifier, *sequences, collective=collective)
        if naive[0] == 0 and not (coll or [0])[0]:
            break
        joint_naive.append(naive)
        joint_coll.append(coll)
    return joint_grid(additions, deletions, joint_naive, joint_coll if collective else None,
                      n_targets)


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


def _sweep_naive(certifier: CollectiveCertifier, sequences: list[np.ndarray]) -> list[int]:
    """Naive counts along non-decreasing budgets (the four `ATTACKS` sequences, the edge
    ones used only with pair units), zeros after the first 0."""
    length = len(sequences[0])
    counts = []
    for budgets in zip(*sequences):
        counts.append(certifier.naive(*budgets))
        if counts[-1] == 0:
            counts += [0] * (length - len(counts))
            break
    return counts


def sparse_smooth_result(stats: SmoothingStats, y: np.ndarray, targets: np.ndarray,
                         theta_plus: float | None, theta_minus: float | None, *, alpha: float,
                         max_deletions: int = 100, max_additions: int = 20,
                         p_plus: float | None = None, p_minus: float | None = None,
                         max_edge_deletions: int = 20, max_edge_additions: int = 5
                         ) -> MethodResult:
    """SparseSmooth (Bojchevski et al. 2020): Holm-corrected vote bounds, exact regions.

    Attribute curves and grid with ``theta_*`` (SPEC §4), edge curves and grid with the
    structure noise's ``p_*`` (SPEC §8: edges alone are §4 with the pair probabilities);
    both when the votes come from the product of the two noises."""
    predicted = stats.candidate_vote[targets]
    votes = stats.votes[targets, predicted]
    p_lower, passed = holm_lower_bounds(votes, stats.n[targets], alpha)
    p_lower = np.where(passed, p_lower, 0.0)
    correct = predicted == y[targets]
    result = MethodResult("sparse_smooth", predicted, correct, ~passed)
    n = len(targets)
    families = {"attributes": (theta_plus, theta_minus, max_additions, max_deletions),
                "edges": (p_plus, p_minus, max_edge_additions, max_edge_deletions)}
    for family, (prob_plus, prob_minus, top_plus, top_minus) in families.items():
        if prob_plus is None:
            continue
        plus, minus, grid = FAMILIES[family]
        region = sparse_smooth_region(p_lower, prob_plus, prob_minus, top_plus, top_minus)
        for name, certified in ((minus, region[:, 0, :]), (plus, region[:, :, 0])):
            naive = (certified & correct[:, None]).sum(0).astype(int).tolist()
            ratio = certified.sum(0).astype(int).tolist()
            result.curves[name] = Curve(list(range(certified.shape[1])), naive, None, ratio, n)
        result.extra[grid] = joint_grid(range(top_plus + 1), range(top_minus + 1),
                                        (region & correct[:, None, None]).sum(0).tolist(),
                                        None, n)
    return result
