"""Streaming, resumable Monte Carlo engine for localized smoothing (SPEC §3 Monte Carlo, §4).

Samples for output cluster k feed only the outputs (nodes) of cluster k (SPEC §2). Each
cluster runs a pre-sample (fixes each node's candidate class) and a main sample (the
statistics the certificates use), both split into chunks of ``chunk_size`` samples. Chunk
(phase, k, c) draws from its own generator seeded by (seed, phase, k, c), so chunks can run
in any order or on any machine and merge into identical statistics.

Scores are rounded down to multiples of 2^-16 before they are counted. All statistics are
then integers, so merging is exact and associative (bit-identical whatever the merge order),
and rounding down is conservative: the certificates hold for the rounded scores g' <= g, and
E[g'_y] > 1/2 implies E[g_y] > 1/2.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.batching import folded_input

__all__ = ["PRE", "MAIN", "SCORE_BITS", "ChunkStats", "MonteCarloConfig", "SmoothingNoise",
           "SmoothingStats", "chunk_generator", "noisy_batches", "run_chunk", "run_smoothing",
           "smooth"]

PRE, MAIN = 0, 1
SCORE_BITS = 16
_FORMAT = 1


class SmoothingNoise(Protocol):
    """What the engine needs from a smoothing distribution (e.g. `LocalizedNoise`)."""

    labels: np.ndarray  # output cluster of every node

    def prepare(self, x: Any) -> Any: ...

    def sample(self, x: Any, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> Any: ...

    def describe(self) -> dict: ...


@dataclass(frozen=True)
class MonteCarloConfig:
    """Sample counts per output cluster and how they are chunked and seeded (SPEC §3)."""

    n_samples: int
    n_pre: int
    chunk_size: int = 1000
    batch_size: int = 32
    n_bins: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_samples", "n_pre", "chunk_size", "batch_size", "n_bins"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")

    def n_chunks(self, phase: int) -> int:
        return math.ceil(self.phase_samples(phase) / self.chunk_size)

    def phase_samples(self, phase: int) -> int:
        return {PRE: self.n_pre, MAIN: self.n_samples}[phase]

    def chunk_length(self, phase: int, chunk: int) -> int:
        if not 0 <= chunk < self.n_chunks(phase):
            raise ValueError(f"chunk {chunk} out of range for phase {phase}")
        return min(self.chunk_size, self.phase_samples(phase) - chunk * self.chunk_size)


def chunk_generator(seed: int, phase: int, output_cluster: int, chunk: int) -> np.random.Generator:
    """The generator of chunk (phase, cluster, chunk): independent of scheduling (SFC64, the
    fastest of numpy's bit generators)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(phase, output_cluster, chunk))
    return np.random.Generator(np.random.SFC64(sequence))


@dataclass(eq=False)
class ChunkStats:
    """Statistics of one chunk (phase, output_cluster, chunk) for the nodes of its output
    cluster only: what `run_chunk` returns and executors ship, O(cluster size) whatever N.

    ``nodes`` (n_k,) are the cluster's nodes in increasing order; ``votes`` (n_k, Y);
    ``score_sum_q`` is (n_k, Y) in the pre-sample (every class) and (n_k,) in the main sample
    (the candidate), where ``candidates`` (n_k,), ``score_sq_sum_q`` and ``hist`` (n_k, M)
    are also set; units as in `SmoothingStats`. ``n`` samples were drawn.
    """

    config: MonteCarloConfig
    noise: dict
    phase: int
    output_cluster: int
    chunk: int
    nodes: np.ndarray
    n: int
    votes: np.ndarray
    score_sum_q: np.ndarray
    candidates: np.ndarray | None = None
    score_sq_sum_q: np.ndarray | None = None
    hist: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return self.votes.shape[1]


@dataclass(eq=False)
class SmoothingStats:
    """Per-node Monte Carlo statistics (numpy), mergeable and resumable (SPEC §3, §4).

    Pre-sample: ``pre_votes`` (N, Y) argmax counts, ``pre_score_sum_q`` (N, Y) summed scores
    in units of 2^-16, ``n_pre``. Candidates (-1 until the node's pre-sample is complete):
    ``candidate_score`` = argmax of mean scores, ``candidate_vote`` = argmax of votes.
    Main sample: ``votes`` (N, Y), and for ``candidate_score``: ``hist`` (N, M) (bin k covers
    [k/M, (k+1)/M), 1.0 in bin M-1), ``score_sum_q`` (units 2^-16), ``score_sq_sum_q`` (units
    2^-32), ``n``. ``done`` lists the finished chunks as rows (phase, cluster, chunk).
    """

    config: MonteCarloConfig
    noise: dict
    labels: np.ndarray
    done: np.ndarray
    pre_votes: np.ndarray
    pre_score_sum_q: np.ndarray
    n_pre: np.ndarray
    candidate_score: np.ndarray
    candidate_vote: np.ndarray
    votes: np.ndarray
    hist: np.ndarray
    score_sum_q: np.ndarray
    score_sq_sum_q: np.ndarray
    n: np.ndarray

    _SUMMED = ("pre_votes", "pre_score_sum_q", "n_pre", "votes", "hist", "score_sum_q",
               "score_sq_sum_q", "n")

    def __post_init__(self) -> None:
        n_nodes, n_classes = len(self.labels), self.votes.shape[-1]
        expected = {"labels": (n_nodes,), "pre_votes": (n_nodes, n_classes),
                    "pre_score_sum_q": (n_nodes, n_classes), "n_pre": (n_nodes,),
                    "candidate_score": (n_nodes,), "candidate_vote": (n_nodes,),
                    "votes": (n_nodes, n_classes), "hist": (n_nodes, self.config.n_bins),
                    "score_sum_q": (n_nodes,), "score_sq_sum_q": (n_nodes,), "n": (n_nodes,)}
        for name, shape in expected.items():
            array = getattr(self, name)
            if array.shape != shape or array.dtype != np.int64:
                raise ValueError(f"{name} must be int64 of shape {shape}, got "
                                 f"{array.dtype} {array.shape}")
        if self.done.ndim != 2 or self.done.shape[1] != 3:
            raise ValueError(f"done must have shape (n_chunks, 3), got {self.done.shape}")

    @classmethod
    def empty(cls, config: MonteCarloConfig, noise: dict, labels: np.ndarray,
              n_classes: int) -> "SmoothingStats":
        n_nodes = len(labels)
        zeros = lambda *shape: np.zeros(shape, dtype=np.int64)  # noqa: E731
        return cls(config, noise, np.asarray(labels, dtype=np.int64),
                   np.zeros((0, 3), dtype=np.int64), zeros(n_nodes, n_classes),
                   zeros(n_nodes, n_classes), zeros(n_nodes), np.full(n_nodes, -1, np.int64),
                   np.full(n_nodes, -1, np.int64), zeros(n_nodes, n_classes),
                   zeros(n_nodes, config.n_bins), zeros(n_nodes), zeros(n_nodes), zeros(n_nodes))

    @property
    def score_sum(self) -> np.ndarray:
        """Sum of the candidate's (rounded) scores, float64."""
        return self.score_sum_q / float(2**SCORE_BITS)

    @property
    def score_sq_sum(self) -> np.ndarray:
        """Sum of the candidate's squared (rounded) scores, float64."""
        return self.score_sq_sum_q / float(4**SCORE_BITS)

    @property
    def pre_score_sum(self) -> np.ndarray:
        return self.pre_score_sum_q / float(2**SCORE_BITS)

    def has_chunk(self, phase: int, output_cluster: int, chunk: int) -> bool:
        return bool(np.any(np.all(self.done == (phase, output_cluster, chunk), axis=1)))

    def samples_done(self, phase: int) -> np.ndarray:
        """Samples finished per output cluster in `phase`."""
        counts = np.zeros(int(self.labels.max()) + 1 if self.labels.size else 0, dtype=np.int64)
        for ph, k, c in self.done:
            if ph == phase:
                counts[k] += self.config.chunk_length(phase, c)
        return counts

    def add_chunk(self, part: ChunkStats) -> "SmoothingStats":
        """Add one chunk's statistics in place (work O(N) for checks plus O(cluster size));
        returns self. Main-sample chunks must use this object's candidates."""
        if self.config != part.config or self.noise != part.noise:
            raise ValueError("cannot merge statistics of different configurations or noises")
        if not np.array_equal(np.flatnonzero(self.labels == part.output_cluster), part.nodes):
            raise ValueError(f"chunk nodes are not the nodes of cluster {part.output_cluster}")
        if self.votes.shape[1] != part.n_classes:
            raise ValueError(f"class counts differ: {self.votes.shape[1]} vs {part.n_classes}")
        key = (part.phase, part.output_cluster, part.chunk)
        if self.has_chunk(*key):
            raise ValueError(f"chunk {key} was already added; it would be counted twice")
        nodes = part.nodes
        if part.phase == PRE:
            self.pre_votes[nodes] += part.votes
            self.pre_score_sum_q[nodes] += part.score_sum_q
            self.n_pre[nodes] += part.n
        else:
            if not np.array_equal(self.candidate_score[nodes], part.candidates):
                raise ValueError("chunk candidates disagree with these statistics' candidates")
            self.votes[nodes] += part.votes
            self.hist[nodes] += part.hist
            self.score_sum_q[nodes] += part.score_sum_q
            self.score_sq_sum_q[nodes] += part.score_sq_sum_q
            self.n[nodes] += part.n
        done = np.concatenate([self.done, np.array([key], dtype=np.int64)])
        self.done = done[np.lexsort(done.T[::-1])]
        return self

    def merge(self, other: "SmoothingStats") -> "SmoothingStats":
        """Elementwise sum of two disjoint sets of chunks; candidates must agree."""
        if self.config != other.config or self.noise != other.noise:
            raise ValueError("cannot merge statistics of different configurations or noises")
        if not np.array_equal(self.labels, other.labels):
            raise ValueError("cannot merge statistics of different cluster labels")
        if self.votes.shape != other.votes.shape:
            raise ValueError(f"class counts differ: {self.votes.shape} vs {other.votes.shape}")
        done = np.concatenate([self.done, other.done])
        if len(np.unique(done, axis=0)) != len(done):
            raise ValueError("a chunk appears in both statistics; it would be counted twice")
        merged = {name: getattr(self, name) + getattr(other, name) for name in self._SUMMED}
        return SmoothingStats(
            self.config, self.noise, self.labels, done[np.lexsort(done.T[::-1])],
            candidate_score=_agree(self.candidate_score, other.candidate_score),
            candidate_vote=_agree(self.candidate_vote, other.candidate_vote), **merged)

    def with_candidates(self) -> "SmoothingStats":
        """Fix the candidates of every node whose cluster finished its pre-sample (SPEC §3)."""
        complete = self.samples_done(PRE) == self.config.n_pre
        ready = complete[self.labels] if complete.size else np.zeros(0, dtype=bool)
        fixed = {"candidate_score": np.argmax(self.pre_score_sum_q, axis=1),
                 "candidate_vote": np.argmax(self.pre_votes, axis=1)}
        out = {}
        for name, best in fixed.items():
            current = getattr(self, name)
            if np.any((current >= 0) & (current != best)):
                raise ValueError(f"{name} disagrees with the pre-sample statistics")
            out[name] = np.where(ready, best, current)
        return SmoothingStats(**{**self._fields(), **out})

    def save(self, path: str | os.PathLike) -> None:
        """Atomic .npz write (temp file + os.replace); metadata as a JSON string array."""
        path = Path(path)
        meta = json.dumps({"format": _FORMAT, "config": asdict(self.config), "noise": self.noise})
        arrays = {k: v for k, v in self._fields().items() if isinstance(v, np.ndarray)}
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp",
                                             delete=False)
        try:
            with handle:
                np.savez(handle, meta=np.array([meta]), **arrays)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SmoothingStats":
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"][0]))
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path}: unsupported statistics format {meta.get('format')}")
            arrays = {f.name: data[f.name] for f in fields(cls)
                      if f.name not in ("config", "noise")}
        return cls(MonteCarloConfig(**meta["config"]), meta["noise"], **arrays)

    def _fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
                counts = _ChunkCounts(len(nodes), logits.shape[-1], config.n_bins)
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


