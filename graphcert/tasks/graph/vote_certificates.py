"""Vote-based certificates of target nodes, per target (docs/theory.md §4, §8, §9).

Each holds what its family concludes from the Monte Carlo votes and answers
``robust(attack, budget)`` per target (`graphcert.tasks.graph.attacks.AnswersAttacks`):

* `SparseSmoothCertificate`: isotropic sparsity-aware noise on attribute bits, node pairs or
  both (Bojchevski et al. 2020); Holm-corrected bounds on the votes, each target's exact
  certified region (§4, §8);
* `KaryHammingCertificate`: isotropic K-ary noise; Holm-corrected bounds, exact Hamming
  certificate (Lee et al. 2019, §9);
* `GaussianCertificate`: Gaussian noise, isotropic or localized; Bonferroni-corrected bounds,
  anisotropic l2 radii (§4).

The command line's SparseSmooth and K-ary curves (`graphcert.tasks.graph.binary`,
`graphcert.tasks.graph.kary`) count these certificates' regions; its Gaussian curves
(`graphcert.tasks.graph.gaussian`) start from the same `gaussian_certificate` and quantize the
radii down for the collective program.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphcert.certificates import (
    BaseCertificate,
    kary_hamming_region,
    sparse_smooth_joint_region,
    sparse_smooth_region,
)
from graphcert.certificates.bounds import holm_lower_bounds
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.attacks import AnswersAttacks, AnswersFromRadius
from graphcert.tasks.graph.gaussian import gaussian_certificate
from graphcert.utils.validation import check_choice, check_int

__all__ = ["GaussianCertificate", "KaryHammingCertificate", "SparseSmoothCertificate",
           "holm_vote_bounds"]


def holm_vote_bounds(stats: SmoothingStats, targets: np.ndarray, alpha: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate class, lower bound on its probability, passed) per target: the
    pre-sample's vote argmax and Holm-corrected Clopper-Pearson bounds on its main-sample
    votes; the bound is 0 where the test fails (the target abstains).

    Args:
        stats (SmoothingStats): the Monte Carlo statistics.
        targets (np.ndarray): target node ids, (T,).
        alpha (float): significance level shared by the targets.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: int64, float64 and bool, (T,) each.
    """
    targets = np.asarray(targets, dtype=np.int64)
    predicted = stats.candidate_vote[targets]
    p_lower, passed = holm_lower_bounds(stats.votes[targets, predicted], stats.n[targets], alpha)
    return predicted, np.where(passed, p_lower, 0.0), passed


