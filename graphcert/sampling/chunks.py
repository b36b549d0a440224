"""One chunk of Monte Carlo samples: draw noisy batches, run the model, count
(docs/theory.md §3, §4).

`run_chunk` is what every executor runs; its statistics cover the nodes of the chunk's output
cluster only and are added up by `graphcert.sampling.engine.smooth`. The chunk runs where the
model is (`graphcert.sampling.batching.model_device`): on an accelerator, noises that can
(``torch_sampling = True``) draw there from a torch generator seeded per chunk, and the
counts are made there (`graphcert.sampling.devices`).
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from graphcert.noise.base import SmoothingNoise
from graphcert.sampling.batching import BatchedModel
from graphcert.sampling.devices import DeviceCounts, torch_generator
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import ChunkCounts, ChunkStats
from graphcert.sampling.streams import MAIN, PHASES, PRE, batch_sizes, chunk_generator

__all__ = ["noisy_batches", "on_accelerator", "run_chunk"]

# Threads that draw prefetched batches. With two, the next batch is drawn while the thread that
# drew the current one still finishes its copies; draws never overlap (each is started only
# once the one before it is drawn). On up to three cores the extra thread competes with the
# model's (docs/benchmarks.md).
DRAWING_THREADS = 2 if (os.cpu_count() or 1) >= 4 else 1


def run_chunk(model: Callable, x: Any, edge_index: Tensor, noise: SmoothingNoise,
              config: MonteCarloConfig, output_cluster: int, chunk: int, phase: int = MAIN,
              candidates: np.ndarray | None = None, *, prefetch: bool = True,
              on_batch: Callable[[int], None] | None = None) -> ChunkStats:
    """Statistics of one chunk, for any executor; add them with `SmoothingStats.add_chunk`.

    Args:
        model: the base classifier in eval mode, ``forward(x, edge_index)`` -> (N, Y) logits
            (batched as `graphcert.sampling.batching` says).
        x: the clean input as `noise.prepare` returns it (prepared once per run by
            `graphcert.sampling.engine.smooth`; on an accelerator it must be prepared).
        edge_index: (2, E) clean graph (or what the model takes as its graph).
        noise: the smoothing distribution (`graphcert.noise.base.SmoothingNoise`).
        config: sample counts, batch size, histogram bins and seed.
        output_cluster, chunk, phase: which chunk of which distribution (`streams.PHASES`).
        candidates: (N,) the score candidates, required for ``phase=MAIN``.
        prefetch: draw the next batch in a background thread while the model runs.
        on_batch: called with each batch's size (progress).

    Returns:
        The chunk's statistics over the n_k nodes of `output_cluster`.
    """
    if getattr(model, "training", False):
        raise ValueError("model must be in eval mode (call model.eval())")
    if phase not in (PRE, MAIN):
        raise ValueError(f"phase must be PRE ({PRE}) or MAIN ({MAIN}), got {phase}")
    labels = np.asarray(noise.labels)
    nodes = np.flatnonzero(labels == output_cluster)
    chosen = None  # candidate class of each node of the cluster, in the main phase
    if phase == MAIN:
        if candidates is None or np.shape(candidates) != labels.shape:
            raise ValueError(f"phase MAIN needs candidates of shape {labels.shape}")
        chosen = np.asarray(candidates, dtype=np.int64)[nodes]
        if np.any(chosen < 0):
            raise ValueError(f"cluster {output_cluster} has nodes without a candidate class")
    length = config.chunk_length(phase, chunk)
    sizes = batch_sizes(length, config.batch_size)
    forward = BatchedModel(model, edge_index, len(labels))
    on_device = on_accelerator(forward.device)
    rng = chunk_generator(config.seed, PHASES[phase], output_cluster, chunk)
    if on_device and getattr(noise, "torch_sampling", False):
        x, rng = x.to(forward.device), torch_generator(rng, forward.device)
    if on_device:  # counted where the logits are
        local = torch.from_numpy(nodes).to(forward.device)
        chosen_here = None if chosen is None else torch.from_numpy(chosen).to(forward.device)
    counts = None
    with torch.no_grad():
        batches = noisy_batches(noise, x, output_cluster, sizes, rng, prefetch)
        for size, z in zip(sizes, batches, strict=True):
            logits = forward(z, size)
            if counts is None:
                counts = DeviceCounts(len(nodes), logits.shape[-1], config.n_bins,
                                      forward.device) if on_device else \
                    ChunkCounts(len(nodes), logits.shape[-1], config.n_bins)
            if on_device:
                counts.add(logits[:, local], chosen_here)
            else:
                counts.add(logits.detach().cpu().numpy()[:, nodes], chosen)
            if on_batch is not None:
                on_batch(size)
    return counts.result(config, noise.describe(), phase, output_cluster, chunk, nodes, chosen)


def on_accelerator(device: torch.device) -> bool:
    """Whether chunks on `device` draw and count there (every device but the CPU).

    Args:
        device (torch.device): the model's device.

    Returns:
        bool: True for every device but the CPU.
    """
    return device.type != "cpu"


def noisy_batches(noise: SmoothingNoise, x: Any, output_cluster: int, sizes: list[int],
                  rng: np.random.Generator | torch.Generator,
                  prefetch: bool = True) -> Iterator[Any]:
    """Noisy batches of the given sizes in order; with `prefetch`, batch i + 1 is drawn in a
    background thread while the caller uses batch i. A noise with ``start_sample`` (drawing
    first, finishing copies in any thread) is finished by the caller too while it waits.

    The draws happen in the same order either way, so the samples are identical.

    Args:
        noise (SmoothingNoise): the smoothing distribution.
        x (Any): the prepared clean input.
        output_cluster (int): the distribution, that of this output cluster.
        sizes (list[int]): the batch sizes, in order.
        rng (np.random.Generator or torch.Generator): the chunk's generator.
        prefetch (bool): draw the next batch in a background thread.

    Yields:
        Any: one batch of noisy copies per size, as ``noise.sample`` returns it.
    """
    if not prefetch:
        for size in sizes:
            yield noise.sample(x, output_cluster, size, rng)
        return
    start = getattr(noise, "start_sample", None) if isinstance(rng, np.random.Generator) \
        else None
    if start is None:  # drawn whole in the background thread
        def start(*args) -> _Sampled:
            return _Sampled(noise.sample(*args))
    with ThreadPoolExecutor(max_workers=DRAWING_THREADS) as pool:
        drawn = _start_in(pool, start, x, output_cluster, sizes[0], rng)
        for next_size in [*sizes[1:], None]:
            batch = drawn.result()  # drawn: the generator is free
            if next_size is not None:  # with one drawing thread, drawn once the current
                drawn = _start_in(pool, start, x, output_cluster, next_size, rng)  # batch's
            batch.finish()  # copies are all claimed
            yield batch.assemble()


class _Sampled:
    """A batch `sample` drew whole: nothing is left to finish (the `start_sample` protocol)."""

    def __init__(self, batch: Any) -> None:
        self._batch = batch

    def work(self) -> None:
        pass

    finish = work

    def assemble(self) -> Any:
        return self._batch


def _start_in(pool: ThreadPoolExecutor, start_sample: Callable, x: Any, output_cluster: int,
              size: int, rng: np.random.Generator | torch.Generator) -> Future:
    """Draw a batch in `pool`'s thread, hand it over through the returned future as soon as
    it is drawn, then finish copies there."""
    drawn: Future = Future()

    def draw_and_finish() -> None:
        try:
            batch = start_sample(x, output_cluster, size, rng)
        except BaseException as error:  # raised again by drawn.result(), in the caller
            drawn.set_exception(error)
            return
        drawn.set_result(batch)
        batch.work()

    pool.submit(draw_and_finish)
    return drawn
