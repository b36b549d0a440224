"""Monte Carlo statistics: what a chunk of samples yields, and their exact, resumable sum
(docs/theory.md §3 Monte Carlo, §4).

Scores are rounded down to multiples of 2^-16 before they are counted. All statistics are
then integers, so merging is exact and associative (bit-identical whatever the merge order),
and rounding down is conservative: the certificates hold for the rounded scores g' <= g, and
E[g'_y] > 1/2 implies E[g_y] > 1/2.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict, dataclass, fields

import numpy as np

from graphcert.sampling.abstention import abstaining_rows
from graphcert.sampling.finite import NonFiniteLogits, non_finite_copies
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.streams import MAIN, PRE
from graphcert.sampling.votes import class_counts
from graphcert.utils.io import atomic_write

__all__ = ["SCORE_BITS", "CheckpointError", "ChunkCounts", "ChunkStats", "SmoothingStats"]

SCORE_BITS = 16
_FORMAT = 3  # 2: the fingerprint of the scores; 3: a digest of the counts in the metadata
_META = ("config", "noise", "fingerprint")  # stored as JSON; the other fields are arrays


class CheckpointError(ValueError):
    """A statistics file that cannot be read or is not a consistent set of statistics."""


@dataclass(eq=False)
class ChunkStats:
    """Statistics of one chunk (phase, output_cluster, chunk) for the nodes of its output
    cluster only: what `run_chunk` returns and executors ship, O(cluster size) whatever N.

    ``nodes`` (n_k,) are the cluster's nodes in increasing order; ``votes`` (n_k, Y);
    ``score_sum_q`` is (n_k, Y) in the pre-sample (every class) and (n_k,) in the main sample
    (the candidate), where ``candidates`` (n_k,), ``score_sq_sum_q`` and ``hist`` (n_k, M)
    are also set; units as in `SmoothingStats`. ``n`` samples were drawn.

    Args:
        config (MonteCarloConfig): the run's sample counts.
        noise (dict): the noise's ``describe()``.
        phase (int): ``PRE`` or ``MAIN``.
        output_cluster (int): the chunk's cluster.
        chunk (int): the chunk's index.
        nodes (np.ndarray): int64 (n_k,).
        n (int): samples drawn.
        votes (np.ndarray): int64 (n_k, Y).
        score_sum_q (np.ndarray): int64 (n_k, Y) or (n_k,).
        candidates (np.ndarray, optional): int64 (n_k,).
        score_sq_sum_q (np.ndarray, optional): int64 (n_k,).
        hist (np.ndarray, optional): int64 (n_k, M).
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
        """Number of classes Y."""
        return self.votes.shape[1]


