"""Streaming, resumable Monte Carlo engine for localized smoothing (SPEC §3 Monte Carlo, §4).

Samples for output cluster k feed only the outputs (nodes) of cluster k (SPEC §2). Each
cluster runs a pre-sample (fixes each node's candidate class) and a main sample (the
statistics the certificates use), both split into chunks of ``chunk_size`` samples. Chunk
(phase, k, c) draws from its own generator (`streams`), so chunks can run in any order or on
any machine and merge into identical statistics (`statistics`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
from torch import Tensor
from tqdm.auto import tqdm

from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.chunks import SmoothingNoise
from graphcert.sampling.executors import LocalExecutor
from graphcert.sampling.statistics import MonteCarloConfig, SmoothingStats
from graphcert.sampling.streams import MAIN, PRE

__all__ = ["run_smoothing", "smooth"]


def smooth(model: Callable, x: Any, edge_index: Tensor, noise: SmoothingNoise,
           config: MonteCarloConfig, *, checkpoint: str | os.PathLike | None = None,
           progress: bool = True, prefetch: bool = True, executor=None) -> SmoothingStats:
    """Pre-sample, fix candidates, main sample; resumable from `checkpoint` (SPEC §3).

    An existing checkpoint is loaded (it must match `config` and `noise`) and only missing
    chunks are run; the statistics are saved atomically after every chunk. ``executor``
    (`graphcert.sampling.executors`, default local) runs the chunks; they are merged in a fixed order.
    """
    if executor is None:
        executor = LocalExecutor()
    labels = np.asarray(noise.labels)
    clusters = np.unique(labels)
    stats = None
    if checkpoint is not None and Path(checkpoint).exists():
        stats = SmoothingStats.load(checkpoint)
        if (stats.config != config or stats.noise != noise.describe()
                or not np.array_equal(stats.labels, labels)):
            raise ValueError(f"checkpoint {checkpoint} belongs to another configuration")
    x = noise.prepare(x)
    initial = 0 if stats is None else int(stats.samples_done(PRE).sum()
                                          + stats.samples_done(MAIN).sum())
    total = len(clusters) * (config.n_pre + config.n_samples)
    with tqdm(total=total, initial=initial, disable=not progress, unit="sample") as bar:
        for phase in (PRE, MAIN):
            if phase == MAIN:
                stats = stats.with_candidates()
                _save(stats, checkpoint)
            jobs = [(int(k), c) for k in clusters for c in range(config.n_chunks(phase))
                    if stats is None or not stats.has_chunk(phase, k, c)]
            for part in executor.run_chunks(
                    model, x, edge_index, noise, config, phase, jobs,
                    None if phase == PRE else stats.candidate_score, prefetch=prefetch,
                    on_batch=bar.update):
                if stats is None:
                    stats = SmoothingStats.empty(config, noise.describe(), labels,
                                                 part.n_classes)
                _save(stats.add_chunk(part), checkpoint)
    return stats


def run_smoothing(model: Callable, x: Tensor, edge_index: Tensor, labels, theta_plus,
                  theta_minus, n_samples: int, n_pre: int, *, n_bins: int = 1000,
                  batch_size: int = 32, chunk_size: int = 1000, seed: int = 0,
                  checkpoint: str | os.PathLike | None = None, progress: bool = True,
                  prefetch: bool = True) -> SmoothingStats:
    """`smooth` with sparsity-aware localized noise (SPEC §2).

    ``theta_plus`` / ``theta_minus`` are C x C matrices (row = output cluster) with `labels`,
    or scalars for isotropic smoothing (one cluster; `labels` must be None or all zero).
    """
    if np.ndim(theta_plus) == 0 and np.ndim(theta_minus) == 0:
        if labels is not None and np.any(np.asarray(labels) != 0):
            raise ValueError("scalar thetas mean isotropic smoothing: pass labels=None")
        noise = LocalizedNoise.isotropic(x.shape[0], float(theta_plus), float(theta_minus))
    else:
        noise = LocalizedNoise(labels, theta_plus, theta_minus)
    config = MonteCarloConfig(n_samples, n_pre, chunk_size, batch_size, n_bins, seed)
    return smooth(model, x, edge_index, noise, config, checkpoint=checkpoint,
                  progress=progress, prefetch=prefetch)


def _save(stats: SmoothingStats, checkpoint: str | os.PathLike | None) -> None:
    if checkpoint is not None:
        stats.save(checkpoint)
