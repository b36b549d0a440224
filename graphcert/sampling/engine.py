"""Streaming, resumable Monte Carlo engine for localized smoothing (SPEC §3 Monte Carlo, §4).

Samples for output cluster k feed only the outputs (nodes) of cluster k (SPEC §2). Each
cluster runs a pre-sample (fixes each node's candidate class) and a main sample (the
statistics the certificates use), both split into chunks of ``chunk_size`` samples. Chunk
(phase, k, c) draws from its own generator (`streams`), so chunks can run in any order or on
any machine and merge into identical statistics (`statistics`).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.batching import folded_input
from graphcert.sampling.statistics import ChunkCounts, ChunkStats, MonteCarloConfig, SmoothingStats
from graphcert.sampling.streams import MAIN, PRE, chunk_generator

__all__ = ["SmoothingNoise", "noisy_batches", "run_chunk", "run_smoothing", "smooth"]


class SmoothingNoise(Protocol):
    """What the engine needs from a smoothing distribution (e.g. `LocalizedNoise`)."""

    labels: np.ndarray  # output cluster of every node

    def prepare(self, x: Any) -> Any: ...

    def sample(self, x: Any, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> Any: ...

    def describe(self) -> dict: ...


def run_chunk(model: Callable, x: Any, edge_index: Tensor, noise: SmoothingNoise,
              config: MonteCarloConfig, output_cluster: int, chunk: int, phase: int = MAIN,
              candidates: np.ndarray | None = None, *, prefetch: bool = True,
              on_batch: Callable[[int], None] | None = None) -> ChunkStats:
    """Statistics of one chunk, for any executor; add them with `SmoothingStats.add_chunk`.

    ``candidates`` (N,) are the score candidates (required for ``phase=MAIN``). With
    ``prefetch`` the next batch is sampled in a background thread while the model runs.
    """
    if getattr(model, "training", False):
        raise ValueError("model must be in eval mode (call model.eval())")
    if phase not in (PRE, MAIN):
        raise ValueError(f"phase must be PRE ({PRE}) or MAIN ({MAIN}), got {phase}")
    labels = np.asarray(noise.labels)
    nodes = np.flatnonzero(labels == output_cluster)
    if phase == MAIN:
        if candidates is None or np.shape(candidates) != labels.shape:
            raise ValueError(f"phase MAIN needs candidates of shape {labels.shape}")
        chosen = np.asarray(candidates, dtype=np.int64)[nodes]
        if np.any(chosen < 0):
            raise ValueError(f"cluster {output_cluster} has nodes without a candidate class")
    length = config.chunk_length(phase, chunk)
    sizes = [config.batch_size] * (length // config.batch_size)
    sizes += [length % config.batch_size] if length % config.batch_size else []
    x = noise.prepare(x)
    rng = chunk_generator(config.seed, phase, output_cluster, chunk)
    counts = None
    with torch.no_grad():
        for size, z in zip(sizes, noisy_batches(noise, x, output_cluster, sizes, rng, prefetch)):
            logits = model(folded_input(z, size), edge_index)
            if logits.dim() != 3 or logits.shape[:2] != (size, len(labels)):
                raise ValueError(f"model returned shape {tuple(logits.shape)}, expected "
                                 f"({size}, {len(labels)}, n_classes)")
            if counts is None:
                counts = ChunkCounts(len(nodes), logits.shape[-1], config.n_bins)
            counts.add(logits.detach().cpu().numpy()[:, nodes], None if phase == PRE else chosen)
            if on_batch is not None:
                on_batch(size)
    return counts.result(config, noise.describe(), phase, output_cluster, chunk, nodes,
                         None if phase == PRE else chosen)


def smooth(model: Callable, x: Any, edge_index: Tensor, noise: SmoothingNoise,
           config: MonteCarloConfig, *, checkpoint: str | os.PathLike | None = None,
           progress: bool = True, prefetch: bool = True, executor=None) -> SmoothingStats:
    """Pre-sample, fix candidates, main sample; resumable from `checkpoint` (SPEC §3).

    An existing checkpoint is loaded (it must match `config` and `noise`) and only missing
    chunks are run; the statistics are saved atomically after every chunk. ``executor``
    (`graphcert.sampling.executors`, default local) runs the chunks; they are merged in a fixed order.
    """
    if executor is None:
        from graphcert.sampling.executors import LocalExecutor
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


def noisy_batches(noise: SmoothingNoise, x: Any, output_cluster: int, sizes: list[int],
                  rng: np.random.Generator, prefetch: bool = True) -> Iterator[Any]:
    """Noisy batches of the given sizes in order; with `prefetch`, batch i + 1 is drawn in a
    background thread while the caller uses batch i.

    The draws happen in the same order either way, so the samples are identical.
    """
    if not prefetch:
        for size in sizes:
            yield noise.sample(x, output_cluster, size, rng)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(noise.sample, x, output_cluster, sizes[0], rng)
        for size in sizes[1:]:
            current = pending.result()
            pending = pool.submit(noise.sample, x, output_cluster, size, rng)
            yield current
        yield pending.result()


def _save(stats: SmoothingStats, checkpoint: str | os.PathLike | None) -> None:
    if checkpoint is not None:
        stats.save(checkpoint)
