"""Certificates of `graphcert.certify` against node-level threats (docs/theory.md §14, §15).

* `NodeThreatCertificate` with family ``"hierarchical"``: hierarchical noise
  (``graphcert.hierarchical_noise``, sparsity-aware lower level) against r controlled nodes,
  attack ``"nodes"``; each controlled node changes at most ``additions_per_node`` added and
  ``deletions_per_node`` deleted bits (fixed when the certificate is built, default 0 and 1).
* family ``"injection"``: node / edge deletion noise (``graphcert.injection_noise``) against
  rho injected nodes with at most tau edges each, attack ``"injection"`` (budget rho, or
  (rho, tau); tau defaults to the certificate's, 6).

Bonferroni Clopper-Pearson bounds on the top class's votes at level ``alpha`` over the
targets, as `graphcert.tasks.graph.node_threats.node_threat_result` (which the certified
accuracy reuses, naive and collective); a target abstains where its bound is <= 1/2.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphcert.certificates import (
    hierarchical_certified,
    hierarchical_localized_certified,
    injection_certified,
)
from graphcert.certificates.bounds import clopper_pearson_lower
from graphcert.noise.hierarchical import HierarchicalSparseNoise
from graphcert.noise.injection import NodeEdgeDeletionNoise
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.attacks import AnswersAttacks
from graphcert.tasks.graph.node_threats import NodeThreatResult, node_threat_result
from graphcert.utils.validation import check_choice, check_int, check_real

__all__ = ["NodeThreatCertificate"]


@dataclass(frozen=True)
class NodeThreatCertificate(AnswersAttacks):
    """Per-target certificates against controlled (``"nodes"``) or injected
    (``"injection"``) nodes (module docstring).

    ``p_lower`` (T,) Bonferroni lower bounds on the candidate class ``predicted`` (T,);
    ``edge_index`` (2, E) the clean graph (the receptive fields of the collective
    certificate); ``additions_per_node`` / ``deletions_per_node`` the bits each controlled
    node changes; ``tau`` the edges per injected node; ``hops`` the model's receptive field
    in hops (None: unknown, the collective certificate then needs it).

    Args:
        targets (np.ndarray): target node ids, int64 (T,).
        predicted (np.ndarray): candidate class per target, (T,).
        p_lower (np.ndarray): lower bounds, float64 (T,).
        noise (HierarchicalSparseNoise or NodeEdgeDeletionNoise): the noise.
        edge_index (np.ndarray): the clean graph, (2, E).
        alpha (float): significance level shared by the targets.
        additions_per_node, deletions_per_node (int): bits each controlled node changes.
        tau (int): edges per injected node.
        hops (int, optional): the model's receptive field.
        stats (SmoothingStats, optional): the Monte Carlo statistics.
    """

    targets: np.ndarray
    predicted: np.ndarray
    p_lower: np.ndarray
    noise: HierarchicalSparseNoise | NodeEdgeDeletionNoise
    edge_index: np.ndarray
    alpha: float
    additions_per_node: int = 0
    deletions_per_node: int = 1
    tau: int = 6
    hops: int | None = None
    stats: SmoothingStats | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_statistics(cls, stats: SmoothingStats, noise, targets, *, alpha: float,
                        edge_index, additions_per_node: int = 0, deletions_per_node: int = 1,
                        tau: int = 6, hops: int | None = None) -> "NodeThreatCertificate":
        """Bonferroni bounds at level `alpha` over `targets` (docs/theory.md §3).

        Args:
            stats (SmoothingStats): the Monte Carlo statistics.
            noise (HierarchicalSparseNoise or NodeEdgeDeletionNoise): the noise.
            targets (array_like): target node ids, (T,).
            alpha (float): significance level shared by the targets.
            edge_index (array_like): the clean graph, (2, E).
            additions_per_node, deletions_per_node (int): bits each controlled node changes.
            tau (int): edges per injected node.
            hops (int, optional): the model's receptive field.

        Returns:
            NodeThreatCertificate: the certificates.
        """
        if not isinstance(noise, (HierarchicalSparseNoise, NodeEdgeDeletionNoise)):
            raise ValueError("NodeThreatCertificate needs graphcert.hierarchical_noise with "
                             "theta_plus / theta_minus or graphcert.injection_noise, got "
                             f"{type(noise).__name__}")
        alpha = check_real(alpha, "alpha", "(0, 1)")
        targets = np.asarray(targets, dtype=np.int64)
        predicted = stats.candidate_vote[targets]
        p_lower = clopper_pearson_lower(stats.votes[targets, predicted], stats.n[targets],
                                        alpha / targets.size)
        return cls(targets, predicted, np.asarray(p_lower, dtype=float), noise,
                   np.asarray(edge_index), float(alpha),
                   check_int(additions_per_node, "additions_per_node", "[0, inf)"),
                   check_int(deletions_per_node, "deletions_per_node", "[0, inf)"),
                   check_int(tau, "tau", "[0, inf)"),
                   None if hops is None else check_int(hops, "hops", "[0, inf)"), stats)

    @property
    def family(self) -> str:
        """``"hierarchical"`` or ``"injection"``."""
        return "hierarchical" if isinstance(self.noise, HierarchicalSparseNoise) else \
            "injection"

    @property
    def kinds(self) -> tuple[str, ...]:
        """``("nodes",)`` or ``("injection",)``."""
        return ("nodes",) if self.family == "hierarchical" else ("injection",)

    @property
    def prediction(self) -> np.ndarray:
        """Smoothed class of each target, -1 where it abstains, (T,)."""
        return np.where(self.p_lower > 0.5, self.predicted, -1)

    def _robust(self, kind: str, budget) -> np.ndarray:
        noise = self.noise
        if kind == "nodes":
            r = budget
            certified = hierarchical_certified if noise.clusters is None else \
                hierarchical_localized_certified  # cluster-wise noise: rows in any cluster
            return np.atleast_1d(certified(
                self.p_lower, noise.p_select, r, noise.theta_plus, noise.theta_minus,
                r * self.additions_per_node, r * self.deletions_per_node))
        rho, tau = budget if isinstance(budget, tuple) else (budget, self.tau)
        return np.atleast_1d(injection_certified(self.p_lower, noise.p_node, noise.p_edge,
                                                 rho, tau))

    def node_threat_result(self, y, budgets, *, hops: int | None = None,
                           time_limit: float = 60.0) -> NodeThreatResult:
        """Certified counts per budget, naive and collective over receptive fields of
        ``hops`` hops (default: the model's, ``self.hops``;
        `graphcert.tasks.graph.node_threats.node_threat_result`).

        Args:
            y (array_like or Tensor): labels of all nodes, (N,).
            budgets (Iterable[int]): numbers of nodes.
            hops (int, optional): receptive field; default ``self.hops``.
            time_limit (float): seconds per collective program.

        Returns:
            NodeThreatResult: the counts per budget.
        """
        if self.stats is None:
            raise ValueError("node_threat_result needs the certificate's statistics")
        hops = self.hops if hops is None else hops
        if hops is None:
            raise ValueError("the collective certificate needs the model's receptive field: "
                             "pass hops (its message-passing steps)")
        if hasattr(y, "detach"):
            y = y.detach().cpu().numpy()
        return node_threat_result(self.stats, np.asarray(y), self.targets, self.noise,
                                  self.edge_index, budgets, alpha=self.alpha, hops=hops,
                                  additions_per_node=self.additions_per_node,
                                  deletions_per_node=self.deletions_per_node, tau=self.tau,
                                  time_limit=time_limit)

    def certified_accuracy(self, y, attack: str, budgets, *, collective: bool = True,
                           hops: int | None = None) -> np.ndarray:
        """Share of the targets correct and certified at each int budget (abstentions wrong):
        all targets together over receptive fields of ``hops`` hops (default the model's), or
        each target alone (`robust`) with ``collective=False``; tau the certificate's.

        Args:
            y (array_like or Tensor): labels of all nodes, (N,).
            attack (str): ``"nodes"`` or ``"injection"``.
            budgets (Iterable[int]): numbers of nodes, (B,).
            collective (bool): all targets together, else each alone.
            hops (int, optional): receptive field; default ``self.hops``.

        Returns:
            np.ndarray: float64 (B,).
        """
        if not collective:
            return super().certified_accuracy(y, attack, budgets)
        check_choice(attack, "attack", self.attacks)
        result = self.node_threat_result(y, [check_int(b, "budget", "[0, inf)")
                                             for b in budgets], hops=hops)
        return np.asarray(result.ratios()["collective"])
