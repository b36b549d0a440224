"""Certify any node classifier in one call: ``graphcert.certify`` (docs/theory.md §2, §3, §5, §6).

::

    import graphcert
    noise = graphcert.localized_noise(data, n_clusters=5, theta_plus=0.01,
                                      theta_minus=(0.6, 0.95), seed=0)
    cert = graphcert.certify(model, data, noise, targets=idx, n_pre=1000, n_samples=100_000,
                             alpha=0.01, bounds="binary", seed=0, device="cuda")
    cert.prediction                          # smoothed class, -1 where it abstains
    cert.radius                              # eta (docs/theory.md §3), <= 0 where it abstains
    cert.certified_accuracy(data.y, "deletions", range(21))  # collective (naive: False)
    cert.acr(data.y, "deletions", range(21))                 # the same curve, computed once

The model is any ``torch.nn.Module`` with ``forward(x, edge_index) -> logits (N, C)``; how a
batch of noisy copies reaches it is the model contract of `graphcert.sampling.batching`.
`certify` is the command line's ``graphcert certify`` for one method, step by step: the
base classifier's scores, the Monte Carlo statistics (`graphcert.sampling.engine.smooth`),
then the bounds and radii of `Certificate.from_statistics`, which the CLI uses too.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from gnn_models.temperature import ScaledLogits
from graphcert.certificates.bounds import BOUNDS
from graphcert.noise.binary import LocalizedNoise, localized_sparse_noise
from graphcert.sampling.devices import resolve_device
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.tasks.graph.certificate import Certificate
from graphcert.tasks.graph.surface import AttackSurface
from graphcert.utils.validation import check_choice, check_index_array, check_real

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


def certify(model: torch.nn.Module, data, noise: LocalizedNoise, targets=None, *,
            n_pre: int = 1000, n_samples: int = 100_000, alpha: float = 0.01,
            bounds: str = "binary", seed: int = 0, device: str | torch.device = "auto",
            batch_size: int | None = None, chunk_size: int = 1000,
            temperature: float | None = None, local_budget: int | None = None,
            checkpoint: str | os.PathLike | None = None, executor: Any = None,
            progress: bool = False) -> Certificate:
    """Variance-constrained certificates of `model`'s node predictions on `data` under
    sparsity-aware `noise` (docs/theory.md §3).

    Per output cluster, `n_pre` samples fix each node's candidate class and `n_samples` give
    the statistics; `alpha` is shared by the targets (Bonferroni). The model is moved to
    `device` and set to eval mode, in place. Chunks of `chunk_size` samples are seeded from
    `seed` alone, so the samples do not depend on the batch size, the executor or resuming.

    Args:
        model: ``forward(x, edge_index)`` -> logits (N, C) (the batching contract of
            `graphcert.sampling.batching`).
        data: torch_geometric ``Data`` with binary ``x`` (N, D) and ``edge_index`` (2, E).
        noise: `LocalizedNoise` (`localized_noise` or `isotropic_noise`).
        targets: node ids or a boolean mask (N,); default all nodes.
        n_pre, n_samples: samples per output cluster for the candidates and the statistics.
        alpha: significance level shared by the targets.
        bounds: ``"binary"`` smooths one-hot predictions (temperature 0) with one
            Clopper-Pearson bound; ``"dkw"`` and ``"bernstein"`` smooth
            softmax(logits / temperature) (default temperature 1).
        seed: seed of the sample streams.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available).
        batch_size: noisy copies per model call (default 32 on a CPU, 256 on CUDA).
        chunk_size: samples per seeded chunk.
        temperature: softmax temperature of the scores (see `bounds`).
        local_budget: at most this many changed bits per node (collective certificate).
        checkpoint: a .npz path that makes the run resumable.
        executor: runs the chunks (`graphcert.sampling.executors`; default this process).
        progress: show a progress bar.

    Returns:
        `Certificate` of the T targets: ``prediction`` (T,), ``radius`` (T,) and the naive
        and collective certified accuracy over attack budgets.
    """
    device = resolve_device(device)                                    # 0. check everything
    if not isinstance(noise, LocalizedNoise):
        raise ValueError(f"noise must be a LocalizedNoise (graphcert.localized_noise or "
                         f"graphcert.isotropic_noise), got {type(noise).__name__}")
    check_choice(bounds, "bounds", BOUNDS)
    check_real(alpha, "alpha", "(0, 1)")
    temperature = _temperature(bounds, temperature)
    targets = _targets(targets, data.num_nodes)
    batch_size = DEFAULT_BATCH[device.type] if batch_size is None else batch_size
    config = MonteCarloConfig(n_samples, n_pre, chunk_size, batch_size,
                              n_bins=1000 if bounds == "dkw" else 1, seed=seed)
    x = data.x.detach().cpu()
    surface = AttackSurface.from_attributes((x.to_dense() if x.is_sparse else x).numpy(),
                                            local_budget)

    scores = model.to(device).eval()                                   # 1. base classifier g
    if temperature != 1:
        scores = ScaledLogits(model, temperature).eval()
    stats = smooth(scores, x, data.edge_index, noise, config,          # 2. Monte Carlo
                   checkpoint=checkpoint, executor=executor, progress=progress)
    return Certificate.from_statistics(stats, noise.theta_plus,        # 3. bounds, radii
                                       noise.theta_minus, surface, targets, alpha=alpha,
                                       bounds=bounds)


def _temperature(bounds: str, temperature: float | None) -> float:
    """Softmax temperature of the smoothed scores (0: one-hot votes, which "binary" needs)."""
    if temperature is None:
        return 0.0 if bounds == "binary" else 1.0
    temperature = check_real(temperature, "temperature", "[0, inf)")
    if bounds == "binary" and temperature != 0:
        raise ValueError(f"temperature == {temperature}: bounds 'binary' need one-hot scores "
                         "(temperature 0); use bounds 'dkw' or 'bernstein' for softmax scores")
    return temperature


def _targets(targets, num_nodes: int) -> np.ndarray:
    """Target node ids (all nodes if None; a boolean mask selects), distinct, sorted as given."""
    if targets is None:
        return np.arange(num_nodes)
    if isinstance(targets, torch.Tensor):
        targets = targets.detach().cpu().numpy()
    targets = np.asarray(targets)
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
