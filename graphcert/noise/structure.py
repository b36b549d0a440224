"""Sparsity-aware noise on the graph structure, isotropic and localized (docs/theory.md §8).

The structure bits are the unordered node pairs {i, j}, i < j, one bit per pair; self-loops are
not part of the input and never noised. For output cluster k an absent pair of input clusters
{a, b} becomes an edge with probability ``p_plus[k, pair(a, b)]`` and an edge disappears with
probability ``p_minus[k, pair(a, b)]``, every pair independently. Cluster pairs are indexed
``a <= b`` in ``numpy.triu_indices`` order (:func:`cluster_pairs`); C = 1 is isotropic.

The sampler never builds N x N. The pairs of cluster pair {a, b} form a block of
``n_a * n_b`` (a < b) or ``n_a (n_a - 1) / 2`` (a = b) pairs with a dense index; per block and
copy it draws the number of added pairs from Bin(absent pairs, p_plus) and places them
uniformly among the absent pairs, rejecting existing edges and repeats; each edge is kept with
probability ``1 - p_minus``. Work is proportional to the size of the output.

:class:`ProductNoise` draws attribute noise (`graphcert.noise.binary.LocalizedNoise`) and
structure noise independently from one generator: the product distribution of docs/theory.md §8.
Both return `graphcert.noise.base.NoisyGraphs`: the B copies' attributes stacked (B * N, D)
and the disjoint union of their graphs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from graphcert.data.clustering import (
    affinity_ranks,
    cluster_affinity,
    noise_schedule,
    undirected_edges,
)
from graphcert.noise.base import NoisyGraphs
from graphcert.noise.bernoulli import bernoulli_positions
from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.csr import quiet_sparse_csr, stacked_csr
from graphcert.noise.sparse_sampler import BinaryGraph
from graphcert.utils.pairs import cluster_pairs, pair_column
from graphcert.utils.validation import (
    check_index_array,
    check_int,
    check_positive_int,
    check_probabilities,
)

__all__ = ["ProductNoise", "StructureNoise", "cluster_pairs", "localized_structure_noise",
           "pair_column", "pair_schedule", "tile_features"]

_DENSE_SHARE = 0.5  # blocks with p_plus above it or fewer absent pairs are listed (`_added_pairs`)


def pair_schedule(ranks, low: float, high: float) -> np.ndarray:
    """(C, P) pair probabilities for localized structure noise (docs/theory.md §8).

    Outputs of cluster k see pair {a, b} at rank ``r = min(ranks[k, a], ranks[k, b])`` (an edge
    matters to k through its nearer endpoint): ``low + (high - low) r / (C - 1)``.

    Args:
        ranks (array_like): affinity rank of cluster a for output cluster k, shape (C, C).
        low (float): probability at rank 0.
        high (float): probability at rank C - 1.

    Returns:
        np.ndarray: float64 (C, P).
    """
    # affine in the rank: the nearer endpoint's value
    per_cluster = noise_schedule(ranks, low, high)
    ranks = np.asarray(ranks)
    a, b = cluster_pairs(ranks.shape[0])
    nearer = np.where(ranks[:, a] <= ranks[:, b], a, b)
    return np.take_along_axis(per_cluster, nearer, axis=1)


def tile_features(x: Tensor, batch_size: int) -> Tensor:
    """(N, D) features as the (B * N, D) stack of B copies: sparse CSR, sharing the values.

    Args:
        x (Tensor): features, shape (N, D).
        batch_size (int): number of copies B.

    Returns:
        Tensor: sparse CSR (B * N, D).
    """
    x = _as_csr(x)
    crow, col, values = x.crow_indices(), x.col_indices(), x.values()
    nnz, n_rows = col.numel(), x.shape[0]
    offsets = torch.arange(batch_size, dtype=crow.dtype).repeat_interleave(n_rows) * nnz
    rows = torch.cat([crow[:-1].repeat(batch_size) + offsets,
                      torch.tensor([batch_size * nnz], dtype=crow.dtype)])
    shape = (batch_size * n_rows, x.shape[1])
    ones = bool(torch.all(values == 1))
    return stacked_csr(rows, col.repeat(batch_size), shape,
                       None if ones else values.repeat(batch_size))


@dataclass(frozen=True)
class StructureNoise:
    """Localized sparsity-aware structure noise, one distribution per output cluster
    (docs/theory.md §8).

    ``edge_index`` (2, E) is the clean graph (either direction, duplicates and self-loops are
    dropped), ``labels`` (N,) the cluster of every node, ``p_plus`` / ``p_minus`` (C, P) the
    add / delete probabilities, row = output cluster, column = cluster pair (:func:`cluster_pairs`).

    Args:
        edge_index (np.ndarray): the clean graph, shape (2, E).
        labels (np.ndarray): cluster of every node, shape (N,).
        p_plus (np.ndarray): add probabilities, shape (C, P).
        p_minus (np.ndarray): delete probabilities, shape (C, P).
    """

    edge_index: np.ndarray
    labels: np.ndarray
    p_plus: np.ndarray
    p_minus: np.ndarray

    def __post_init__(self) -> None:
        plus = check_probabilities(self.p_plus, "p_plus")
        minus = check_probabilities(self.p_minus, "p_minus")
        if plus.ndim != 2 or plus.shape[0] < 1:
            raise ValueError(f"p_plus must be a (C, C (C + 1) / 2) matrix, got shape {plus.shape}")
        n_clusters = plus.shape[0]
        expected = (n_clusters, n_clusters * (n_clusters + 1) // 2)
        for name, value in (("p_plus", plus), ("p_minus", minus)):
            if value.shape != expected:
                raise ValueError(f"{name} must have shape {expected} (output cluster x cluster "
                                 f"pair), got {value.shape}")
        labels = _as_labels(self.labels, n_clusters)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "edge_index", undirected_edges(self.edge_index, labels.size))
        object.__setattr__(self, "p_plus", plus)
        object.__setattr__(self, "p_minus", minus)

    @classmethod
    def isotropic(cls, edge_index, n_nodes: int, p_plus: float, p_minus: float
                  ) -> "StructureNoise":
        """One cluster, the same probabilities for every pair (SparseSmooth's noise).

        Args:
            edge_index (array_like): the clean graph, shape (2, E).
            n_nodes (int): number of nodes N.
            p_plus (float): edge add probability.
            p_minus (float): edge delete probability.

        Returns:
            StructureNoise: one cluster.
        """
        return cls(edge_index, np.zeros(int(n_nodes), dtype=np.int64),
                   np.full((1, 1), p_plus, dtype=float), np.full((1, 1), p_minus, dtype=float))

    @property
    def n_nodes(self) -> int:
        """Number of nodes N."""
        return self.labels.size

    @property
    def n_clusters(self) -> int:
        """Number of clusters C."""
        return self.p_plus.shape[0]

    def prepare(self, x: Tensor) -> Tensor:
        """The clean features as sparse CSR (tiled per batch by `sample`).

        Args:
            x (Tensor): node features, shape (N, D).

        Returns:
            Tensor: sparse CSR (N, D).
        """
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[0] != self.n_nodes:
            raise ValueError(f"x must be an ({self.n_nodes}, D) torch tensor, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        return _as_csr(x)

    def sample(self, x: Tensor, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> NoisyGraphs:
        """`batch_size` copies with clean features and noisy structure (`output_cluster`).

        Args:
            x (Tensor): node features, shape (N, D).
            output_cluster (int): output cluster k.
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            NoisyGraphs: features (B * N, D) and edges (2, E).
        """
        edges = self.sample_edges(output_cluster, batch_size, generator)
        return NoisyGraphs(tile_features(self.prepare(x), batch_size), edges, batch_size)

    def sample_edges(self, output_cluster: int, batch_size: int,
                     generator: np.random.Generator) -> Tensor:
        """Edge index (2, E) of the disjoint union of `batch_size` noisy graphs: copy b's
        nodes are b * N .. b * N + N - 1, both directions of every edge, grouped by copy.

        Args:
            output_cluster (int): output cluster k.
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            Tensor: int64 (2, E).
        """
        output_cluster = check_int(output_cluster, "output_cluster", f"[0, {self.n_clusters - 1}]")
        batch_size = check_positive_int(batch_size, "batch_size")
        if not isinstance(generator, np.random.Generator):
            raise ValueError("generator must be a numpy.random.Generator")
        blocks = self._blocks
        kept_copy, kept = self._kept_edges(output_cluster, batch_size, generator)
        added_copy, added = self._added_pairs(output_cluster, batch_size, generator)
        copy = np.concatenate([kept_copy, added_copy])
        u, v = blocks.decode(np.concatenate([blocks.edge_keys[kept], added]))
        order = np.argsort(np.concatenate([copy, copy]), kind="stable")
        offset = np.concatenate([copy, copy])[order] * self.n_nodes
        src = np.concatenate([u, v])[order] + offset
        dst = np.concatenate([v, u])[order] + offset
        return torch.from_numpy(np.stack([src, dst]))

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution (used to validate resumed runs).

        Returns:
            dict: kind, probabilities, digests of the labels and edges.
        """
        return {"kind": "localized_structure", "p_plus": self.p_plus.tolist(),
                "p_minus": self.p_minus.tolist(),
                "labels_sha256": hashlib.sha256(self.labels.tobytes()).hexdigest(),
                "edges_sha256": hashlib.sha256(self.edge_index.tobytes()).hexdigest()}

    # ------------------------------------------------------------------------- internals
    @cached_property
    def _blocks(self) -> "_PairBlocks":
        return _PairBlocks.build(self.edge_index, self.labels, self.n_clusters)

    def _kept_edges(self, k: int, batch_size: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(copy, edge) of the edges kept, each independently with ``1 - p_minus``."""
        blocks = self._blocks
        n_edges = blocks.edge_keys.size
        if n_edges == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        keep = 1.0 - self.p_minus[k][blocks.edge_block]
        top = float(keep.max())
        picked = bernoulli_positions(batch_size * n_edges, top, rng)
        if top > 0 and np.any(keep != top):  # thinning: exactly Bernoulli(keep[e]) per edge
            picked = picked[rng.random(picked.size) * top < keep[picked % n_edges]]
        return picked // n_edges, picked % n_edges

    def _added_pairs(self, k: int, batch_size: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(copy, pair key) of the absent pairs turned into edges.

        Sparse blocks: Bin(absent, p) pairs per copy, placed uniformly among the absent pairs
        by rejection (the first m distinct absent values of an i.i.d. uniform sequence are a
        uniform m-subset; each round draws at most the number still missing, so no copy
        overshoots). Blocks with ``p > 1/2`` or less than half of their pairs absent would
        need many rejections; there the absent pairs are listed (O(block) <= O(output) or
        O(2 edges)) and each is added with probability p: the same law.
        """
        blocks, p = self._blocks, self.p_plus[k]
        absent = blocks.total - blocks.n_edges
        active = (p > 0) & (absent > 0)
        dense = active & ((p > _DENSE_SHARE) | (absent < _DENSE_SHARE * blocks.total))
        sparse = np.flatnonzero(active & ~dense)
        copies, keys = [], []
        for block in np.flatnonzero(dense):
            free = blocks.absent_keys(block)
            picked = bernoulli_positions(batch_size * free.size, float(p[block]), rng)
            copies.append(picked // free.size)
            keys.append(free[picked % free.size])
        if sparse.size:
            counts = rng.binomial(absent[sparse], p[sparse], size=(batch_size, sparse.size))
            copy, key = blocks.uniform_absent(sparse, counts, rng)
            copies.append(copy)
            keys.append(key)
        if not copies:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(copies), np.concatenate(keys)


def localized_structure_noise(edge_index, labels, n_clusters: int,
                              p_plus: float | tuple[float, float],
                              p_minus: float | tuple[float, float]) -> StructureNoise:
    """Pair probabilities by affinity rank of the given clusters (docs/theory.md §8).

    Args:
        edge_index: (2, E) edges of the clean graph, in any direction.
        labels: (N,) cluster of every node (those of the attribute noise it is paired with).
        n_clusters: number of clusters C.
        p_plus, p_minus: one probability for every pair, or (low, high): low on pairs that
            touch the output's own cluster up to high on pairs between its least connected
            clusters (`pair_schedule`).

    Returns:
        The `StructureNoise`, (C, C (C + 1) / 2) probabilities per output cluster and pair.
    """
    ranks = affinity_ranks(cluster_affinity(edge_index, labels, n_clusters))
    schedule = {}
    for name, value in (("p_plus", p_plus), ("p_minus", p_minus)):
        ends = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if ends.shape not in ((1,), (2,)):
            raise ValueError(f"{name} must be a probability or a (low, high) pair, got {value!r}")
        schedule[name] = pair_schedule(ranks, ends[0], ends[-1])
    return StructureNoise(edge_index, labels, schedule["p_plus"], schedule["p_minus"])


@dataclass(frozen=True)
class ProductNoise:
    """Attribute noise and structure noise drawn independently: their product (docs/theory.md §8).

    Both must use the same node clusters (output cluster k smooths attributes and structure
    with its own rows of both). `sample` draws the attributes, then the structure, from the
    chunk's generator.

    Args:
        attributes (LocalizedNoise): the attribute noise.
        structure (StructureNoise): the structure noise, same clusters.
    """

    attributes: LocalizedNoise
    structure: StructureNoise

    def __post_init__(self) -> None:
        if not np.array_equal(self.attributes.labels, self.structure.labels):
            raise ValueError("attributes and structure noise must use the same cluster labels")

    @property
    def labels(self) -> np.ndarray:
        """Cluster of every node, int64 (N,)."""
        return self.structure.labels

    @property
    def n_clusters(self) -> int:
        """Number of clusters C."""
        return self.structure.n_clusters

    def prepare(self, x: Tensor | BinaryGraph) -> BinaryGraph:
        """The attributes prepared by the attribute noise.

        Args:
            x (Tensor or BinaryGraph): binary attributes (N, D), or prepared.

        Returns:
            BinaryGraph: the indexed 1-bits.
        """
        return self.attributes.prepare(x)

    def sample(self, x: Tensor | BinaryGraph, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> NoisyGraphs:
        """`batch_size` copies with noisy attributes and noisy structure.

        Args:
            x (Tensor or BinaryGraph): binary attributes (N, D), or prepared.
            output_cluster (int): output cluster k.
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            NoisyGraphs: sparse CSR features (B * N, D) and edges (2, E).
        """
        features = self.attributes.sample(x, output_cluster, batch_size, generator)
        edges = self.structure.sample_edges(output_cluster, batch_size, generator)
        return NoisyGraphs(features, edges, batch_size)

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution.

        Returns:
            dict: kind and both noises' identities.
        """
        return {"kind": "product", "attributes": self.attributes.describe(),
                "structure": self.structure.describe()}


# ----------------------------------------------------------------------------- internals
@dataclass(frozen=True)
class _PairBlocks:
    """The unordered pairs of a graph indexed block by block (docs/theory.md §8).

    Block β = cluster pair (a, b), a <= b, owns the keys ``offsets[β] .. offsets[β + 1] - 1``.
    Its local index l is ``i * n_b + j`` (a < b; i, j positions inside clusters a, b) or the
    strict lower-triangular index ``j (j - 1) / 2 + i`` with i < j (a = b). ``edge_keys`` are the
    sorted keys of the clean edges, ``edge_block`` their blocks.
    """

    members: np.ndarray  # nodes sorted by cluster
    starts: np.ndarray  # (C + 1,) start of each cluster in `members`
    block_a: np.ndarray
    block_b: np.ndarray
    total: np.ndarray  # pairs per block
    offsets: np.ndarray  # (P + 1,)
    edge_keys: np.ndarray
    edge_block: np.ndarray
    n_edges: np.ndarray  # edges per block

    @classmethod
    def build(cls, edges: np.ndarray, labels: np.ndarray, n_clusters: int) -> "_PairBlocks":
        members = np.argsort(labels, kind="stable")
        sizes = np.bincount(labels, minlength=n_clusters)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        position = np.empty(labels.size, dtype=np.int64)
        position[members] = np.arange(labels.size) - starts[labels[members]]
        a, b = cluster_pairs(n_clusters)
        total = np.where(a == b, sizes[a] * (sizes[a] - 1) // 2, sizes[a] * sizes[b])
        offsets = np.concatenate([[0], np.cumsum(total)])
        # orient every edge (i, j) so that cluster(i) <= cluster(j) and, inside a cluster,
        # position(i) < position(j)
        i, j = edges
        swap = (labels[i] > labels[j]) | ((labels[i] == labels[j]) & (position[i] > position[j]))
        i, j = np.where(swap, j, i), np.where(swap, i, j)
        block = pair_column(labels[i], labels[j], n_clusters)
        pi, pj = position[i], position[j]
        local = np.where(labels[i] == labels[j], pj * (pj - 1) // 2 + pi,
                         pi * sizes[labels[j]] + pj)
        keys = offsets[block] + local
        order = np.argsort(keys)
        return cls(members, starts, a, b, total, offsets, keys[order], block[order],
                   np.bincount(block, minlength=a.size))

    def decode(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Endpoints (u, v) of pair keys."""
        block = np.searchsorted(self.offsets, keys, side="right") - 1
        local = keys - self.offsets[block]
        a, b = self.block_a[block], self.block_b[block]
        n_b = self.starts[b + 1] - self.starts[b]
        # a = b: invert l = j (j - 1) / 2 + i, i < j (the float root is off by at most one)
        j = np.floor((1.0 + np.sqrt(1.0 + 8.0 * local)) / 2.0).astype(np.int64)
        j -= j * (j - 1) // 2 > local
        j += (j + 1) * j // 2 <= local
        diagonal = a == b
        pos_u = np.where(diagonal, local - j * (j - 1) // 2, local // np.maximum(n_b, 1))
        pos_v = np.where(diagonal, j, local % np.maximum(n_b, 1))
        return self.members[self.starts[a] + pos_u], self.members[self.starts[b] + pos_v]

    def is_edge(self, keys: np.ndarray) -> np.ndarray:
        """Whether each pair key is a clean edge."""
        if not self.edge_keys.size:
            return np.zeros(keys.size, dtype=bool)
        where = np.minimum(np.searchsorted(self.edge_keys, keys), self.edge_keys.size - 1)
        return self.edge_keys[where] == keys

    def absent_keys(self, block: int) -> np.ndarray:
        """Sorted keys of the absent pairs of one block (O(block size))."""
        lo, hi = self.offsets[block], self.offsets[block + 1]
        present = self.edge_keys[np.searchsorted(self.edge_keys, lo):
                                 np.searchsorted(self.edge_keys, hi)]
        free = np.ones(hi - lo, dtype=bool)
        free[present - lo] = False
        return lo + np.flatnonzero(free)

    def uniform_absent(self, blocks: np.ndarray, counts: np.ndarray, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(copy, key): ``counts[c, s]`` distinct absent pairs of block ``blocks[s]`` per copy
        c, uniformly at random, by rounds of rejection (see `StructureNoise._added_pairs`)."""
        n_copies, n_blocks = counts.shape
        span = int(self.offsets[-1])  # keys of copy c: c * span + key
        slot_of_block = np.full(self.total.size, -1)
        slot_of_block[blocks] = np.arange(n_blocks)
        need = counts.ravel().astype(np.int64)
        accepted = np.empty(0, dtype=np.int64)
        while need.any():
            slot = np.repeat(np.arange(need.size), need)
            copy, block = slot // n_blocks, blocks[slot % n_blocks]
            keys = self.offsets[block] + rng.integers(0, self.total[block])
            fresh = np.sort(copy * span + keys)  # sorted queries keep the lookups cache-friendly
            fresh = fresh[np.r_[True, fresh[1:] != fresh[:-1]]]  # distinct
            fresh = fresh[~self.is_edge(fresh % span)]
            if accepted.size:
                seen = np.minimum(np.searchsorted(accepted, fresh), accepted.size - 1)
                fresh = fresh[accepted[seen] != fresh]
            accepted = np.sort(np.concatenate([accepted, fresh]), kind="stable")
            got = (fresh // span) * n_blocks + slot_of_block[
                np.searchsorted(self.offsets, fresh % span, side="right") - 1]
            need -= np.bincount(got, minlength=need.size)
        return accepted // span, accepted % span


def _as_labels(labels, n_clusters: int) -> np.ndarray:
    labels = check_index_array(labels, "labels", n_clusters, ndim=1)
    if labels.size == 0:
        raise ValueError("labels must hold the cluster of at least one node, got none")
    return labels


def _as_csr(x: Tensor) -> Tensor:
    if x.layout == torch.sparse_csr:
        return x
    with quiet_sparse_csr():
        return (x if x.layout == torch.strided else x.to_sparse_coo().coalesce()).to_sparse_csr()
