"""Graph clustering utilities for localized smoothing (docs/theory.md §2).

All functions take numpy arrays or torch tensors and return numpy arrays; they work on any
graph, not only the bundled datasets. Node ids, cluster labels and ranks must be integers: a
float id is an error, never truncated.
"""
from __future__ import annotations

import numpy as np
import pymetis
import torch

from graphcert.utils.pairs import undirected_pairs
from graphcert.utils.validation import (
    check_index_array,
    check_int,
    check_positive_int,
    check_probability,
)

__all__ = ["affinity_ranks", "cluster_affinity", "metis_partition", "noise_schedule",
           "rank_schedule", "undirected_edges"]


def _as_numpy(array) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def _check_edge_index(edge_index, num_nodes: int) -> np.ndarray:
    """(2, E) int64 node ids in [0, num_nodes)."""
    edge_index = _as_numpy(edge_index)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {edge_index.shape}")
    return check_index_array(edge_index, "edge_index", num_nodes)


def undirected_edges(edge_index, num_nodes: int) -> np.ndarray:
    """Unique undirected edges (2, M) with row 0 < row 1; self loops dropped.

    Args:
        edge_index (array_like or Tensor): edges, shape (2, E).
        num_nodes (int): number of nodes N.

    Returns:
        np.ndarray: int64 (2, M).
    """
    return undirected_pairs(_check_edge_index(edge_index, num_nodes), num_nodes)


def metis_partition(edge_index, num_nodes: int, n_clusters: int, seed: int = 0) -> np.ndarray:
    """METIS partition of a graph into `n_clusters` non-empty clusters.

    Returns int64 labels of shape (num_nodes,) with values in [0, n_clusters). Edges are
    treated as undirected. If METIS leaves a cluster empty (possible on disconnected graphs),
    nodes are moved into it from the largest cluster, so every cluster is used.

    Args:
        edge_index (array_like or Tensor): edges, shape (2, E).
        num_nodes (int): number of nodes N.
        n_clusters (int): number of clusters C in [1, N].
        seed (int): METIS seed.

    Returns:
        np.ndarray: int64 (N,).
    """
    num_nodes = check_int(num_nodes, "num_nodes", "[0, inf)")
    n_clusters = check_int(n_clusters, "n_clusters")
    if not 1 <= n_clusters <= num_nodes:
        raise ValueError(f"n_clusters must be in [1, num_nodes={num_nodes}], got {n_clusters}")
    if n_clusters == 1:
        return np.zeros(num_nodes, dtype=np.int64)
    edges = undirected_edges(edge_index, num_nodes)
    both = np.hstack([edges, edges[::-1]])
    order = np.lexsort((both[1], both[0]))
    adjncy = both[1, order]
    xadj = np.concatenate([[0], np.cumsum(np.bincount(both[0], minlength=num_nodes))])
    options = pymetis.Options(seed=seed)
    adjacency = pymetis.CSRAdjacency(adj_starts=xadj, adjacent=adjncy)
    _, parts = pymetis.part_graph(n_clusters, adjacency, options=options)
    labels = np.asarray(parts, dtype=np.int64)
    return _fill_empty_clusters(labels, n_clusters)


def _fill_empty_clusters(labels: np.ndarray, n_clusters: int) -> np.ndarray:
    labels = labels.copy()
    for empty in np.flatnonzero(np.bincount(labels, minlength=n_clusters) == 0):
        largest = np.bincount(labels, minlength=n_clusters).argmax()
        labels[np.flatnonzero(labels == largest)[-1]] = empty
    return labels


def cluster_affinity(edge_index, labels, n_clusters: int) -> np.ndarray:
    """C x C symmetric counts of undirected edges between clusters (diagonal: inside).

    Args:
        edge_index (array_like or Tensor): edges, shape (2, E).
        labels (array_like): cluster of every node, shape (N,).
        n_clusters (int): number of clusters C.

    Returns:
        np.ndarray: int64 (C, C).
    """
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    labels = check_index_array(labels, "labels", n_clusters, ndim=1)
    edges = undirected_edges(edge_index, len(labels))
    counts = np.zeros((n_clusters, n_clusters), dtype=np.int64)
    np.add.at(counts, (labels[edges[0]], labels[edges[1]]), 1)
    affinity = counts + counts.T
    affinity[np.diag_indices(n_clusters)] //= 2
    return affinity


def affinity_ranks(affinity) -> np.ndarray:
    """Row-wise ranks: ranks[i, j] = 0 for the cluster most connected to i; ties by index.

    Args:
        affinity (array_like or Tensor): cluster affinities, shape (C, C).

    Returns:
        np.ndarray: int64 (C, C).
    """
    affinity = _as_numpy(affinity)
    if affinity.ndim != 2 or affinity.shape[0] != affinity.shape[1]:
        raise ValueError(f"affinity must be a square matrix, got shape {affinity.shape}")
    n = affinity.shape[0]
    order = np.argsort(-affinity, axis=1, kind="stable")  # stable: ties keep index order
    ranks = np.empty((n, n), dtype=np.int64)
    np.put_along_axis(ranks, order, np.arange(n)[None, :].repeat(n, axis=0), axis=1)
    return ranks


def rank_schedule(ranks, low: float, high: float) -> np.ndarray:
    """value[i, j] = low + (high - low) * ranks[i, j] / (C - 1); C = 1 gives `low`
    (docs/theory.md §2).

    Any real endpoints (e.g. Gaussian sigmas); `noise_schedule` is the probability version.

    Args:
        ranks (array_like): affinity ranks, shape (C, C).
        low (float): value at rank 0.
        high (float): value at rank C - 1.

    Returns:
        np.ndarray: float64 (C, C).
    """
    ranks = _as_numpy(ranks)
    if ranks.ndim != 2 or ranks.shape[0] != ranks.shape[1]:
        raise ValueError(f"ranks must be a square matrix, got shape {ranks.shape}")
    n = ranks.shape[0]
    ranks = check_index_array(ranks, "ranks", n)
    if n == 1:
        return np.full((1, 1), float(low))
    return low + (high - low) * ranks.astype(np.float64) / (n - 1)


def noise_schedule(ranks, low: float, high: float) -> np.ndarray:
    """Flip probabilities theta[i, j] by affinity rank, from `low` (own cluster) up to `high`
    (least connected cluster), docs/theory.md §2; `low` > `high` would reverse it and is an
    error.

    Args:
        ranks (array_like): affinity ranks, shape (C, C).
        low (float): probability at rank 0.
        high (float): probability at rank C - 1, >= low.

    Returns:
        np.ndarray: float64 (C, C).
    """
    low, high = check_probability(low, "low"), check_probability(high, "high")
    if low > high:
        raise ValueError(f"low == {low} > high == {high}: the schedule must grow with the "
                         "affinity rank (more noise on less connected clusters)")
    return rank_schedule(ranks, low, high)