@dataclass(eq=False)
class SmoothingStats:
    """Per-node Monte Carlo statistics (numpy), mergeable and resumable (docs/theory.md §3, §4).

    Pre-sample: ``pre_votes`` (N, Y) argmax counts, ``pre_score_sum_q`` (N, Y) summed scores
    in units of 2^-16, ``n_pre``. Candidates (-1 until the node's pre-sample is complete):
    ``candidate_score`` = argmax of mean scores, ``candidate_vote`` = argmax of votes.
    Main sample: ``votes`` (N, Y), and for ``candidate_score``: ``hist`` (N, M) (bin k covers
    [k/M, (k+1)/M), 1.0 in bin M-1), ``score_sum_q`` (units 2^-16), ``score_sq_sum_q`` (units
    2^-32), ``n``. ``done`` lists the finished chunks as rows (phase, cluster, chunk).
    ``labels`` is the output cluster of every node; ``fingerprint`` identifies the model and
    data that produced the scores (`graphcert.sampling.fingerprint`; None if unknown).

    Args:
        config (MonteCarloConfig): the run's sample counts.
        noise (dict): the noise's ``describe()``.
        labels (np.ndarray): int64 (N,).
        done (np.ndarray): int64 (chunks, 3).
        pre_votes (np.ndarray): int64 (N, Y).
        pre_score_sum_q (np.ndarray): int64 (N, Y).
        n_pre (np.ndarray): int64 (N,).
        candidate_score (np.ndarray): int64 (N,).
        candidate_vote (np.ndarray): int64 (N,).
        votes (np.ndarray): int64 (N, Y).
        hist (np.ndarray): int64 (N, M).
        score_sum_q (np.ndarray): int64 (N,).
        score_sq_sum_q (np.ndarray): int64 (N,).
        n (np.ndarray): int64 (N,).
        fingerprint (str, optional): identity of the model and data.
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
    fingerprint: str | None = None

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
              n_classes: int, fingerprint: str | None = None) -> "SmoothingStats":
        """Statistics with nothing sampled yet.

        Args:
            config (MonteCarloConfig): the run's sample counts.
            noise (dict): the noise's ``describe()``.
            labels (np.ndarray): output cluster of every node, shape (N,).
            n_classes (int): number of classes Y.
            fingerprint (str, optional): identity of the model and data.

        Returns:
            SmoothingStats: zero counts, candidates -1.
        """
        n_nodes = len(labels)
        zeros = lambda *shape: np.zeros(shape, dtype=np.int64)  # noqa: E731
        return cls(config, noise, np.asarray(labels, dtype=np.int64),
                   np.zeros((0, 3), dtype=np.int64), zeros(n_nodes, n_classes),
                   zeros(n_nodes, n_classes), zeros(n_nodes), np.full(n_nodes, -1, np.int64),
                   np.full(n_nodes, -1, np.int64), zeros(n_nodes, n_classes),
                   zeros(n_nodes, config.n_bins), zeros(n_nodes), zeros(n_nodes), zeros(n_nodes),
                   fingerprint)

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
        """Summed pre-sample scores, float64 (N, Y)."""
        return self.pre_score_sum_q / float(2**SCORE_BITS)

    def has_chunk(self, phase: int, output_cluster: int, chunk: int) -> bool:
        """Whether chunk (phase, output_cluster, chunk) was added.

        Args:
            phase (int): ``PRE`` or ``MAIN``.
            output_cluster (int): the chunk's cluster.
            chunk (int): the chunk's index.

        Returns:
            bool: whether it is in ``done``.
        """
        return bool(np.any(np.all(self.done == (phase, output_cluster, chunk), axis=1)))

    def samples_done(self, phase: int) -> np.ndarray:
        """Samples finished per output cluster in `phase`.

        Args:
            phase (int): ``PRE`` or ``MAIN``.

        Returns:
            np.ndarray: int64 (C,).
        """
        counts = np.zeros(int(self.labels.max()) + 1 if self.labels.size else 0, dtype=np.int64)
        for ph, k, c in self.done:
            if ph == phase:
                counts[k] += self.config.chunk_length(phase, c)
        return counts

    def add_chunk(self, part: ChunkStats) -> "SmoothingStats":
        """Add one chunk's statistics in place (work O(N) for checks plus O(cluster size));
        returns self. Main-sample chunks must use this object's candidates.

        Args:
            part (ChunkStats): one chunk's statistics.

        Returns:
            SmoothingStats: self.
        """
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

    def mismatch(self, config: MonteCarloConfig, noise: dict, labels: np.ndarray,
                 fingerprint: str | None) -> str | None:
        """Why these statistics cannot be continued with the given settings (None if they
        can): another model or data (`fingerprint`), sampling settings, noise or clusters.

        Args:
            config (MonteCarloConfig): the sampling settings now.
            noise (dict): the noise's ``describe()`` now.
            labels (np.ndarray): output cluster of every node now, shape (N,).
            fingerprint (str, optional): identity of the model and data now.

        Returns:
            str or None: the reason, or None.
        """
        if self.fingerprint != fingerprint:
            return (f"it was sampled from another model or data (fingerprint "
                    f"{_short(self.fingerprint)}, now {_short(fingerprint)})")
        if self.config != config:
            changed = [f"{f.name} {getattr(self.config, f.name)} -> {getattr(config, f.name)}"
                       for f in fields(config)
                       if getattr(self.config, f.name) != getattr(config, f.name)]
            return f"its sampling settings differ ({', '.join(changed)})"
        if self.noise != noise:
            return "it was sampled from another noise distribution"
        if not np.array_equal(self.labels, labels):
            return "its nodes are grouped into other clusters"
        return None

    def with_candidates(self) -> "SmoothingStats":
        """Fix the candidates of every node whose cluster finished its pre-sample
        (docs/theory.md §3).

        Returns:
            SmoothingStats: a copy with the candidates set.
        """
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
        """Atomic .npz write (`graphcert.utils.io.atomic_write`); metadata as a JSON string
        array, no pickles.

        Args:
            path (str or os.PathLike): the .npz file.
        """
        meta = {"format": _FORMAT, "config": asdict(self.config), "noise": self.noise,
                "fingerprint": self.fingerprint}
        arrays = {k: v for k, v in self._fields().items() if k not in _META}
        meta["digest"] = _digest(meta, arrays)
        with atomic_write(path) as handle:
            np.savez(handle, meta=np.array([json.dumps(meta)]), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SmoothingStats":
        """Statistics saved by `save`; `CheckpointError` names the file and the defect if it
        is unreadable (truncated, not an .npz), of another format, inconsistent, or edited
        (its counts or settings do not match the digest `save` put in its metadata).

        Args:
            path (str or os.PathLike): the .npz file.

        Returns:
            SmoothingStats: the statistics.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"][0]))
                found = meta.get("format") if isinstance(meta, dict) else None
                if found != _FORMAT:
                    old = {1: " (format 1 has no fingerprint of the model)",
                           2: " (format 2 has no digest of its counts)"}.get(found, "") \
                        if type(found) is int else ""
                    raise CheckpointError(f"{path}: statistics format {found!r}, expected "
                                          f"{_FORMAT}{old}")
                arrays = {f.name: data[f.name] for f in fields(cls) if f.name not in _META}
            stats = cls(MonteCarloConfig(**meta["config"]), meta["noise"],
                        fingerprint=meta["fingerprint"], **arrays)
            stats._check_consistent()
            if meta.get("digest") != _digest({k: v for k, v in meta.items() if k != "digest"},
                                             arrays):
                raise CheckpointError(f"{path}: its counts or settings differ from the digest "
                                      "saved with them (the file was edited)")
        except (CheckpointError, FileNotFoundError, PermissionError, IsADirectoryError):
            raise
        except (OSError, EOFError, KeyError, IndexError, TypeError, ValueError,
                zipfile.BadZipFile) as error:
            raise CheckpointError(f"{path}: not a readable statistics file "
                                  f"({type(error).__name__}: {error})") from error
        return stats

    def _check_consistent(self) -> None:
        """Raise ValueError unless the counts are those of the chunks listed in ``done``."""
        n_classes = self.votes.shape[1]
        phase, cluster, chunk = self.done.T
        valid = (((phase == PRE) | (phase == MAIN)) & np.isin(cluster, self.labels)
                 & (chunk >= 0))
        if not valid.all() or len(np.unique(self.done, axis=0)) != len(self.done):
            raise ValueError("done lists unknown or repeated chunks")
        for ph in (PRE, MAIN):
            if np.any(chunk[phase == ph] >= self.config.n_chunks(ph)):
                raise ValueError(f"done lists a chunk beyond the {self.config.n_chunks(ph)} "
                                 f"chunks of phase {ph}")
        expected = {"n_pre": self.samples_done(PRE), "n": self.samples_done(MAIN)}
        for name, per_cluster in expected.items():
            if self.labels.size and not np.array_equal(getattr(self, name),
                                                       per_cluster[self.labels]):
                raise ValueError(f"{name} disagrees with the chunks listed in done")
        # votes count every sample at most once (abstentions count for no class, docs/theory.md
        # §10); the histogram of the candidate's scores counts every sample once
        sums = {"pre_votes": (self.n_pre, True), "votes": (self.n, True), "hist": (self.n, False)}
        for name, (total, at_most) in sums.items():
            counted = getattr(self, name).sum(axis=1)
            if np.any(getattr(self, name) < 0) or np.any(counted > total) or \
                    not (at_most or np.array_equal(counted, total)):
                raise ValueError(f"{name} does not count every sample exactly once")
        for name in ("candidate_score", "candidate_vote"):
            values = getattr(self, name)
            if np.any((values < -1) | (values >= n_classes)):
                raise ValueError(f"{name} must lie in [-1, {n_classes})")
        if np.any((self.n > 0) & (self.candidate_score < 0)):
            raise ValueError("main-sample counts for nodes without a candidate")

    def _fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class ChunkCounts:
    """Counts of one chunk for the n_k nodes of its cluster (numpy: these arrays are small, and
    many tiny multi-threaded torch ops cost more than they compute).

    Args:
        n_local (int): nodes of the chunk's cluster n_k.
        n_classes (int): number of classes Y.
        n_bins (int): histogram bins M.
    """

    def __init__(self, n_local: int, n_classes: int, n_bins: int):
        self.n_bins = n_bins
        self.votes = np.zeros((n_local, n_classes), dtype=np.int64)
        self.score_sum_q = np.zeros((n_local, n_classes), dtype=np.int64)  # pre: every class
        self.hist = np.zeros(n_local * n_bins, dtype=np.int64)
        self.candidate_sum_q = np.zeros(n_local, dtype=np.int64)
        self.candidate_sq_sum_q = np.zeros(n_local, dtype=np.int64)
        self.n = 0
        self.non_finite = 0  # copies with an output without finite largest logit

    def add(self, logits: np.ndarray, chosen: np.ndarray | None) -> None:
        """Add a batch (B, n_k, Y) of logits; `chosen` (n_k,) candidates in the main phase.

        Args:
            logits (np.ndarray): logits, shape (B, n_k, Y).
            chosen (np.ndarray, optional): candidate class per node, shape (n_k,), in the main
                phase.
        """
        batch, n_local, n_classes = logits.shape
        local = np.arange(n_local)
        self.n += batch
        bad = non_finite_copies(logits)
        if bad:  # the chunk is refused (`result`): nothing to count
            self.non_finite += bad
            return
        abstain = abstaining_rows(logits)
        if abstain.any():  # no class, score 0 for every class (docs/theory.md §10)
            self.votes += class_counts(np.where(abstain, -1, logits.argmax(-1)), n_classes)
            scores = _quantized_scores(np.where(abstain[..., None], 0.0, logits))
            scores[abstain] = 0
        else:
            self.votes += class_counts(logits.argmax(-1), n_classes)
            scores = _quantized_scores(logits)
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
        """The chunk's statistics; `NonFiniteLogits` if a copy had non-finite logits (its
        votes and scores are meaningless, so the chunk is never merged).

        Args:
            config (MonteCarloConfig): the run's sample counts.
            noise (dict): the noise's ``describe()``.
            phase (int): ``PRE`` or ``MAIN``.
            output_cluster (int): the chunk's cluster.
            chunk (int): the chunk's index.
            nodes (np.ndarray): the cluster's nodes, shape (n_k,).
            chosen (np.ndarray, optional): candidates (n_k,) in the main phase.

        Returns:
            ChunkStats: the chunk's statistics.
        """
        if self.non_finite:
            raise NonFiniteLogits(self.non_finite, self.n)
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


def _digest(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    """``"sha256:<hex>"`` of a statistics file's metadata and arrays (name, dtype, shape,
    bytes): `SmoothingStats.load` refuses a file whose content no longer matches it."""
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name} {array.dtype.str} {array.shape}".encode())
        digest.update(memoryview(array.reshape(-1).view(np.uint8)))
    return "sha256:" + digest.hexdigest()


def _short(fingerprint: str | None) -> str:
    return "none" if fingerprint is None else fingerprint[:19]