# ----------------------------------------------------------------------------- internals
class _ChunkCounts:
    """Counts of one chunk for the n_k nodes of its cluster (numpy: these arrays are small, and
    many tiny multi-threaded torch ops cost more than they compute)."""

    def __init__(self, n_local: int, n_classes: int, n_bins: int):
        self.n_bins = n_bins
        self.votes = np.zeros((n_local, n_classes), dtype=np.int64)
        self.score_sum_q = np.zeros((n_local, n_classes), dtype=np.int64)  # pre: every class
        self.hist = np.zeros(n_local * n_bins, dtype=np.int64)
        self.candidate_sum_q = np.zeros(n_local, dtype=np.int64)
        self.candidate_sq_sum_q = np.zeros(n_local, dtype=np.int64)
        self.n = 0

    def add(self, logits: np.ndarray, chosen: np.ndarray | None) -> None:
        """Add a batch (B, n_k, Y) of logits; `chosen` (n_k,) candidates in the main phase."""
        batch, n_local, n_classes = logits.shape
        local = np.arange(n_local)
        self.votes += np.bincount((local * n_classes + logits.argmax(-1)).ravel(),
                                  minlength=n_local * n_classes).reshape(n_local, n_classes)
        scores = _quantized_scores(logits)
        self.n += batch
        if chosen is None:
            self.score_sum_q += scores.sum(0)
            return
        picked = scores[:, local, chosen]  # (B, n_k), units of 2^-16
        bins = np.minimum((picked * self.n_bins) >> SCORE_BITS, self.n_bins - 1)
        self.hist += np.bincount((local * self.n_bins + bins).ravel(),
                                 minlength=n_local * self.n_bins)
        self.candidate_sum_q += picked.sum(0)
        self.candidate_sq_sum_q += (picked * picked).sum(0)

    def result(self, config: MonteCarloConfig, noise: dict, phase: int, output_cluster: int,
               chunk: int, nodes: np.ndarray, chosen: np.ndarray | None) -> ChunkStats:
        common = dict(config=config, noise=noise, phase=phase, output_cluster=output_cluster,
                      chunk=chunk, nodes=nodes, n=self.n, votes=self.votes)
        if phase == PRE:
            return ChunkStats(**common, score_sum_q=self.score_sum_q)
        return ChunkStats(**common, score_sum_q=self.candidate_sum_q, candidates=chosen,
                          score_sq_sum_q=self.candidate_sq_sum_q,
                          hist=self.hist.reshape(len(nodes), -1))


def _quantized_scores(logits: np.ndarray) -> np.ndarray:
    """Softmax scores (float64) rounded down to int64 multiples of 2^-SCORE_BITS; in [0, 1]
    since the largest exponential is 1 and the sum is at least 1."""
    z = logits.astype(np.float64)
    z -= z.max(-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(-1, keepdims=True)
    return np.floor(z * 2**SCORE_BITS).astype(np.int64)


def _agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combine candidate arrays (-1 = unset); fixed entries must match."""
    if np.any((a >= 0) & (b >= 0) & (a != b)):
        raise ValueError("candidates disagree between the merged statistics")
    return np.where(a >= 0, a, b)


def _save(stats: SmoothingStats, checkpoint: str | os.PathLike | None) -> None:
    if checkpoint is not None:
        stats.save(checkpoint)
