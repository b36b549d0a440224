"""The certificate of the one-call API: variance-constrained radii of target nodes and their
naive and collective certified counts over attack budgets (docs/theory.md §3, §5, §6).

`Certificate` is what `graphcert.certify` returns; `certified_counts` and
`variance_constrained_eta` are shared with the result builders of the command line
(`graphcert.tasks.graph.binary`, `graphcert.tasks.graph.kary`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from graphcert.certificates import (
    BaseCertificate,
    localized_weight_matrices,
    variance_constrained_radius,
)
from graphcert.certificates.bounds import mu_zeta_bounds
from graphcert.certificates.collective import CollectiveCertifier, PairUnits
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.attacks import AnswersFromRadius
from graphcert.tasks.graph.results import Curve
from graphcert.tasks.graph.surface import AttackSurface
from graphcert.utils.validation import check_choice, check_node_labels

__all__ = ["ATTACKS", "Certificate", "attack_budgets", "certified_counts",
           "naive_counts", "variance_constrained_eta"]

#: budget axes of `CollectiveCertifier.certify`, in its argument order
ATTACKS = ("additions", "deletions", "edge_additions", "edge_deletions")


def attack_budgets(length: int, **budgets) -> list[np.ndarray]:
    """The four budget sequences of `CollectiveCertifier.certify` (attribute additions,
    deletions, edge additions, deletions), `length` long: the named ones given (scalars
    broadcast), the others 0.

    Args:
        length (int): length B of every sequence.
        **budgets: budgets by attack name (`ATTACKS`), each a scalar or (B,).

    Returns:
        list[np.ndarray]: four int64 (B,) sequences, in `ATTACKS` order.
    """
    for name in budgets:
        check_choice(name, "attack", ATTACKS)
    return [np.broadcast_to(np.asarray(budgets.get(name, 0), dtype=np.int64), (length,))
            for name in ATTACKS]


@dataclass(frozen=True)
class Certificate(AnswersFromRadius):
    """Variance-constrained certificates of target nodes (docs/theory.md §3) and what their
    naive and collective certificates need (docs/theory.md §5): per-bit weights of every output
    cluster's noise, the input cluster of every node and the attack surface.

    ``prediction`` is the smoothed class of each target, -1 where it abstains; ``radius`` its
    eta (``-inf`` where it abstains). Certified accuracy counts abstentions as wrong
    (docs/theory.md §6). ``structure`` (docs/theory.md §8) holds the node pairs as units of the
    same program, with the weights of the structure noise (attributes and edges are one product
    distribution, one eta). ``stats`` are the Monte Carlo statistics the certificates come
    from. ``kinds``: the attacks the noise covers (`graphcert.tasks.graph.attacks`):
    "attributes" and/or "edges", or "hamming" for K-ary noise, whose changed values are the
    "additions" axis of the collective machinery (`graphcert.tasks.graph.kary`).

    Args:
        targets (np.ndarray): target node ids, int64 (T,).
        base (BaseCertificate): candidate class, eta and output cluster of each target.
        unit_group (np.ndarray): input cluster of every node, int64 (N,).
        w_plus (np.ndarray): weight per added bit, (C, C), row = output cluster.
        w_minus (np.ndarray): weight per deleted bit, (C, C).
        surface (AttackSurface): what the adversary can flip.
        stats (SmoothingStats, optional): the Monte Carlo statistics.
        structure (PairUnits, optional): the node pairs as units (structure noise).
        kinds (tuple[str, ...]): the attack kinds the noise covers.
    """

    targets: np.ndarray
    base: BaseCertificate  # candidate class, eta and output cluster of each target
    unit_group: np.ndarray  # input cluster of every node
    w_plus: np.ndarray  # (C, C) weight per added bit, row = output cluster
    w_minus: np.ndarray  # (C, C) weight per deleted bit
    surface: AttackSurface
    stats: SmoothingStats | None = field(default=None, repr=False, compare=False)
    structure: PairUnits | None = None
    _curves: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    kinds: tuple[str, ...] = ("attributes",)

    family = "variance_constrained"

    @classmethod
    def from_statistics(cls, stats: SmoothingStats, theta_plus, theta_minus,
                        surface: AttackSurface, targets, *, alpha: float,
                        bounds: str = "dkw", structure: PairUnits | None = None
                        ) -> "Certificate":
        """Confidence bounds on mu and zeta at level alpha / |targets| (Bonferroni), then the
        radius eta = ln(1 + (mu_lower - 1/2)^2 / zeta_upper) (docs/theory.md §3).

        Args:
            stats: Monte Carlo statistics of all N nodes.
            theta_plus, theta_minus: (C, C) flip probabilities of the attribute noise, or
                both None: the attributes are not noised, so they must not be attackable
                (`AttackSurface.fixed`) and weigh nothing; ``structure`` then carries the
                whole threat model (docs/theory.md §8).
            surface: what the adversary can flip per node.
            targets: (T,) node ids.
            alpha: significance level shared by the targets.
            bounds: one of `graphcert.certificates.bounds.BOUNDS`.
            structure: the node pairs as units (structure noise), or None.

        Returns:
            The `Certificate` of the T targets.
        """
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
        kinds = (() if theta_plus is None and theta_minus is None else ("attributes",)) + \
            (() if structure is None else ("edges",))
        return cls(targets, base, stats.labels, w_plus, w_minus, surface, stats, structure,
                   kinds=kinds)

    def correct(self, y) -> np.ndarray:
        """Targets whose smoothed prediction is their label `y[target]` (never abstaining);
        `y` holds the labels of all nodes.

        Args:
            y (array_like or Tensor): labels of all nodes, shape (N,).

        Returns:
            np.ndarray: bool (T,).
        """
        labels = check_node_labels(y, len(self.surface.cap_plus))
        return self.prediction == labels[self.targets]

    def certifier(self, y=None, *, relax: bool = False,
                  milp_bins: int | None = None) -> CollectiveCertifier:
        """The collective certificate (docs/theory.md §5) of the correct targets (of all
        targets: the certified ratio, when `y` is None).

        Args:
            y: (N,) labels of all nodes, or None.
            relax: the LP relaxation instead of the MILP (a lower bound on the count).
            milp_bins: radii quantised down into this many values per output cluster (fewer
                MILP variables), None for exact radii.

        Returns:
            The `CollectiveCertifier` of the chosen targets.
        """
        chosen = np.ones(len(self.targets), dtype=bool) if y is None else self.correct(y)
        return CollectiveCertifier(
            self.radius, self.base.group, self.w_plus, self.w_minus, self.surface.cap_plus,
            self.surface.cap_minus, unit_group=self.unit_group,
            local_budget=self.surface.local_budget, targets=chosen, relax=relax,
            milp_bins=milp_bins, structure=self.structure)

    def curve(self, y, attack: str = "deletions", budgets=range(101), *,
              collective: bool = True, relax: bool = False,
              milp_bins: int | None = None) -> Curve:
        """Naive and (with `collective`) collective certified counts of the correct targets
        along one attack; the curve's `accuracy` and `acr` give certified accuracy and ACR
        (docs/theory.md §6). Each curve is computed once per certificate: asking again with
        the same arguments returns it.

        Args:
            y: (N,) labels of all nodes.
            attack: one of `ATTACKS` (attribute additions or deletions; edge additions or
                deletions, which need ``structure``).
            budgets: non-decreasing integer budgets.
            collective: also the collective certificate (docs/theory.md §5).
            relax, milp_bins: as in `certifier`.

        Returns:
            The `Curve` (counts per budget, over all targets).
        """
        if attack == "hamming" and self.kinds == ("hamming",):
            attack = "additions"  # K-ary: the changed values are the additions axis
        check_choice(attack, "attack", ATTACKS)
        if attack.startswith("edge_") and self.structure is None:
            raise ValueError(f"attack {attack!r} needs the node pairs as units (structure)")
        budgets = np.asarray(budgets, dtype=np.int64)
        key = (attack, tuple(budgets.tolist()), collective, relax, milp_bins,
               self.correct(y).tobytes())
        if key not in self._curves:
            sequences = attack_budgets(budgets.size, **{attack: budgets})
            certifier = self.certifier(y, relax=relax, milp_bins=milp_bins)
            naive, coll = certified_counts(certifier, *sequences, collective=collective)
            ratio = naive_counts(self.certifier(milp_bins=milp_bins), sequences)
            self._curves[key] = Curve(budgets.tolist(), naive, coll, ratio, len(self.targets))
        return self._curves[key]

    @cached_property
    def _naive(self) -> CollectiveCertifier:
        """The certifier of all targets with exact radii, for `robust`."""
        return self.certifier()

    def _robust(self, kind: str, budget) -> np.ndarray:
        """Naive certificate per target (each against its own worst allocation, docs/theory.md
        §5): the budgets in `CollectiveCertifier` order (bits added, deleted, edges added,
        deleted)."""
        if kind == "hamming":
            return self._naive.naive_outputs(budget, 0)
        if kind == "joint":
            return self._naive.naive_outputs(*budget)
        additions, deletions = budget
        if kind == "edges":
            return self._naive.naive_outputs(0, 0, additions, deletions)
        return self._naive.naive_outputs(additions, deletions)

    def certified_accuracy(self, y, attack: str = "deletions", budgets=range(101), *,
                           collective: bool = True, relax: bool = False,
                           milp_bins: int | None = None) -> np.ndarray:
        """Share of targets correct and certified at each budget (collective, or naive with
        ``collective=False``): ``curve(...).accuracy``, (len(budgets),).

        Args:
            y (array_like or Tensor): labels of all nodes, shape (N,).
            attack (str): one of `ATTACKS`.
            budgets (Iterable[int]): non-decreasing integer budgets, (B,).
            collective (bool): the collective certificate, else the naive one.
            relax, milp_bins: as in `certifier`.

        Returns:
            np.ndarray: float64 (B,).
        """
        curve = self.curve(y, attack, budgets, collective=collective, relax=relax,
                           milp_bins=milp_bins)
        return curve.accuracy("collective" if collective else "naive")

    def acr(self, y, attack: str = "deletions", budgets=range(101), *,
            collective: bool = True, relax: bool = False, milp_bins: int | None = None) -> float:
        """Average certifiable radius (docs/theory.md §6) over integer budgets: a lower bound
        if the curve has not reached 0 by the last budget (see `Curve.acr`). The same curve
        as `certified_accuracy` with the same arguments, computed once.

        Args:
            y (array_like or Tensor): labels of all nodes, shape (N,).
            attack (str): one of `ATTACKS`.
            budgets (Iterable[int]): non-decreasing integer budgets.
            collective (bool): the collective certificate, else the naive one.
            relax, milp_bins: as in `certifier`.

        Returns:
            float: the ACR.
        """
        curve = self.curve(y, attack, budgets, collective=collective, relax=relax,
                           milp_bins=milp_bins)
        return curve.acr("collective" if collective else "naive")


def variance_constrained_eta(stats: SmoothingStats, targets: np.ndarray, *, alpha: float,
                             bounds: str) -> np.ndarray:
    """Radii eta of the targets' candidate scores (docs/theory.md §3), from bounds on mu and zeta
    that hold for all targets together (Bonferroni, alpha / number of targets); -inf: abstain.

    Args:
        stats (SmoothingStats): the Monte Carlo statistics.
        targets (np.ndarray): target node ids, (T,).
        alpha (float): significance level shared by the targets.
        bounds (str): ``"binary"``, ``"dkw"`` or ``"bernstein"`` (`graphcert.certificates.bounds`).

    Returns:
        np.ndarray: float64 (T,).
    """
    mu_lower, zeta_upper = mu_zeta_bounds(
        alpha=alpha / len(targets), method=bounds, hist=stats.hist[targets],
        score_sum=stats.score_sum[targets], score_sq_sum=stats.score_sq_sum[targets],
        n=stats.n[targets])
    return variance_constrained_radius(np.minimum(mu_lower, 1.0), zeta_upper)


def certified_counts(certifier: CollectiveCertifier, plus, minus, plus_adj=0, minus_adj=0,
                     *, collective: bool = True) -> tuple[list[int], list[int] | None]:
    """Naive and (with `collective`) collective counts along non-decreasing budgets of
    attribute additions and deletions and (with pair units) edge additions and deletions.

    Args:
        certifier (CollectiveCertifier): the certifier of the counted targets.
        plus, minus (array_like): attribute additions / deletions per budget, (B,).
        plus_adj, minus_adj (array_like): edge additions / deletions per budget (default 0).
        collective (bool): also the collective counts.

    Returns:
        tuple[list[int], list[int] | None]: naive and collective counts, B each (None without
        `collective`).
    """
    sequences = np.broadcast_arrays(*(np.asarray(b, dtype=np.int64)
                                      for b in (plus, minus, plus_adj, minus_adj)))
    naive = naive_counts(certifier, sequences)
    if not collective:
        return naive, None
    if not certifier.pairs.total:
        return naive, [0] * len(sequences[0])
    return naive, certifier.sweep(*sequences).astype(int).tolist()


def naive_counts(certifier: CollectiveCertifier, sequences: list[np.ndarray]) -> list[int]:
    """Naive counts along non-decreasing budgets (the four `ATTACKS` sequences, the edge
    ones used only with pair units), zeros after the first 0.

    Args:
        certifier (CollectiveCertifier): the certifier of the counted targets.
        sequences (list[np.ndarray]): the four budget sequences, (B,) each.

    Returns:
        list[int]: B counts.
    """
    length = len(sequences[0])
    counts = []
    for budgets in zip(*sequences, strict=True):
        counts.append(certifier.naive(*budgets))
        if counts[-1] == 0:
            counts += [0] * (length - len(counts))
            break
    return counts
