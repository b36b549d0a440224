"""K-ary categorical noise for node attributes (docs/theory.md §9), localized by cluster like
docs/theory.md §2.

Attributes are an integer matrix x of shape (N, F); feature f takes the values 0, ..., K_f - 1
(``n_values``: one K for every feature, or one per feature). For the outputs of cluster k,
every coordinate of a node in input cluster j is kept with probability ``keep[k, j]`` and
otherwise replaced by a value drawn uniformly from its K_f values (possibly itself), all
coordinates independently. One cluster (``KaryNoise.isotropic``) is Lee et al.'s noise.

Copies come out one-hot encoded, stacked along the node axis as graph noises do
(`graphcert.noise.base`): a (B * N, sum_f K_f) sparse CSR tensor of ones whose row b * N + u
holds F ones, at columns ``offset_f + z[b, u, f]``. Models that take binary attributes consume
it unchanged (the folded APPNP / GCN path reads it as a `gnn_models.batching.BatchedCSR`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from graphcert.data.clustering import (
    affinity_ranks,
    cluster_affinity,
    metis_partition,
    rank_schedule,
)
from graphcert.noise.bernoulli import bernoulli_positions
from graphcert.noise.csr import stacked_csr
from graphcert.utils.validation import (
    check_index_array,
    check_int,
    check_integers,
    check_nonnegative_integers,
    check_positive_int,
    check_probabilities,
    check_probability,
)

__all__ = ["CategoricalGraph", "KaryNoise", "categorical_n_values", "decode_one_hot",
           "localized_kary_noise", "prepare_categorical"]


@dataclass(frozen=True)
class CategoricalGraph:
    """Clean categorical attributes prepared for sampling: ``values`` (N, F) int64 and
    ``n_values`` (F,) int64 with ``0 <= values[:, f] < n_values[f]``.

    Args:
        values (np.ndarray): int64 (N, F).
        n_values (np.ndarray): int64 (F,).
    """

    values: np.ndarray
    n_values: np.ndarray

    @property
    def offsets(self) -> np.ndarray:
        """First one-hot column of every feature, (F,)."""
        return np.concatenate(([0], np.cumsum(self.n_values)[:-1]))

    @property
    def n_columns(self) -> int:
        """Width of the one-hot encoding, sum_f K_f."""
        return int(self.n_values.sum())

    def one_hot(self, values: np.ndarray | None = None) -> Tensor:
        """(rows, sum_f K_f) sparse CSR tensor of ones encoding ``values`` (rows, F) (default:
        the clean attributes); ``.to_dense()`` gives the float features to train on.

        Args:
            values (np.ndarray, optional): int (rows, F); default the clean attributes.

        Returns:
            Tensor: sparse CSR (rows, sum_f K_f).
        """
        values = self.values if values is None else values
        rows, n_features = values.shape
        dtype = np.int32 if max(values.size, self.n_columns) < 2**31 else np.int64
        crow = np.arange(0, rows * n_features + 1, n_features, dtype=dtype)
        col = (values + self.offsets).astype(dtype, copy=False).reshape(-1)
        return stacked_csr(torch.from_numpy(crow), torch.from_numpy(col), (rows, self.n_columns))


def prepare_categorical(x, n_values) -> CategoricalGraph:
    """Validate integer attributes x (N, F) (tensor or array) against ``n_values`` (an int or
    F ints, each >= 2).

    Args:
        x (Tensor or array_like): integer attributes, shape (N, F).
        n_values (int or array_like): K, or one per feature (F,).

    Returns:
        CategoricalGraph: values (N, F) and n_values (F,).
    """
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    values = np.asarray(x)
    if values.ndim != 2 or min(values.shape) < 1:
        raise ValueError(f"x must be a 2-D (N, F) integer matrix with N, F >= 1, got shape "
                         f"{values.shape}")
    values = check_nonnegative_integers(values, "x")
    k = check_integers(n_values, "n_values", "[2, inf)")
    if k.ndim > 1 or (k.ndim == 1 and k.shape != (values.shape[1],)):
        raise ValueError(f"n_values must be one int or one per feature ({values.shape[1]},), "
                         f"got shape {k.shape}")
    k = np.broadcast_to(k, (values.shape[1],)).copy()
    too_big = values >= k
    if too_big.any():
        node, feature = np.argwhere(too_big)[0]
        raise ValueError(f"x[{node}, {feature}] == {values[node, feature]}, must be < "
                         f"n_values[{feature}] == {k[feature]}")
    return CategoricalGraph(values, k)


def decode_one_hot(x, n_values) -> CategoricalGraph:
    """The categorical attributes encoded one-hot in x (N, sum_f K_f) (dense or sparse tensor,
    or array), the inverse of `CategoricalGraph.one_hot`: every feature block must hold
    exactly one 1. ``n_values``: one K (then F = width / K) or F ints.

    Args:
        x (Tensor or array_like): one-hot attributes, shape (N, sum_f K_f).
        n_values (int or array_like): K, or one per feature (F,).

    Returns:
        CategoricalGraph: values (N, F).
    """
    if isinstance(x, Tensor):
        x = (x.to_dense() if x.layout != torch.strided else x).detach().cpu().numpy()
    dense = np.asarray(x)
    if dense.ndim != 2 or min(dense.shape) < 1:
        raise ValueError(f"x must be a 2-D (N, sum of n_values) one-hot matrix, got shape "
                         f"{dense.shape}")
    k = check_integers(n_values, "n_values", "[2, inf)")
    if k.ndim == 0 and dense.shape[1] % k == 0:
        k = np.full(dense.shape[1] // k, k)
    if k.ndim != 1 or k.sum() != dense.shape[1]:
        raise ValueError(f"x has {dense.shape[1]} one-hot columns, n_values {k.tolist()} "
                         "describe another width")
    if not np.all((dense == 0) | (dense == 1)):
        raise ValueError("a one-hot x must hold only 0 and 1")
    offsets = np.concatenate(([0], np.cumsum(k)[:-1]))
    ones = np.add.reduceat(dense, offsets, axis=1)
    if np.any(ones != 1):
        node, feature = np.argwhere(ones != 1)[0]
        raise ValueError(f"x[{node}] holds {int(ones[node, feature])} ones in the block of "
                         f"feature {feature}, expected exactly 1")
    _, columns = np.nonzero(dense)  # row-major: F columns per node, in block order
    return CategoricalGraph(columns.reshape(dense.shape[0], k.size) - offsets, k)


def categorical_n_values(data) -> np.ndarray | None:
    """The alphabet size of every feature, (F,), of a graph with categorical attributes
    (one-hot ``x`` with ``data.n_values``, as `graphcert.data.planted` provides); None for
    any other graph.

    Args:
        data (torch_geometric.data.Data): the graph.

    Returns:
        np.ndarray or None: (F,), or None.
    """
    n_values = getattr(data, "n_values", None)
    return None if n_values is None else np.asarray(n_values)


def _is_encoded(x) -> bool:
    """Float or bool inputs are one-hot encodings; integer inputs are the values."""
    if isinstance(x, Tensor):
        return x.dtype.is_floating_point or x.dtype == torch.bool
    return np.asarray(x).dtype.kind in "fb"


class KaryNoise:
    """Localized K-ary noise, one distribution per output cluster (docs/theory.md §9, §2); a
    `graphcert.noise.base.SmoothingNoise`.

    ``keep[k, j]``: probability that a coordinate of a node in cluster j is kept when
    smoothing the outputs of cluster k (row = output, column = input); ``labels``: the cluster
    of every node; ``n_values``: alphabet size(s), an int or one per feature.

    Args:
        labels (array_like): cluster of every node, shape (N,).
        keep (array_like): keep probabilities, shape (C, C).
        n_values (int or array_like): K, or one per feature (F,).
    """

    def __init__(self, labels, keep, n_values):
        keep = check_probabilities(keep, "keep")
        if keep.ndim != 2 or keep.shape[0] != keep.shape[1] or keep.shape[0] < 1:
            raise ValueError(f"keep must be a non-empty C x C matrix, got shape {keep.shape}")
        self.labels = check_index_array(labels, "labels", keep.shape[0], ndim=1)
        self.keep = keep
        self.n_values = check_integers(n_values, "n_values", "[2, inf)")
        if self.n_values.ndim > 1:
            raise ValueError(f"n_values must be one int or a vector, got shape "
                             f"{self.n_values.shape}")

    @classmethod
    def isotropic(cls, n_nodes: int, keep: float, n_values) -> "KaryNoise":
        """One cluster, one keep probability for every coordinate (Lee et al.'s noise).

        Args:
            n_nodes (int): number of nodes N.
            keep (float): keep probability.
            n_values (int or array_like): K, or one per feature (F,).

        Returns:
            KaryNoise: one cluster.
        """
        return cls(np.zeros(n_nodes, dtype=np.int64), np.full((1, 1), keep, dtype=float), n_values)

    @property
    def n_clusters(self) -> int:
        """Number of clusters C."""
        return self.keep.shape[0]

    def prepare(self, x) -> CategoricalGraph:
        """Validate `x` once so repeated sampling skips it; prepared inputs pass through.

        Integer x (N, F) holds the values; float or bool x (N, sum_f K_f) their one-hot
        encoding (`decode_one_hot`), as models and `graphcert certify` take the attributes.

        Args:
            x (array_like or CategoricalGraph): int values (N, F), their one-hot encoding
                (N, sum_f K_f), or prepared.

        Returns:
            CategoricalGraph: the values.
        """
        if isinstance(x, CategoricalGraph):
            graph = x
            expected = np.broadcast_to(self.n_values, graph.n_values.shape)
            if not np.array_equal(expected, graph.n_values):
                raise ValueError("CategoricalGraph was prepared with other n_values")
        elif _is_encoded(x):
            graph = decode_one_hot(x, self.n_values)
        else:
            graph = prepare_categorical(x, self.n_values)
        if graph.values.shape[0] != self.labels.shape[0]:
            raise ValueError(f"x has {graph.values.shape[0]} nodes, labels {self.labels.shape[0]}")
        return graph

    def sample(self, x, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> Tensor:
        """`batch_size` noisy copies of `x` for `output_cluster`, one-hot encoded and stacked:
        a (B * N, sum_f K_f) sparse CSR tensor of ones.

        Exact: the redrawn coordinates of all copies are one Bernoulli(top) set over the
        B * N * F positions (`bernoulli_positions`, work proportional to its size), top the
        largest redraw probability 1 - keep of the row, thinned to each node's 1 - keep
        (kept with probability (1 - keep) / top); a redrawn value is
        ``generator.integers(0, K_f)``, uniform on all K_f values. Every coordinate depends
        only on its own draws.

        Args:
            x (array_like or CategoricalGraph): as in `prepare`.
            output_cluster (int): output cluster k.
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            Tensor: sparse CSR (B * N, sum_f K_f).
        """
        output_cluster = check_int(output_cluster, "output_cluster", f"[0, {self.n_clusters})")
        batch_size = check_positive_int(batch_size, "batch_size")
        if not isinstance(generator, np.random.Generator):
            raise ValueError("generator must be a numpy.random.Generator")
        graph = self.prepare(x)
        n_nodes, n_features = graph.values.shape
        redraw = 1.0 - self.keep[output_cluster][self.labels]
        top = float(redraw.max())
        flat = bernoulli_positions(batch_size * n_nodes * n_features, top, generator)
        if flat.size and np.any(redraw != top):
            node = flat // n_features % n_nodes
            flat = flat[generator.random(flat.size) < redraw[node] / top]
        z = np.tile(graph.values.reshape(-1), batch_size)
        z[flat] = generator.integers(0, graph.n_values[flat % n_features])
        return graph.one_hot(z.reshape(-1, n_features))

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution (used to validate resumed runs).

        Returns:
            dict: kind, keep, n_values and a digest of the labels.
        """
        return {"kind": "kary", "keep": self.keep.tolist(), "n_values": self.n_values.tolist(),
                "labels_sha256": hashlib.sha256(self.labels.tobytes()).hexdigest()}


def localized_kary_noise(edge_index, num_nodes: int, n_clusters: int, keep: float,
                         keep_far: float, n_values, seed: int = 0) -> KaryNoise:
    """METIS clusters and keep probabilities by affinity rank (docs/theory.md §2, §9); C = 1 is
    isotropic.

    Args:
        edge_index: (2, E) edges of the graph.
        num_nodes: number of nodes N.
        n_clusters: number of METIS clusters C.
        keep: probability that a value stays on a cluster's own attributes.
        keep_far: the same on its least connected cluster's (``keep_far <= keep``: less
            connected clusters get more noise).
        n_values: values K_f per attribute (one int, or F ints).
        seed: METIS seed.

    Returns:
        `KaryNoise` with labels (N,) and keep probabilities (C, C), row = output cluster.
    """
    keep, keep_far = check_probability(keep, "keep"), check_probability(keep_far, "keep_far")
    if keep_far > keep:
        raise ValueError(f"keep_far == {keep_far} > keep == {keep}: the own cluster gets the "
                         "least noise (the highest keep), need keep_far <= keep")
    labels = metis_partition(edge_index, num_nodes, n_clusters, seed=seed)
    ranks = affinity_ranks(cluster_affinity(edge_index, labels, n_clusters))
    return KaryNoise(labels, rank_schedule(ranks, keep, keep_far), n_values)