@dataclass(frozen=True)
class SparseSmoothCertificate(AnswersAttacks):
    """Exact SparseSmooth certificates of the targets (docs/theory.md §4, §8).

    ``probabilities`` maps each kind the noise smooths ("attributes", "edges") to its
    (add, delete) probabilities; ``p_lower`` is 0 where the target abstains.

    Args:
        targets (np.ndarray): target node ids, int64 (T,).
        predicted (np.ndarray): candidate class per target, (T,).
        p_lower (np.ndarray): lower bound on its probability, (T,).
        passed (np.ndarray): bool (T,), False where the target abstains.
        probabilities (dict[str, tuple[float, float]]): (add, delete) probabilities per kind.
        stats (SmoothingStats, optional): the Monte Carlo statistics.
    """

    targets: np.ndarray
    predicted: np.ndarray  # candidate class of each target
    p_lower: np.ndarray
    passed: np.ndarray
    probabilities: dict[str, tuple[float, float]]
    stats: SmoothingStats | None = field(default=None, repr=False, compare=False)

    family = "sparse_smooth"

    @classmethod
    def from_statistics(cls, stats: SmoothingStats, targets, *, alpha: float,
                        attributes: tuple[float, float] | None = None,
                        edges: tuple[float, float] | None = None
                        ) -> "SparseSmoothCertificate":
        """Holm bounds at level `alpha` (`holm_vote_bounds`); `attributes` / `edges`: the
        (add, delete) probabilities of the attribute bits / node pairs, None if not noised.

        Args:
            stats (SmoothingStats): the Monte Carlo statistics.
            targets (array_like): target node ids, (T,).
            alpha (float): significance level shared by the targets.
            attributes (tuple[float, float], optional): (add, delete) probabilities of the bits.
            edges (tuple[float, float], optional): (add, delete) probabilities of the node pairs.

        Returns:
            SparseSmoothCertificate: the certificates.
        """
        if attributes is None and edges is None:
            raise ValueError("SparseSmooth needs the probabilities of attributes, edges or both")
        targets = np.asarray(targets, dtype=np.int64)
        predicted, p_lower, passed = holm_vote_bounds(stats, targets, alpha)
        probabilities = {kind: (float(pair[0]), float(pair[1])) for kind, pair in
                         (("attributes", attributes), ("edges", edges)) if pair is not None}
        return cls(targets, predicted, p_lower, passed, probabilities, stats)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds the noise smooths: "attributes" and/or "edges"."""
        return tuple(self.probabilities)

    @property
    def prediction(self) -> np.ndarray:
        """Smoothed class of each target, -1 where it abstains, (T,)."""
        return np.where(self.passed, self.predicted, -1)

    def region(self, kind: str, max_additions: int, max_deletions: int) -> np.ndarray:
        """Certified region of one kind, bool (targets, max_additions + 1, max_deletions + 1):
        ``[t, a, d]`` is True iff every budget up to (a, d) is certified for target t.

        Args:
            kind (str): ``"attributes"`` or ``"edges"``, one of `kinds`.
            max_additions (int): largest additions.
            max_deletions (int): largest deletions.

        Returns:
            np.ndarray: bool (T, max_additions + 1, max_deletions + 1).
        """
        check_choice(kind, "kind", self.kinds)
        plus, minus = self.probabilities[kind]
        return sparse_smooth_region(self.p_lower, plus, minus, max_additions, max_deletions)

    def joint_region(self, attributes: tuple[int, int], edges: tuple[int, int]) -> np.ndarray:
        """Whether each target is certified against `attributes` = (additions, deletions) of
        attribute bits together with `edges` = (insertions, deletions) of edges (joint noise
        only, docs/theory.md §8), bool (targets,).

        Args:
            attributes (tuple[int, int]): (additions, deletions) of attribute bits.
            edges (tuple[int, int]): (insertions, deletions) of edges.

        Returns:
            np.ndarray: bool (T,).
        """
        if self.kinds != ("attributes", "edges"):
            raise ValueError(f"joint_region needs joint noise (attributes and edges), this "
                             f"certificate covers {self.kinds}")
        a, d = (check_int(v, f"attributes[{i}]", "[0, inf)") for i, v in enumerate(attributes))
        sa, sd = (check_int(v, f"edges[{i}]", "[0, inf)") for i, v in enumerate(edges))
        region = sparse_smooth_joint_region(self.p_lower, *self.probabilities["attributes"],
                                            *self.probabilities["edges"], a, d, sa, sd)
        return region[:, a, d, sa, sd] & self.passed

    def _robust(self, kind: str, budget: tuple[int, ...]) -> np.ndarray:
        if kind == "joint":
            return self.joint_region(budget[:2], budget[2:])
        additions, deletions = budget
        return self.region(kind, additions, deletions)[:, additions, deletions]


@dataclass(frozen=True)
class KaryHammingCertificate(AnswersAttacks):
    """Exact Hamming certificates under isotropic K-ary noise (docs/theory.md §9): ``keep``
    the probability of keeping a value, ``n_values`` the largest alphabet size (a smaller
    alphabet's noise is a garbling of it, so its changes can only be weaker).

    Args:
        targets (np.ndarray): target node ids, int64 (T,).
        predicted (np.ndarray): candidate class per target, (T,).
        p_lower (np.ndarray): lower bound on its probability, (T,).
        passed (np.ndarray): bool (T,), False where the target abstains.
        keep (float): probability of keeping a value.
        n_values (int): the largest alphabet size K.
        stats (SmoothingStats, optional): the Monte Carlo statistics.
    """

    targets: np.ndarray
    predicted: np.ndarray
    p_lower: np.ndarray
    passed: np.ndarray
    keep: float
    n_values: int
    stats: SmoothingStats | None = field(default=None, repr=False, compare=False)

    family = "kary_hamming"
    kinds = ("hamming",)

    @classmethod
    def from_statistics(cls, stats: SmoothingStats, targets, *, alpha: float, keep: float,
                        n_values) -> "KaryHammingCertificate":
        """Holm bounds at level `alpha` (`holm_vote_bounds`); `n_values`: the alphabet size
        of every feature (the largest is certified).

        Args:
            stats (SmoothingStats): the Monte Carlo statistics.
            targets (array_like): target node ids, (T,).
            alpha (float): significance level shared by the targets.
            keep (float): probability of keeping a value.
            n_values (int or array_like): alphabet size of every feature (F,).

        Returns:
            KaryHammingCertificate: the certificates.
        """
        targets = np.asarray(targets, dtype=np.int64)
        predicted, p_lower, passed = holm_vote_bounds(stats, targets, alpha)
        return cls(targets, predicted, p_lower, passed, float(keep), int(np.max(n_values)),
                   stats)

    @property
    def prediction(self) -> np.ndarray:
        """Smoothed class of each target, -1 where it abstains, (T,)."""
        return np.where(self.passed, self.predicted, -1)

    def region(self, max_hamming: int) -> np.ndarray:
        """bool (targets, max_hamming + 1): certified against every radius up to r.

        Args:
            max_hamming (int): largest Hamming radius.

        Returns:
            np.ndarray: bool (T, max_hamming + 1).
        """
        return kary_hamming_region(self.p_lower, self.keep, self.n_values, max_hamming)

    def _robust(self, kind: str, budget: int) -> np.ndarray:
        return self.region(budget)[:, budget]


@dataclass(frozen=True)
class GaussianCertificate(AnswersFromRadius):
    """Anisotropic Gaussian l2 certificates (docs/theory.md §4): a target of cluster k with
    radius eta is certified against a change delta iff
    ``sum_u ||delta_u||^2 w[k, u] < eta``, w = 1 / sigma^2 (u: the input clusters).

    Args:
        targets (np.ndarray): target node ids, int64 (T,).
        base (BaseCertificate): candidate class, eta and output cluster of each target.
        weights (np.ndarray): ``1 / sigma^2``, (C, C), row = output cluster.
        stats (SmoothingStats, optional): the Monte Carlo statistics.
    """

    targets: np.ndarray
    base: BaseCertificate
    weights: np.ndarray  # (C, C), row = output cluster
    stats: SmoothingStats | None = field(default=None, repr=False, compare=False)

    family = "gaussian"
    kinds = ("l2",)

    @classmethod
    def from_statistics(cls, stats: SmoothingStats, targets, *, alpha: float,
                        weights: np.ndarray) -> "GaussianCertificate":
        """Bonferroni-corrected bounds at level `alpha` (`gaussian_certificate`).

        Args:
            stats (SmoothingStats): the Monte Carlo statistics.
            targets (array_like): target node ids, (T,).
            alpha (float): significance level shared by the targets.
            weights (np.ndarray): ``1 / sigma^2``, (C, C).

        Returns:
            GaussianCertificate: the certificates.
        """
        targets = np.asarray(targets, dtype=np.int64)
        return cls(targets, gaussian_certificate(stats, targets, alpha), np.asarray(weights),
                   stats)

    def _robust(self, kind: str, budget: float) -> np.ndarray:
        # the worst change of l2 norm eps puts all of eps^2 on the heaviest cluster
        worst = budget ** 2 * self.weights[self.base.group].max(axis=1)
        return self.base.eta > worst
