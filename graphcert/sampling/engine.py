"""Streaming, resumable Monte Carlo engine for localized smoothing (docs/theory.md §3 Monte
Carlo, §4).

Samples for output cluster k feed only the outputs (nodes) of cluster k (docs/theory.md §2). Each
cluster runs a pre-sample (fixes each node's candidate class) and a main sample (the
statistics the certificates use), both split into chunks of ``chunk_size`` samples. Chunk
(phase, k, c) draws from its own generator (`streams`), so chunks can run in any order or on
any machine and merge into identical statistics (`statistics`).

A checkpoint is reused only for the same scores (`fingerprint.scores_fingerprint` of the model
and data), sampling settings, noise and clusters. Any other checkpoint, or one that cannot be
read, is set aside (``stats.npz`` -> ``stats.stale-1.npz``), never merged or deleted, and the
statistics are sampled afresh; a warning on the ``graphcert.sampling`` logger says why.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from graphcert.noise.base import SmoothingNoise
from graphcert.sampling.executors import LocalExecutor
from graphcert.sampling.fingerprint import scores_fingerprint
from graphcert.sampling.finite import NonFiniteLogits
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import CheckpointError, SmoothingStats
from graphcert.sampling.streams import MAIN, PRE
from graphcert.utils.io import partial_writes, set_aside

__all__ = ["check_edge_ids", "smooth"]

logger = logging.getLogger("graphcert.sampling")


def smooth(model: Callable, x: Any, edge_index: Tensor, noise: SmoothingNoise,
           config: MonteCarloConfig, *, checkpoint: str | os.PathLike | None = None,
           fingerprint: str | None = None, progress: bool = True, prefetch: bool = True,
           executor=None) -> SmoothingStats:
    """Pre-sample, fix candidates, main sample; resumable from `checkpoint` (docs/theory.md §3).

    ``fingerprint`` identifies what produces the scores; by default
    ``scores_fingerprint(model, x, edge_index)`` (a `torch.nn.Module` model; other callables
    need an explicit fingerprint to use a checkpoint). A checkpoint with the same fingerprint,
    `config`, noise and clusters is continued (only missing chunks run); any other is set
    aside and the statistics are resampled. The statistics are saved atomically after every
    chunk. ``executor`` (`graphcert.sampling.executors`, default local) runs the chunks; they
    are merged in a fixed order.

    Args:
        model: the base classifier in eval mode, ``forward(x, edge_index)`` -> (N, Y) logits.
        x: the clean input (prepared once here by ``noise.prepare``).
        edge_index: (2, E) clean graph, or what the model takes as its graph.
        noise: the smoothing distribution (`graphcert.noise.base.SmoothingNoise`).
        config: sample counts, chunking, histogram bins and seed.
        checkpoint: .npz path to resume from and save to, or None.
        fingerprint: identity of the scores (default: `scores_fingerprint`).
        progress: show a progress bar.
        prefetch: draw the next batch while the model runs.
        executor: runs the chunks (default `LocalExecutor`).

    Returns:
        `SmoothingStats` of all N nodes: votes (N, Y), candidate score sums and histogram.
    """
    if executor is None:
        executor = LocalExecutor()
    labels = np.asarray(noise.labels)
    check_edge_ids(edge_index, len(labels))
    if fingerprint is None and (checkpoint is not None or isinstance(model, torch.nn.Module)):
        fingerprint = scores_fingerprint(model, x, edge_index)
    clusters = np.unique(labels)
    stats = None
    if checkpoint is not None:
        stats = _resume(Path(checkpoint), config, noise.describe(), labels, fingerprint)
    x = noise.prepare(x)
    initial = 0 if stats is None else int(stats.samples_done(PRE).sum()
                                          + stats.samples_done(MAIN).sum())
    total = len(clusters) * (config.n_pre + config.n_samples)
    try:
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
                                                     part.n_classes, fingerprint)
                    _save(stats.add_chunk(part), checkpoint)
    except NonFiniteLogits as error:
        raise error.naming(f"model {_model_name(model)}") from None
    return stats


def _model_name(model: Callable) -> str:
    """The class of `model` for messages; a score wrapper (``ScaledLogits``) is named by the
    model it wraps."""
    inner = getattr(model, "model", None)
    named = inner if isinstance(inner, torch.nn.Module) else model
    return f"{type(named).__module__}.{type(named).__qualname__}"


def check_edge_ids(edge_index: Any, n_nodes: int) -> None:
    """ValueError unless every node id of `edge_index` (2, E) lies in [0, n_nodes): checked
    before any sampling, not left to fail inside the model.

    Args:
        edge_index (Any): the graph, shape (2, E) (anything else is not checked).
        n_nodes (int): number of nodes N.
    """
    if not isinstance(edge_index, Tensor) or edge_index.numel() == 0 or \
            edge_index.is_sparse or edge_index.is_floating_point():
        return
    low, high = int(edge_index.min()), int(edge_index.max())
    if low < 0 or high >= n_nodes:
        bad = low if low < 0 else high
        raise ValueError(f"edge_index holds node id {bad}, outside [0, {n_nodes}) for a graph "
                         f"of {n_nodes} nodes (the rows of x and the noise's labels)")


def _resume(checkpoint: Path, config: MonteCarloConfig, noise: dict, labels: np.ndarray,
            fingerprint: str | None) -> SmoothingStats | None:
    """The statistics saved in `checkpoint` if they continue this run, else None; a
    checkpoint that cannot be continued is set aside with a warning."""
    for leftover in partial_writes(checkpoint):  # a save interrupted by a kill
        leftover.unlink()
    if not checkpoint.exists():
        return None
    if not checkpoint.is_file():
        raise ValueError(f"checkpoint {checkpoint} is not a file")
    try:
        stats = SmoothingStats.load(checkpoint)
        reason = stats.mismatch(config, noise, labels, fingerprint)
    except CheckpointError as error:
        stats, reason = None, f"it cannot be used: {error}"
    if reason is None:
        return stats
    moved = set_aside(checkpoint)
    logger.warning("statistics checkpoint %s not reused: %s; moved it to %s and resampling",
                   checkpoint, reason, moved.name)
    return None


def _save(stats: SmoothingStats, checkpoint: str | os.PathLike | None) -> None:
    if checkpoint is not None:
        stats.save(checkpoint)
