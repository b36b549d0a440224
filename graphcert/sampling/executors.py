"""Where Monte Carlo chunks and sweep runs execute: this process, or a Ray cluster.

Both executors offer the same two operations:

* ``run_chunks(...)`` runs chunks ``(cluster, chunk)`` of one phase of `engine.smooth`
  (docs/theory.md §3) and yields their statistics in the order of the request. Every chunk
  draws from its own generator (`streams.chunk_generator`), so the merged statistics are
  identical whatever executes them; `smooth` adds them up and checkpoints after each yielded
  chunk. A chunk result (`statistics.ChunkStats`) covers only its cluster's nodes, so what a
  task ships back is O(cluster size), not O(N).
* ``map(fn, items)`` applies ``fn`` to every item and yields the results in order (sweeps).

`LocalExecutor` never imports ray. `RayExecutor` imports it when constructed, ships the model
and data once per object with ``ray.put`` and runs each chunk as a task; it starts a local Ray
instance (``num_cpus``) or connects to a running cluster (``address``, e.g. ``"auto"``).
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterable, Iterator, Protocol

import numpy as np
import torch

from graphcert.noise.base import SmoothingNoise
from graphcert.sampling.chunks import run_chunk
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import ChunkStats
from graphcert.utils.validation import check_choice

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "make_executor"]

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """What `engine.smooth` and `sweep.run_sweep` need from an executor."""

    def run_chunks(self, model: Callable, x: Any, edge_index: Any, noise: SmoothingNoise,
                   config: MonteCarloConfig, phase: int, jobs: list[tuple[int, int]],
                   candidates: np.ndarray | None, *, prefetch: bool = True,
                   on_batch: Callable[[int], None] | None = None
                   ) -> Iterator[ChunkStats]:
        """Run the chunks `jobs` of one phase (`graphcert.sampling.chunks.run_chunk`).

        Args:
            model, x, edge_index, noise, config: as in `run_chunk` (``x`` prepared).
            phase (int): ``PRE`` or ``MAIN`` (`graphcert.sampling.streams`).
            jobs (list[tuple[int, int]]): the (output cluster, chunk) pairs to run.
            candidates (np.ndarray, optional): (N,) score candidates, for ``MAIN``.
            prefetch (bool): draw the next batch while the model runs.
            on_batch (Callable[[int], None], optional): called with each batch's size.

        Returns:
            Iterator[ChunkStats]: one result per job, in the order of `jobs`.
        """

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """Apply `fn` to every item (sweep runs).

        Args:
            fn (Callable): the function, picklable for remote executors.
            items (Iterable): its arguments.

        Returns:
            Iterator: ``fn(item)`` for every item, in order.
        """


class LocalExecutor:
    """Runs everything in this process, one chunk after the other."""

    def run_chunks(self, model, x, edge_index, noise, config, phase, jobs, candidates, *,
                   prefetch=True, on_batch=None) -> Iterator[ChunkStats]:
        """Run the chunks one after the other (`Executor.run_chunks`).

        Args:
            model, x, edge_index, noise, config: as in `run_chunk` (``x`` prepared).
            phase (int): ``PRE`` or ``MAIN``.
            jobs (list[tuple[int, int]]): the (output cluster, chunk) pairs to run.
            candidates (np.ndarray, optional): (N,) score candidates, for ``MAIN``.
            prefetch (bool): draw the next batch while the model runs.
            on_batch (Callable[[int], None], optional): called with each batch's size.

        Yields:
            ChunkStats: one result per job, in order.
        """
        for cluster, chunk in jobs:
            yield run_chunk(model, x, edge_index, noise, config, cluster, chunk, phase,
                            candidates, prefetch=prefetch, on_batch=on_batch)

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """Apply `fn` to every item in this process.

        Args:
            fn (Callable): the function.
            items (Iterable): its arguments.

        Yields:
            Any: ``fn(item)``, in order.
        """
        for item in items:
            yield fn(item)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RayExecutor:
    """Chunks and sweep runs as Ray tasks (one CPU each by default).

    ``address=None`` starts a private local instance with ``num_cpus`` CPUs (shut down by
    `close`); any other address (``"auto"``, ``"ray://host:10001"``) connects to a running
    cluster, whose nodes need graphcert installed. If Ray is already initialized in this
    process it is used as is. Each task runs torch with ``threads`` threads and reserves as
    many CPUs (default: this process's count, so logits and hence statistics are bit-identical
    to a local run, capped at the largest node's CPUs so that every task can be scheduled).

    Args:
        address (str, optional): cluster address; None starts a private local instance.
        num_cpus (int, optional): CPUs of the local instance.
        threads (int, optional): torch threads (and reserved CPUs) per task.
        max_in_flight (int, optional): tasks submitted at once; default
            ``max(2, 2 * cluster CPUs // threads)``.
        **init_kwargs: passed to ``ray.init``.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None, *,
                 threads: int | None = None, max_in_flight: int | None = None,
                 **init_kwargs):
        try:
            import ray
        except ImportError as error:
            raise ImportError("the Ray executor needs ray: pip install 'graphcert[ray]' "
                              "(or pip install 'ray[default]')") from error
        if address is not None and num_cpus is not None:
            raise ValueError("num_cpus applies to a local Ray instance, not to a cluster at "
                             f"address {address!r}")
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            if address is None:  # "local": a new instance even if `ray start` runs here
                ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                         **init_kwargs)
            else:
                ray.init(address=address, **init_kwargs)
        largest = max((int(node["Resources"].get("CPU", 0)) for node in ray.nodes()
                       if node["Alive"]), default=0)
        if largest < 1:
            raise RuntimeError("the Ray cluster has no node with a CPU")
        if threads is not None and not 1 <= threads <= largest:
            raise ValueError(f"threads={threads}: every task needs that many CPUs on one node, "
                             f"and the largest node of this cluster has {largest}")
        # a task needing more CPUs than any node has would wait forever
        self.threads = int(threads or min(torch.get_num_threads(), largest))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.max_in_flight = int(max_in_flight or max(2, 2 * cpus // self.threads))
        self._chunk_task = ray.remote(num_cpus=self.threads)(_chunk_task)
        self._shipped: dict[int, tuple[Any, Any]] = {}

    def put(self, obj: Any):
        """Object reference of `obj`, shipped to the object store only the first time.

        Args:
            obj (Any): the object.

        Returns:
            ray.ObjectRef: its reference.
        """
        key = id(obj)
        if key not in self._shipped:
            self._shipped[key] = (obj, self._ray.put(obj))
        return self._shipped[key][1]

    def run_chunks(self, model, x, edge_index, noise, config, phase, jobs, candidates, *,
                   prefetch=True, on_batch=None) -> Iterator[ChunkStats]:
        """Run the chunks as Ray tasks (`Executor.run_chunks`).

        Args:
            model, x, edge_index, noise, config: as in `run_chunk` (``x`` prepared), shipped once.
            phase (int): ``PRE`` or ``MAIN``.
            jobs (list[tuple[int, int]]): the (output cluster, chunk) pairs to run.
            candidates (np.ndarray, optional): (N,) score candidates, for ``MAIN``.
            prefetch (bool): draw the next batch while the model runs.
            on_batch (Callable[[int], None], optional): called with each chunk's sample count.

        Yields:
            ChunkStats: one result per job, in order.
        """
        shared = [self.put(obj) for obj in (model, x, edge_index, noise)]
        candidates = None if candidates is None else self._ray.put(np.asarray(candidates))
        submit = lambda job: self._chunk_task.remote(  # noqa: E731
            *shared, config, job[0], job[1], phase, candidates, prefetch, self.threads)
        for (_, chunk), part in zip(jobs, self._ordered(submit, jobs), strict=True):
            if on_batch is not None:
                on_batch(config.chunk_length(phase, chunk))
            yield part

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """Apply `fn` to every item as Ray tasks.

        Args:
            fn (Callable): the function, picklable.
            items (Iterable): its arguments.

        Yields:
            Any: ``fn(item)``, in order.
        """
        task = self._ray.remote(num_cpus=self.threads)(_call_with_threads)
        yield from self._ordered(lambda item: task.remote(fn, item, self.threads), list(items))

    def _ordered(self, submit: Callable, items: list) -> Iterator:
        """Results of ``submit(item)`` in item order, at most `max_in_flight` pending."""
        pending, queue = deque(), iter(items)
        for item in queue:
            pending.append(submit(item))
            if len(pending) >= self.max_in_flight:
                break
        while pending:
            result = self._ray.get(pending.popleft())
            for item in queue:
                pending.append(submit(item))
                break
            yield result

    def close(self) -> None:
        """Forget shipped objects; shut Ray down if this executor started it."""
        self._shipped.clear()
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_executor(kind: str = "local", address: str | None = None,
                  num_cpus: int | None = None) -> LocalExecutor | RayExecutor:
    """Executor by name (the ``--executor`` / ``--address`` / ``--num-cpus`` flags).

    Args:
        kind (str): ``"local"`` or ``"ray"``.
        address (str, optional): Ray cluster address.
        num_cpus (int, optional): CPUs of a local Ray instance.

    Returns:
        LocalExecutor or RayExecutor: the executor.
    """
    check_choice(kind, "executor", EXECUTORS)
    if kind == "local":
        if address is not None or num_cpus is not None:
            raise ValueError("--address and --num-cpus apply to the ray executor only")
        return LocalExecutor()
    return RayExecutor(address, num_cpus)


def _chunk_task(model, x, edge_index, noise, config, cluster, chunk, phase, candidates,
                prefetch, threads) -> ChunkStats:
    torch.set_num_threads(threads)
    return run_chunk(model, x, edge_index, noise, config, cluster, chunk, phase, candidates,
                     prefetch=prefetch)


def _call_with_threads(fn: Callable, item: Any, threads: int) -> Any:
    torch.set_num_threads(threads)
    return fn(item)
