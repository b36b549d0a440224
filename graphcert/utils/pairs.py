"""Unordered cluster pairs {a, b}, a <= b: the column convention of structure noise and of
the collective certificate's pair units (docs/theory.md §8). numpy only, for every layer."""
from __future__ import annotations

import numpy as np

from graphcert.utils.validation import check_positive_int

__all__ = ["cluster_pairs", "pair_column", "pair_counts", "undirected_pairs"]


def cluster_pairs(n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """The P = C (C + 1) / 2 cluster pairs {a, b}, a <= b, as arrays (a, b) in column order
    (``numpy.triu_indices``).

    Args:
        n_clusters (int): number of clusters C >= 1.

    Returns:
        tuple[np.ndarray, np.ndarray]: int64 (a, b), each of shape (P,).
    """
    return np.triu_indices(check_positive_int(n_clusters, "n_clusters"))


def pair_column(a, b, n_clusters: int) -> np.ndarray:
    """Column of the unordered cluster pair {a, b} (either order) in :func:`cluster_pairs`.

    Args:
        a (array_like): first clusters.
        b (array_like): second clusters, broadcast with ``a``.
        n_clusters (int): number of clusters C.

    Returns:
        np.ndarray: int64 columns in [0, P), of the broadcast shape.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo * n_clusters - lo * (lo - 1) // 2 + hi - lo


def pair_counts(edges: np.ndarray, labels: np.ndarray, n_clusters: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(absent pairs, edges) per cluster pair column, for unique undirected `edges` (2, E)
    without self-loops: the capacities for additions and deletions (docs/theory.md §8).

    Args:
        edges (np.ndarray): unique undirected edges, shape (2, E).
        labels (np.ndarray): cluster of every node, shape (N,).
        n_clusters (int): number of clusters C.

    Returns:
        tuple[np.ndarray, np.ndarray]: absent pairs and edges per column, int64 (P,) each.
    """
    labels = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(labels, minlength=n_clusters)
    a, b = cluster_pairs(n_clusters)
    total = np.where(a == b, sizes[a] * (sizes[a] - 1) // 2, sizes[a] * sizes[b])
    present = np.bincount(pair_column(labels[edges[0]], labels[edges[1]], n_clusters),
                          minlength=a.size)
    return total - present, present


def undirected_pairs(edges: np.ndarray, n_nodes: int) -> np.ndarray:
    """Unique undirected edges (2, M), row 0 < row 1, sorted, from integer `edges` (2, E) in
    either direction; self-loops dropped.

    Args:
        edges (np.ndarray): integer edges, shape (2, E).
        n_nodes (int): number of nodes N.

    Returns:
        np.ndarray: int64 (2, M).
    """
    lo = np.minimum(edges[0], edges[1]).astype(np.int64)
    hi = np.maximum(edges[0], edges[1]).astype(np.int64)
    keys = np.unique(lo[lo != hi] * n_nodes + hi[lo != hi])
    return np.vstack([keys // n_nodes, keys % n_nodes])
