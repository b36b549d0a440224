"""Certify any node classifier in one call: ``graphcert.certify`` (SPEC §2, §3, §5, §6).

::

    import graphcert
    noise = graphcert.localized_noise(data, n_clusters=5, theta_plus=0.01,
                                      theta_minus=(0.6, 0.95), seed=0)
    cert = graphcert.certify(model, data, noise, targets=idx, n_pre=1000, n_samples=100_000,
                             alpha=0.01, bounds="binary", seed=0, device="cuda")
    cert.prediction                                  # smoothed class, -1 where it abstains
    cert.radius                                      # eta of SPEC §3, <= 0 where it abstains
    cert.certified_accuracy(data.y, "deletions", range(21), collective=True)
    cert.acr(data.y, "deletions")

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
from graphcert.certificates.bounds import BOUNDS, check_bonferroni_alpha
from graphcert.noise.binary import LocalizedNoise, localized_sparse_noise
from graphcert.sampling.devices import resolve_device
from graphcert.sampling.engine import smooth
from graphcert.sampling.model_checks import check_model_tensors
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.tasks.graph.certificate import Certificate
from graphcert.tasks.graph.surface import AttackSurface
from graphcert.utils.validation import check_choice, check_index_array, check_int, check_real

__all__ = ["certify", "isotropic_noise", "localized_noise"]


#: Noisy copies per model call by default: the CLI's 32 on a CPU (the same samples), more on
#: an accelerator, where a call's fixed cost is larger.
DEFAULT_BATCH = {"cpu": 32, "cuda": 256}


def localized_noise(data, n_clusters: int = 5, theta_plus: float | tuple = 0.01,
                    theta_minus: float | tuple = (0.6, 0.95), seed: int = 0) -> LocalizedNoise:
    """Localized sparsity-aware noise for `data` (SPEC §2): METIS clusters (`seed`), then
    per output cluster the flip probabilities of each input cluster by affinity rank; a
    (low, high) pair runs from low (own cluster) to high (least connected cluster)."""
    check_int(seed, "seed", "[0, 4294967295]")  # METIS takes 32-bit seeds
    return localized_sparse_noise(data.edge_index, data.num_nodes, n_clusters, theta_plus,
                                  theta_minus, seed)


def isotropic_noise(data, theta_plus: float, theta_minus: float) -> LocalizedNoise:
    """The same flip probabilities on every attribute: one cluster (the baselines, SPEC §2)."""
    return LocalizedNoise.isotropic(data.num_nodes, theta_plus, theta_minus)


def certify(model: torch.nn.Module, data, noise: LocalizedNoise, targets=None, *,
            n_pre: int = 1000, n_samples: int = 100_000, alpha: float = 0.01,
            bounds: str = "binary", seed: int = 0, device: str | torch.device = "auto",
            batch_size: int | None = None, chunk_size: int = 1000,
            temperature: float | None = None, local_budget: int | None = None,
            checkpoint: str | os.PathLike | None = None, executor: Any = None,
            progress: bool = False) -> Certificate:
    """Variance-constrained certificates of `model`'s node predictions on `data` (a
    torch_geometric ``Data`` with binary ``x`` and ``edge_index``) under sparsity-aware
    `noise` (SPEC §3), for the nodes `targets` (default: all).

    Per output cluster, `n_pre` samples fix each node's candidate class and `n_samples` give
    the statistics; `alpha` is shared by the targets (Bonferroni). ``bounds``: ``"binary"``
    smooths one-hot predictions (``temperature`` 0) with one Clopper-Pearson bound; ``"dkw"``
    and ``"bernstein"`` smooth softmax(logits / temperature) (default 1). The model is moved
    to `device` (``"auto"``: CUDA when available) and set to eval mode, in place. Chunks of
    `chunk_size` samples are seeded from `seed` alone; `checkpoint` (a .npz path) makes the
    run resumable, `executor` spreads chunks (`graphcert.sampling.executors`).
    """
    device = resolve_device(device)                                    # 0. check everything
    if not isinstance(noise, LocalizedNoise):
        raise ValueError(f"noise must be a LocalizedNoise (graphcert.localized_noise or "
                         f"graphcert.isotropic_noise), got {type(noise).__name__}")
    check_choice(bounds, "bounds", BOUNDS)
    check_real(alpha, "alpha", "(0, 1)")
    if local_budget is not None:
        check_int(local_budget, "local_budget", "[0, inf)")
    temperature = _temperature(bounds, temperature)
    targets = _targets(targets, data.num_nodes)
    check_bonferroni_alpha(alpha, len(targets))
    check_model_tensors(model, f"model {type(model).__qualname__}")
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
