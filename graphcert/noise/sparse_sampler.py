"""The sampler of sparsity-aware attribute noise: noisy copies of binary attributes
(docs/theory.md §2).

For one output cluster, the 0-bits of nodes in input cluster j turn into 1 with probability
``theta_plus_row[j]`` and their 1-bits turn into 0 with probability ``theta_minus_row[j]``, all
bits independently. Copies are produced sparse: the work and memory are proportional to the
number of 1-bits in the output, never to B * N * D. They come out as one (B * N, D) sparse CSR
tensor of ones, the B copies stacked along the node axis as torch_geometric batches graphs
(`graphcert.sampling.batching` hands them to a model in the layout it takes).

The random numbers of a batch are drawn in one thread (`start_sample`); its copies are then
finished by every thread that calls `PendingCopies.work` (the same samples). On an accelerator
the same distribution is drawn by `graphcert.noise.sparse_sampler_torch`.
"""
from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from graphcert.noise._kernels import merged_csr_rows
from graphcert.noise.bernoulli import (
    bernoulli_positions,
    draw_uniforms,
    first_draws,
    gap_law,
    gap_round,
)
from graphcert.noise.csr import stacked_csr
from graphcert.noise.sparse_sampler_torch import DeviceBinaryGraph
from graphcert.utils.validation import (
    check_index_array,
    check_positive_int,
    check_probabilities,
)

__all__ = ["SAMPLER_THREADS", "BinaryGraph", "PendingCopies", "prepare_binary",
           "sample_prepared", "start_sample"]


@dataclass(frozen=True)
class BinaryGraph:
    """Clean binary attributes prepared for sampling (docs/theory.md §2).

    ``ones[j]`` holds the sorted flat keys ``node * n_features + feature`` of the 1-bits of the
    nodes in input cluster j (int32 when N * D < 2^31, else int64); ``labels`` maps nodes to
    input clusters.

    Args:
        n_nodes (int): number of nodes N.
        n_features (int): attribute dimension D.
        labels (np.ndarray): input cluster of every node, int64 (N,).
        ones (tuple[np.ndarray, ...]): per input cluster the sorted flat keys of its 1-bits.
    """

    n_nodes: int
    n_features: int
    labels: np.ndarray
    ones: tuple[np.ndarray, ...]

    @property
    def n_clusters(self) -> int:
        """Number of input clusters C."""
        return len(self.ones)

    @property
    def key_dtype(self) -> type:
        """Integer type of the flat keys: int32 when N * D < 2^31, else int64."""
        return np.int32 if self.n_nodes * self.n_features < 2**31 else np.int64

    @property
    def present(self) -> np.ndarray:
        """Clusters that hold at least one node."""
        return np.flatnonzero(np.bincount(self.labels, minlength=self.n_clusters))

    def to(self, device: torch.device | str) -> DeviceBinaryGraph:
        """The same attributes on `device`, for drawing there with a torch generator.

        Args:
            device (torch.device or str): the device.

        Returns:
            DeviceBinaryGraph: the attributes on ``device``.
        """
        return DeviceBinaryGraph.build(self.n_nodes, self.n_features, self.labels, self.ones,
                                       device)


