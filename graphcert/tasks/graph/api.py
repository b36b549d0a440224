"""Certify any node classifier in one call: ``graphcert.certify`` (docs/theory.md §2-§9).

::

    import graphcert
    noise = graphcert.structure_noise(data, p_plus=0.01, p_minus=0.6)  # or any noise below
    cert = graphcert.certify(model, data, noise, targets=idx, n_pre=1000, n_samples=100_000,
                             alpha=0.01, certificate="sparse_smooth", seed=0, device="cuda")
    cert.prediction                          # smoothed class per target, -1 where it abstains
    cert.robust("edge_additions", 5)         # bool per target: certified against 5 insertions
    cert.robust("edges", (5, 2))             # ... against 5 insertions and 2 deletions at once

    noise = graphcert.hierarchical_noise(data, 0.81, theta_plus=0.05, theta_minus=0.8)
    cert = graphcert.certify(model, data, noise, targets=idx)  # model takes D + 1 inputs
    cert.robust("nodes", 2)                  # certified against 2 controlled nodes
    cert.certified_accuracy(data.y, "nodes", [1, 2, 3])

Noises: ``graphcert.localized_noise`` / ``isotropic_noise`` (attribute bits),
``structure_noise`` (edges), ``joint_noise`` (both), ``kary_noise`` (categorical values),
``gaussian_noise`` (continuous features), `graphcert.tasks.graph.noises`; the node-level
threats' ``hierarchical_noise`` (controlled nodes) and ``injection_noise`` (injected nodes),
`graphcert.tasks.graph.node_threats`. Certificate
families and the noises they fit: `graphcert.tasks.graph.families`; attacks and budgets:
`graphcert.tasks.graph.attacks`.

The model is any ``torch.nn.Module`` with ``forward(x, edge_index) -> logits (N, C)``; how a
batch of noisy copies reaches it is the model contract of `graphcert.sampling.batching`.
`certify` is the command line's ``graphcert certify`` for one method, step by step: the
base classifier's scores, the Monte Carlo statistics (`graphcert.sampling.engine.smooth`),
then the per-target certificates of the family (`certificate_from_statistics`), which the
command line's result builders read too.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from gnn_models.temperature import ScaledLogits
from graphcert.certificates.bounds import check_bonferroni_alpha
from graphcert.noise.binary import LocalizedNoise, localized_sparse_noise
from graphcert.noise.gaussian import GraphGaussian
from graphcert.noise.hierarchical import HierarchicalSparseNoise
from graphcert.noise.injection import require_edge_input
from graphcert.noise.kary import KaryNoise
from graphcert.sampling.batching import batch_for_memory
from graphcert.sampling.devices import resolve_device
from graphcert.sampling.engine import smooth
from graphcert.sampling.model_checks import check_model_tensors
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.tasks.graph.families import (
    certificate_from_statistics,
    choose_certificate,
    score_settings,
)
from graphcert.tasks.graph.noises import attribute_part
from graphcert.tasks.graph.voting import message_passing_hops
from graphcert.utils.validation import check_index_array, check_int, check_real

__all__ = ["certify", "isotropic_noise", "localized_noise"]


#: Noisy copies per model call by default: the CLI's 32 on a CPU (the same samples), more on
#: an accelerator, where a call's fixed cost is larger.
DEFAULT_BATCH = {"cpu": 32, "cuda": 256}


def localized_noise(data, n_clusters: int = 5, theta_plus: float | tuple = 0.01,
                    theta_minus: float | tuple = (0.6, 0.95), seed: int = 0) -> LocalizedNoise:
    """Localized sparsity-aware noise for `data` (docs/theory.md §2): METIS clusters, then per
    output cluster the flip probabilities of each input cluster by affinity rank.

    Args:
        data: a torch_geometric ``Data`` with ``edge_index`` (2, E) and ``num_nodes`` N.
        n_clusters: number of METIS clusters C.
        theta_plus: probability that a 0-bit turns 1: one value, or (low, high) from the own
            cluster (low) to the least connected one (high).
        theta_minus: probability that a 1-bit turns 0, as `theta_plus`.
        seed: METIS seed.

    Returns:
        `LocalizedNoise` with ``labels`` (N,) and ``theta_plus`` / ``theta_minus`` (C, C),
        row = output cluster, column = input cluster.
    """
    check_int(seed, "seed", "[0, 4294967295]")  # METIS takes 32-bit seeds
    return localized_sparse_noise(data.edge_index, data.num_nodes, n_clusters, theta_plus,
                                  theta_minus, seed)


def isotropic_noise(data, theta_plus: float, theta_minus: float) -> LocalizedNoise:
    """The same flip probabilities on every attribute: one cluster (the baselines,
    docs/theory.md §2).

    Args:
        data: a torch_geometric ``Data`` with ``num_nodes`` N.
        theta_plus: probability that a 0-bit turns 1.
        theta_minus: probability that a 1-bit turns 0.

    Returns:
        `LocalizedNoise` with ``labels`` (N,) all 0 and (1, 1) probabilities.
    """
    return LocalizedNoise.isotropic(data.num_nodes, theta_plus, theta_minus)


def certify(model: torch.nn.Module, data, noise, targets=None, *, n_pre: int = 1000,
            n_samples: int = 100_000, alpha: float = 0.01, certificate: str | None = None,
            bounds: str | None = None, seed: int = 0, device: str | torch.device = "auto",
            batch_size: int | None = None, chunk_size: int = 1000,
            temperature: float | None = None, local_budget: int | None = None,
            checkpoint: str | os.PathLike | None = None, executor: Any = None,
            progress: bool = False, bits_per_node: tuple[int, int] | None = None,
            tau: int | None = None):
    """Certificates of `model`'s node predictions on `data` smoothed with `noise`, in the
    certificate family that fits it (docs/theory.md §2-§9).

    Per output cluster, `n_pre` samples fix each node's candidate class and `n_samples` give
    the statistics; `alpha` holds for all targets together (Bonferroni or Holm, by family).
    The model is moved to `device` and set to eval mode, in place. Chunks of `chunk_size`
    samples are seeded from `seed` alone, so the samples do not depend on the batch size, the
    executor or resuming. Every check runs before any sampling.

    Args:
        model: ``forward(x, edge_index)`` -> logits (N, C) (the batching contract of
            `graphcert.sampling.batching`).
        data: torch_geometric ``Data`` with ``x`` (N, D) and ``edge_index`` (2, E); ``x``
            binary under attribute noise, any under structure or Gaussian noise.
        noise: from ``graphcert.localized_noise``, ``isotropic_noise`` (attribute bits),
            ``structure_noise`` (edges), ``joint_noise`` (both), ``kary_noise``
            (categorical values), ``gaussian_noise`` (continuous features),
            ``hierarchical_noise`` (controlled nodes, docs/theory.md §14) or
            ``injection_noise`` (injected nodes, §15; the model must take ``edge_index``),
            built from `data`.
        targets: node ids or a boolean mask (N,); default all nodes.
        n_pre, n_samples: samples per output cluster for the candidates and the statistics.
        alpha: significance level shared by the targets.
        certificate: ``"variance_constrained"``, ``"sparse_smooth"``, ``"kary_hamming"`` or
            ``"gaussian"``, ``"hierarchical"`` or ``"injection"``
            (`graphcert.tasks.graph.families`); None: the noise's natural family, the exact
            one for isotropic binary (``"sparse_smooth"``) or K-ary (``"kary_hamming"``)
            noise, ``"variance_constrained"`` for localized noise, ``"gaussian"`` for
            Gaussian noise, ``"hierarchical"`` / ``"injection"`` for the node-level noises.
            A family that does not fit is an error.
        bounds: variance-constrained only: ``"clopper_pearson"`` (default) smooths one-hot
            predictions (temperature 0) with one Clopper-Pearson bound; ``"dkw"`` and
            ``"bernstein"`` smooth softmax(logits / temperature) (default temperature 1).
            ``"binary"``, its earlier name, still works.
        seed: seed of the sample streams.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available).
        batch_size: noisy copies per model call (default 32 on a CPU, 256 on CUDA; Gaussian
            noise: at most what fits `batch_for_memory`).
        chunk_size: samples per seeded chunk.
        temperature: variance-constrained only, softmax temperature of the scores (see
            `bounds`).
        local_budget: variance-constrained only, at most this many changed bits (values) per
            node.
        checkpoint: a .npz path that makes the run resumable.
        executor: runs the chunks (`graphcert.sampling.executors`; default this process).
        progress: show a progress bar.
        bits_per_node: hierarchical only, the (additions, deletions) of bits each
            controlled node makes; default (0, 1).
        tau: injection only, the edges per injected node of ``robust("injection", rho)``
            and the collective certificate; default 6.

    Returns:
        The certificate of the T targets: ``prediction`` (T,) (class, -1 where it abstains),
        ``robust(attack, budget)`` (T,) bool (`graphcert.tasks.graph.attacks`),
        ``certified_accuracy``, ``family``, ``attacks`` and ``stats``. Variance-constrained:
        `Certificate` (also ``radius`` and collective certificates); else
        `SparseSmoothCertificate`, `KaryHammingCertificate`, `GaussianCertificate` or
        `graphcert.tasks.graph.node_certificates.NodeThreatCertificate` (hierarchical,
        injection; ``certified_accuracy`` naive or collective, over the receptive fields of
        the model's depth where `graphcert.tasks.graph.voting.message_passing_hops` reads it).
    """
    device = resolve_device(device)                                    # 0. check everything
    family = choose_certificate(noise, certificate)
    scoring = score_settings(family, bounds, temperature)
    if family == "injection":
        require_edge_input(model)
    node_budget = _node_budget(family, bits_per_node, tau)
    check_real(alpha, "alpha", "(0, 1)")
    targets = _targets(targets, data.num_nodes)
    x = _features(data, noise)
    local_budget = _check_local_budget(local_budget, family, noise)
    check_bonferroni_alpha(alpha, len(targets))
    check_model_tensors(model, f"model {type(model).__qualname__}")
    batch_size = DEFAULT_BATCH[device.type] if batch_size is None else batch_size
    if isinstance(noise, GraphGaussian):  # dense copies: batches within a memory budget
        batch_size = batch_for_memory(batch_size, data.num_nodes, x.shape[1])
    config = MonteCarloConfig(n_samples, n_pre, chunk_size, batch_size,
                              n_bins=1000 if scoring.histogram else 1, seed=seed)

    scores = model.to(device).eval()                                   # 1. base classifier g
    if scoring.temperature is not None and scoring.temperature != 1:
        scores = ScaledLogits(model, scoring.temperature).eval()
    stats = smooth(scores, x, data.edge_index, noise, config,          # 2. Monte Carlo
                   checkpoint=checkpoint, executor=executor, progress=progress)
    return certificate_from_statistics(family, stats, noise, targets,  # 3. bounds, regions
                                       alpha=alpha, bounds=scoring.bounds, x=x,
                                       local_budget=local_budget,
                                       edge_index=data.edge_index.detach().cpu().numpy(),
                                       node_budget=node_budget,
                                       hops=message_passing_hops(model))


def _node_budget(family: str, bits_per_node, tau) -> dict | None:
    """The per-node budget of the node-level families: ``bits_per_node`` (hierarchical) and
    ``tau`` (injection); either given to another family is an error."""
    if bits_per_node is not None:
        if family != "hierarchical":
            raise ValueError(f"bits_per_node == {bits_per_node!r} applies to certificate "
                             f"'hierarchical' only, not {family!r}")
        if not isinstance(bits_per_node, (tuple, list)) or len(bits_per_node) != 2:
            raise ValueError(f"bits_per_node must be an (additions, deletions) pair, got "
                             f"{bits_per_node!r}")
        return {"additions_per_node": check_int(bits_per_node[0], "bits_per_node[0]",
                                                "[0, inf)"),
                "deletions_per_node": check_int(bits_per_node[1], "bits_per_node[1]",
                                                "[0, inf)")}
    if tau is not None:
        if family != "injection":
            raise ValueError(f"tau == {tau!r} applies to certificate 'injection' only, not "
                             f"{family!r}")
        return {"tau": check_int(tau, "tau", "[0, inf)")}
    return None


def _features(data, noise) -> torch.Tensor:
    """``data.x`` on the CPU, checked against `noise`: one cluster label per node, binary
    attributes under attribute noise, categorical ones under K-ary noise."""
    x = data.x.detach().cpu()
    if np.asarray(noise.labels).size != data.num_nodes:
        raise ValueError(f"noise was built for {np.asarray(noise.labels).size} nodes, data has "
                         f"{data.num_nodes}: build the noise from this graph")
    if attribute_part(noise) is not None or isinstance(noise, HierarchicalSparseNoise):
        values = x.values() if x.is_sparse else x
        if not bool(torch.all((values == 0) | (values == 1))):
            raise ValueError("data.x must be binary (0/1) under attribute noise "
                             "(localized_noise, isotropic_noise, joint_noise, "
                             "hierarchical_noise); for continuous "
                             "features use graphcert.gaussian_noise, or "
                             "graphcert.structure_noise to certify edges")
    if isinstance(noise, KaryNoise):
        noise.prepare(x)  # a clear error if x does not encode the categorical values
    return x


def _check_local_budget(local_budget, family: str, noise) -> int | None:
    """Changed attribute bits (values) per node: variance-constrained, attribute or K-ary."""
    if local_budget is None:
        return None
    local_budget = check_int(local_budget, "local_budget", "[0, inf)")
    if family != "variance_constrained" or (attribute_part(noise) is None
                                            and not isinstance(noise, KaryNoise)):
        raise ValueError(f"local_budget == {local_budget} applies to certificate "
                         "'variance_constrained' under attribute or K-ary noise only")
    return local_budget


def _targets(targets, num_nodes: int) -> np.ndarray:
    """Target node ids (all nodes if None; a boolean mask selects), distinct, sorted as given."""
    if targets is None:
        return np.arange(num_nodes)
    if isinstance(targets, torch.Tensor):
        targets = targets.detach().cpu().numpy()
    targets = np.asarray(targets)
    if targets.dtype == np.uint8:
        raise ValueError("targets has dtype uint8, which is read as node ids; a mask must be "
                         "boolean (targets.bool()), ids integers (targets.long())")
    if targets.dtype == bool:
        if targets.shape != (num_nodes,):
            raise ValueError(f"a boolean targets mask must have shape ({num_nodes},), got "
                             f"{targets.shape}")
        targets = np.flatnonzero(targets)
    targets = check_index_array(targets, "targets", num_nodes, ndim=1)
    if targets.size == 0 or np.unique(targets).size != targets.size:
        raise ValueError(f"targets must be distinct node ids, at least one, got {targets.size} "
                         f"ids of which {np.unique(targets).size} distinct")
    return targets
