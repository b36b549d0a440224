"""Node-level threat models end to end: training under the noise and certified accuracy
against adversarial nodes (docs/theory.md §14) and injected nodes (§15).

``train_under_noise`` trains any ``forward(x, edge_index)`` model on one fresh noisy copy per
epoch from a noise of the engine's protocol (`graphcert.noise.hierarchical`,
`graphcert.noise.injection`). ``node_threat_result`` turns Monte Carlo statistics into
certified accuracy per budget, each target alone (naive) and all targets together
(collective, over the model's receptive fields).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from graphcert.certificates import (
    hierarchical_certified,
    injection_certified,
)
from graphcert.certificates._node_budget import (
    hierarchical_collective,
    hierarchical_localized_collective,
    injection_collective,
    receptive_fields,
)
from graphcert.certificates.bounds import clopper_pearson_lower
from graphcert.noise import hierarchical, injection
from graphcert.noise.base import NoisyGraphs
from graphcert.noise.hierarchical import HierarchicalGaussianNoise, HierarchicalSparseNoise
from graphcert.noise.injection import NodeEdgeDeletionNoise, require_edge_input
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.training import model_inputs, set_seed
from graphcert.utils.validation import check_choice, check_int, check_real

__all__ = ["NodeThreatResult", "hierarchical_noise", "injection_noise", "node_threat_result",
           "train_under_noise"]

THREATS = ("nodes", "injection")


def hierarchical_noise(data: Data, p_select: float, *, theta_plus=None, theta_minus=None,
                       sigma: float | None = None, indicator: bool = True, clusters=None):
    """``graphcert.hierarchical_noise``: row selection with ``p_select`` and sparsity-aware
    (``theta_plus``, ``theta_minus``) or Gaussian (``sigma``) noise on the selected rows of
    ``data.x``, with the selection as an extra column if ``indicator`` (§14). A model for it
    takes ``data.num_features + indicator`` inputs.

    Args:
        data (Data): the graph, ``num_nodes`` N.
        p_select (float): probability in (0, 1] that a row gets noise.
        theta_plus (float or array_like, optional): 0 -> 1 flip probability of the selected
            rows; with ``clusters`` one per cluster, (K,).
        theta_minus (float or array_like, optional): 1 -> 0 flip probability, as
            ``theta_plus``.
        sigma (float, optional): Gaussian standard deviation (continuous features).
        indicator (bool): append the selection as a column.
        clusters (array_like, optional): (N,) cluster in [0, K) of every node, for
            cluster-wise flip probabilities (§14.1), e.g. from
            `graphcert.data.clustering.metis_partition`.

    Returns:
        HierarchicalSparseNoise or HierarchicalGaussianNoise: the noise.
    """
    return hierarchical.hierarchical_noise(data.num_nodes, p_select, theta_plus=theta_plus,
                                           theta_minus=theta_minus, sigma=sigma,
                                           indicator=indicator, clusters=clusters)


def injection_noise(data: Data, p_node: float, p_edge: float) -> NodeEdgeDeletionNoise:
    """``graphcert.injection_noise``: node deletion with ``p_node`` and edge deletion with
    ``p_edge`` on ``data``'s graph (node-aware bi-smoothing, §15).

    Args:
        data (Data): the graph, ``edge_index`` (2, E) and ``num_nodes`` N.
        p_node (float): node deletion probability in [0, 1).
        p_edge (float): edge deletion probability in [0, 1).

    Returns:
        NodeEdgeDeletionNoise: the noise.
    """
    return injection.injection_noise(data.edge_index, data.num_nodes, p_node, p_edge)


def _noisy_input(model, noise, x, edge_index, rng):
    """One noisy copy as the model takes it."""
    sample = noise.sample(x, 0, 1, rng)
    if isinstance(sample, NoisyGraphs):
        return model_inputs(model, sample.x, sample.edge_index)
    return model_inputs(model, sample, edge_index)


def train_under_noise(model: torch.nn.Module, data: Data, noise, idx_train, idx_val, *,
                      lr: float = 1e-2, weight_decay: float = 5e-4, max_epochs: int = 1000,
                      patience: int = 50, n_val_copies: int = 8, seed: int = 0) -> float:
    """Train in place on one noisy copy per epoch; early stopping on the loss over
    ``n_val_copies`` fixed noisy copies of the validation nodes (the smoothed setting).
    Returns the best validation loss.

    Args:
        model (torch.nn.Module): the model, trained in place.
        data (Data): the graph with ``x``, ``edge_index`` and ``y``.
        noise: a hierarchical or node / edge deletion noise.
        idx_train (array_like): training nodes.
        idx_val (array_like): validation nodes.
        lr (float): Adam learning rate.
        weight_decay (float): Adam weight decay.
        max_epochs (int): most epochs.
        patience (int): epochs without improvement before stopping.
        n_val_copies (int): fixed noisy copies for the validation loss.
        seed (int): seed of the weights and the noise.

    Returns:
        float: the best validation loss.
    """
    if isinstance(noise, NodeEdgeDeletionNoise):
        require_edge_input(model)
    set_seed(seed)
    rng = np.random.default_rng(seed)
    val_rng = np.random.default_rng(seed + 1)
    val_inputs = [_noisy_input(model, noise, data.x, data.edge_index, val_rng)
                  for _ in range(n_val_copies)]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    idx_train, idx_val = torch.as_tensor(idx_train), torch.as_tensor(idx_val)
    best, best_epoch, best_state = float("inf"), -1, None
    for epoch in range(max_epochs):
        model.train()
        x, graph = _noisy_input(model, noise, data.x, data.edge_index, rng)
        optimizer.zero_grad()
        F.cross_entropy(model(x, graph)[idx_train], data.y[idx_train]).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val = float(np.mean([F.cross_entropy(model(x, g)[idx_val], data.y[idx_val]).item()
                                 for x, g in val_inputs]))
        if val < best:
            best, best_epoch, best_state = val, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return best


@dataclass
class NodeThreatResult:
    """Certified accuracy per budget (controlled or injected nodes): ``naive[i]`` and
    ``collective[i]`` correct targets certified at ``budgets[i]``, of ``n_targets``;
    ``accuracy`` the smoothed accuracy (abstentions wrong); ``p_lower`` (T,) the bounds and
    ``correct`` (T,) which targets are right and not abstained.

    Args:
        threat (str): ``"nodes"`` or ``"injection"``.
        budgets (list[int]): the budgets, (B,).
        naive (list[int]): naive counts, (B,).
        collective (list[int]): collective counts, (B,).
        n_targets (int): number of targets T.
        accuracy (float): smoothed accuracy.
        p_lower (np.ndarray, optional): float64 (T,).
        correct (np.ndarray, optional): bool (T,).
    """

    threat: str
    budgets: list[int]
    naive: list[int] = field(default_factory=list)
    collective: list[int] = field(default_factory=list)
    n_targets: int = 0
    accuracy: float = 0.0
    p_lower: np.ndarray | None = None
    correct: np.ndarray | None = None

    def ratios(self) -> dict[str, list[float]]:
        """Naive and collective certified accuracy per budget.

        Returns:
            dict[str, list[float]]: ``"naive"`` and ``"collective"``, B values each.
        """
        n = max(self.n_targets, 1)
        return {"naive": [c / n for c in self.naive],
                "collective": [c / n for c in self.collective]}


def node_threat_result(stats: SmoothingStats, y: np.ndarray, targets: np.ndarray, noise,
                       edge_index, budgets, *, alpha: float = 0.01, hops: int = 2,
                       additions_per_node: int = 0, deletions_per_node: int = 1, tau: int = 6,
                       time_limit: float = 60.0) -> NodeThreatResult:
    """Certified accuracy of the smoothed predictions of ``targets`` against each budget.

    Bonferroni Clopper-Pearson lower bounds on the top class (level ``alpha`` shared by the
    targets, so that the collective certificate's bounds hold together); abstentions and
    wrong predictions count as not certified. ``noise`` says the threat model: hierarchical
    (r controlled nodes with ``r * additions_per_node`` added and ``r * deletions_per_node``
    deleted bits among them; Gaussian noise not supported here) or node / edge deletion
    (injected nodes with ``tau`` edges each).
    ``hops`` is the model's receptive field for the collective certificate.

    Args:
        stats (SmoothingStats): the Monte Carlo statistics.
        y (np.ndarray): labels of all nodes, (N,).
        targets (np.ndarray): target node ids, (T,).
        noise (HierarchicalSparseNoise or NodeEdgeDeletionNoise): the noise.
        edge_index (array_like): the clean graph, (2, E).
        budgets (Iterable[int]): numbers of controlled or injected nodes.
        alpha (float): significance level shared by the targets.
        hops (int): the model's receptive field.
        additions_per_node (int): bits each controlled node adds.
        deletions_per_node (int): bits each controlled node deletes.
        tau (int): edges per injected node.
        time_limit (float): seconds per collective program (HiGHS).

    Returns:
        NodeThreatResult: the counts per budget.
    """
    check_real(alpha, "alpha", "(0, 1)")
    hops = check_int(hops, "hops", "[0, inf)")
    if isinstance(noise, HierarchicalGaussianNoise):
        raise ValueError("node_threat_result certifies binary hierarchical noise; use "
                         "graphcert.certificates.hierarchical_gaussian_certified for Gaussian")
    threat = "nodes" if isinstance(noise, HierarchicalSparseNoise) else "injection"
    check_choice(threat, "threat", THREATS)
    targets = np.asarray(targets)
    predicted = stats.candidate_vote[targets]
    votes = stats.votes[targets, predicted]
    p_lower = clopper_pearson_lower(votes, stats.n[targets], alpha / targets.size)
    correct = (predicted == np.asarray(y)[targets]) & (p_lower > 0.5)
    result = NodeThreatResult(threat, [int(b) for b in budgets], n_targets=int(targets.size),
                              accuracy=float(correct.mean()), p_lower=p_lower, correct=correct)
    good = targets[correct]
    fields = receptive_fields(edge_index, stats.labels.size, hops, good)
    p_good = p_lower[correct]
    for budget in result.budgets:
        if threat == "nodes" and noise.clusters is not None:  # cluster-wise noise (§14.1)
            together = hierarchical_localized_collective(
                p_good, fields, noise.clusters, noise.p_select, budget, noise.theta_plus,
                noise.theta_minus, budget * additions_per_node, budget * deletions_per_node,
                time_limit=time_limit)
            naive = together.naive
        elif threat == "nodes":
            args = (noise.p_select, budget, noise.theta_plus, noise.theta_minus,
                    budget * additions_per_node, budget * deletions_per_node)
            naive = hierarchical_certified(p_good, *args)
            together = hierarchical_collective(p_good, fields, *args, time_limit=time_limit)
        else:
            naive = injection_certified(p_good, noise.p_node, noise.p_edge, budget, tau)
            together = injection_collective(p_good, fields, noise.p_node, noise.p_edge,
                                            budget, tau, time_limit=time_limit)
        result.naive.append(int(np.sum(naive)))
        result.collective.append(int(together.collective))
    return result