def prepare_binary(x: Tensor, labels, n_clusters: int) -> BinaryGraph:
    """Index the 1-bits of binary `x` by the input cluster of their node.

    Args:
        x: binary attributes (N, D), dense, COO or CSR.
        labels: (N,) input cluster of every node, in [0, n_clusters).
        n_clusters: number of clusters C.

    Returns:
        `BinaryGraph` with the sorted flat keys ``node * D + feature`` of each cluster's 1-bits.
    """
    if not isinstance(x, Tensor) or x.dim() != 2:
        raise ValueError("x must be a 2-D (N, D) torch tensor (dense, COO or CSR)")
    n_nodes, n_features = x.shape
    if n_nodes == 0 or n_features == 0:
        raise ValueError(f"x must have at least one node and one feature, got {tuple(x.shape)}")
    labels = check_index_array(labels, "labels", n_clusters, shape=(n_nodes,))
    if x.layout == torch.strided:
        values = x[x != 0]
        index = torch.nonzero(x).T
    else:
        coo = x.to_sparse_coo().coalesce()
        keep = coo.values() != 0
        values, index = coo.values()[keep], coo.indices()[:, keep]
    if not torch.all(values == 1):
        raise ValueError("x must be binary: every entry must be 0 or 1")
    keys = (index[0] * n_features + index[1]).numpy()
    owner = labels[keys // n_features]
    dtype = np.int32 if n_nodes * n_features < 2**31 else np.int64
    return BinaryGraph(n_nodes, n_features, labels,
                       tuple(keys[owner == j].astype(dtype) for j in range(n_clusters)))


def sample_prepared(graph: BinaryGraph, theta_plus_row, theta_minus_row, batch_size: int,
                    generator: np.random.Generator) -> Tensor:
    """`batch_size` independent noisy copies of `graph` as a (B * N, D) sparse CSR tensor of
    ones (docs/theory.md §2).

    ``theta_*_row[j]`` are the flip probabilities for the attributes of input cluster j.

    Exactness. Let a = theta_plus[j], m = theta_minus[j]. A set `sel` takes every position
    (0- or 1-bit) of cluster j independently with probability a. A position holding a 0 is
    1 in the output iff it is in `sel`: probability a. For the 1-bits:
      * a + m < 1: output = sel OR u, with u an independent Bernoulli(r) subset of the 1-bits,
        r = 1 - m / (1 - a); P[1 stays 1] = 1 - (1 - a)(1 - r) = 1 - m.
      * a + m > 1: output = sel AND NOT d, with d a Bernoulli(q) subset of the 1-bits,
        q = 1 - (1 - m) / a; P[1 stays 1] = a (1 - q) = 1 - m.
      * a + m = 1: output = sel; P[1 stays 1] = a = 1 - m.
    Every position depends only on its own independent draws, so bits stay independent.
    `sel` is one Bernoulli(max_j a_j) process over all N * D positions of a copy, thinned to
    a_j (kept with probability a_j / max a): again exactly Bernoulli(a_j) per position.
    All sets come out sorted (`bernoulli_positions`), so the CSR is built by one linear merge
    (`merged_csr_rows`), never by a sort; no position outside these sets is ever touched.

    Args:
        graph (BinaryGraph): the prepared attributes.
        theta_plus_row (array_like): 0 -> 1 probability per input cluster, shape (C,).
        theta_minus_row (array_like): 1 -> 0 probability per input cluster, shape (C,).
        batch_size (int): number of copies B.
        generator (np.random.Generator): the chunk's generator.

    Returns:
        Tensor: sparse CSR (B * N, D).
    """
    return start_sample(graph, theta_plus_row, theta_minus_row, batch_size, generator).result()


def start_sample(graph: BinaryGraph, theta_plus_row, theta_minus_row, batch_size: int,
                 generator: np.random.Generator) -> "PendingCopies":
    """Draw the random numbers of `sample_prepared`'s batch now; its copies are finished by
    whichever threads call `PendingCopies.work` (the same samples, docs/theory.md §2).

    Args:
        graph (BinaryGraph): the prepared attributes.
        theta_plus_row (array_like): 0 -> 1 probability per input cluster, shape (C,).
        theta_minus_row (array_like): 1 -> 0 probability per input cluster, shape (C,).
        batch_size (int): number of copies B.
        generator (np.random.Generator): the chunk's generator.

    Returns:
        PendingCopies: the batch.
    """
    plan = _Plan.build(graph, _check_row("theta_plus_row", theta_plus_row, graph.n_clusters),
                       _check_row("theta_minus_row", theta_minus_row, graph.n_clusters))
    batch_size = check_positive_int(batch_size, "batch_size")
    if not isinstance(generator, np.random.Generator):
        raise ValueError("generator must be a numpy.random.Generator")
    unions = _one_bits(graph, plan.unions, batch_size, generator)
    removals = _one_bits(graph, plan.removals, batch_size, generator)
    return PendingCopies(graph, plan, generator, unions, removals)



@dataclass(frozen=True)
class _Plan:
    """How one output cluster's row of probabilities is sampled (see `sample_prepared`)."""

    top: float  # rate of the common selection process
    thin: np.ndarray | None  # per-node keep probability a_j / top, None if all equal
    unions: tuple[tuple[int, float], ...]  # (cluster, r): 1-bits added back with prob. r
    removals: tuple[tuple[int, float], ...]  # (cluster, q): selected 1-bits dropped with q

    @classmethod
    def build(cls, graph: BinaryGraph, plus: np.ndarray, minus: np.ndarray) -> "_Plan":
        present = graph.present
        top = float(plus[present].max())
        thin = plus[graph.labels] / top if np.any(plus[present] != top) else None
        unions, removals = [], []
        for j, ones in enumerate(graph.ones):
            a, m = plus[j], minus[j]
            if len(ones) and a + m < 1.0:
                unions.append((j, min(max(1.0 - m / (1.0 - a), 0.0), 1.0)))
            elif len(ones) and a + m > 1.0:
                removals.append((j, min(max(1.0 - (1.0 - m) / a, 0.0), 1.0)))
        return cls(top, thin, tuple(unions), tuple(removals))


def _sample_copy(graph: BinaryGraph, plan: _Plan, rng: np.random.Generator,
                 unions: list[np.ndarray], removals: list[np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and row pointers (N + 1, int64) of one copy, given its 1-bit subsets."""
    keys = bernoulli_positions(graph.n_nodes * graph.n_features, plan.top, rng, graph.key_dtype)
    return _finish_copy(graph, _thinned(graph, plan, keys, rng), unions, removals)


def _thinned(graph: BinaryGraph, plan: _Plan, keys: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """The selection `keys` thinned to each node's rate (one uniform per key), if it varies."""
    if plan.thin is None:
        return keys
    return keys[draw_uniforms(rng, np.empty(keys.size)) < plan.thin[keys // graph.n_features]]


def _finish_copy(graph: BinaryGraph, keys: np.ndarray, unions: list[np.ndarray],
                 removals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A copy's columns and row pointers from its selection `keys` and 1-bit subsets."""
    return merged_csr_rows(keys, _sorted_keys(removals, keys.dtype),
                           _sorted_keys(unions, keys.dtype), graph.n_nodes, graph.n_features)


def _sorted_keys(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """The sorted keys of the disjoint sorted `parts` (a stable sort merges sorted runs)."""
    if len(parts) > 1:
        return np.sort(np.concatenate(parts), kind="stable")
    return parts[0] if parts else np.empty(0, dtype=dtype)


_POOL: ThreadPoolExecutor | None = None
# numpy releases the GIL, so the copies of a batch can be finished in parallel. The thread that
# draws a batch finishes copies, and so does the thread that waits for it (the model's, while
# prefetching); `SAMPLER_THREADS - 1` pool threads join them. On two cores that is no pool
# thread: the two threads already fill both cores (measured by benchmarks/sampling.py).
SAMPLER_THREADS = max(1, min(2, (os.cpu_count() or 1) - 1))


class PendingCopies:
    """A batch whose random numbers are drawn and whose copies are being finished.

    Every draw of the batch happens in the constructor, in the thread that calls
    `start_sample`, in the order `_sample_copy` makes them copy after copy, so the generator
    is free again as soon as it returns. Each copy's first round of gaps is summed into
    positions right after its uniforms are drawn (one reused buffer, which stays in the
    cache) and thinned at once where the rate varies; any thread may then finish copies from
    these selections (`work`), and `finish` also waits for the copies other threads claimed.
    Where a first round falls short (probability about 1e-9 per copy), the constructor
    rewinds the generator and makes every copy itself, copy after copy.
    `result` finishes the batch in the calling thread (and `SAMPLER_THREADS - 1` pool
    threads) and builds it.

    Args:
        graph (BinaryGraph): the prepared attributes.
        plan (_Plan): the probabilities of the batch's distribution.
        rng (np.random.Generator): the chunk's generator.
        unions (list[list[np.ndarray]]): per copy the drawn union sets.
        removals (list[list[np.ndarray]]): per copy the drawn removal sets.
    """

    def __init__(self, graph: BinaryGraph, plan: _Plan, rng: np.random.Generator,
                 unions: list[list[np.ndarray]], removals: list[list[np.ndarray]]) -> None:
        self._graph, self._unions, self._removals = graph, unions, removals
        self._size = len(unions)
        self._selections = _first_rounds(graph, plan, rng, self._size)
        self._error: BaseException | None = None
        self._finished, self._lock, self._all_done = 0, threading.Lock(), threading.Event()
        self._copies: list[tuple[np.ndarray, np.ndarray] | None] = [None] * self._size
        if self._selections is None:
            self._copies = [_sample_copy(graph, plan, rng, u, r)
                            for u, r in zip(unions, removals, strict=True)]
            self._claims = itertools.count(self._size)
            self._all_done.set()
            return
        self._claims = itertools.count()  # next(count) is atomic under the GIL
        global _POOL
        if SAMPLER_THREADS > 1:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(SAMPLER_THREADS - 1,
                                           thread_name_prefix="graphcert-noise")
            for _ in range(SAMPLER_THREADS - 1):
                _POOL.submit(self.work)

    def work(self) -> None:
        """Finish copies until none is left to claim."""
        graph = self._graph
        while (copy := next(self._claims)) < self._size:
            try:
                self._copies[copy] = _finish_copy(graph, self._selections[copy],
                                                  self._unions[copy], self._removals[copy])
            except Exception as error:  # raised again by `assemble`, in the caller
                self._error = error  # (a KeyboardInterrupt in the main thread goes on at once:
                # stored, it would be lost with a batch that is never assembled)
            finally:
                with self._lock:
                    self._finished += 1
                    if self._finished == self._size:
                        self._all_done.set()

    def finish(self) -> None:
        """Help with the copies, then wait until every copy is finished."""
        self.work()
        self._all_done.wait()

    def assemble(self) -> Tensor:
        """The batch as one (B * N, D) sparse CSR tensor of ones, once it is finished.

        Returns:
            Tensor: sparse CSR (B * N, D).
        """
        self._all_done.wait()
        if self._error is not None:
            raise self._error
        return _to_batched_csr(self._copies, self._graph)

    def result(self) -> Tensor:
        """`finish` and `assemble` in the calling thread.

        Returns:
            Tensor: sparse CSR (B * N, D).
        """
        self.finish()
        return self.assemble()


def _first_rounds(graph: BinaryGraph, plan: _Plan, rng: np.random.Generator,
                  batch_size: int) -> list[np.ndarray] | None:
    """Every copy's selection keys from its first round of gaps (thinned where the rate
    varies), drawn copy after copy as `_sample_copy` draws them; None, with the generator
    rewound, for a trivial rate, a single copy, or a round that falls short."""
    if not 0.0 < plan.top < 1.0 or batch_size < 2:
        return None
    length = graph.n_nodes * graph.n_features
    scale, cap, mean = gap_law(length, plan.top)
    state = rng.bit_generator.state
    uniforms = np.empty(first_draws(mean))  # one copy's, reused: stays in the cache
    selections = []
    for _ in range(batch_size):
        keys, last = gap_round(draw_uniforms(rng, uniforms), scale, cap, -1, length,
                                graph.key_dtype)
        if last < length - 1:
            rng.bit_generator.state = state
            return None
        selections.append(_thinned(graph, plan, keys, rng))
    return selections


def _one_bits(graph: BinaryGraph, groups: tuple[tuple[int, float], ...], batch_size: int,
              rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Per copy, per (cluster j, p) in `groups`: sorted keys of the 1-bits of cluster j
    picked independently with probability p (drawn for the whole batch at once)."""
    per_copy: list[list[np.ndarray]] = [[] for _ in range(batch_size)]
    for j, p in groups:
        ones = graph.ones[j]
        dtype = np.int32 if batch_size * len(ones) < 2**31 else np.int64
        picked = bernoulli_positions(batch_size * len(ones), p, rng, dtype)
        starts = np.arange(batch_size + 1, dtype=dtype) * dtype(len(ones))
        bounds = np.searchsorted(picked, starts)
        picked -= np.repeat(starts[:-1], np.diff(bounds))
        keys = ones[picked]
        for copy in range(batch_size):
            per_copy[copy].append(keys[bounds[copy]:bounds[copy + 1]])
    return per_copy


def _to_batched_csr(copies: list[tuple[np.ndarray, np.ndarray]], graph: BinaryGraph) -> Tensor:
    """Per-copy (columns, row pointers) -> one (B * N, D) sparse CSR tensor of ones."""
    offsets = np.cumsum([0] + [cols.size for cols, _ in copies])
    largest = max(offsets[-1], len(copies) * graph.n_nodes, graph.n_features)
    dtype = np.int32 if largest < 2**31 else np.int64
    crow = np.concatenate([crow[:-1] + offset
                           for (_, crow), offset in zip(copies, offsets[:-1], strict=True)]
                          + [offsets[-1:]]).astype(dtype)
    col = np.concatenate([cols for cols, _ in copies]).astype(dtype, copy=False)
    return stacked_csr(torch.from_numpy(crow), torch.from_numpy(col),
                       (len(copies) * graph.n_nodes, graph.n_features))


def _check_row(name: str, row, n_clusters: int) -> np.ndarray:
    row = check_probabilities(row, name)
    if row.shape != (n_clusters,):
        raise ValueError(f"{name} must have shape ({n_clusters},), got {row.shape}")
    return row
