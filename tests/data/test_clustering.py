"""Clustering utilities against independent computations (networkx, hand-made graphs)."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from graphcert.data.clustering import (
    affinity_ranks,
    cluster_affinity,
    metis_partition,
    noise_schedule,
    rank_schedule,
    undirected_edges,
)


def edge_index_of(graph: nx.Graph) -> torch.Tensor:
    edges = np.array(list(graph.edges()), dtype=np.int64).T
    return torch.from_numpy(np.hstack([edges, edges[::-1]]))


def brute_force_affinity(graph: nx.Graph, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    affinity = np.zeros((n_clusters, n_clusters), dtype=np.int64)
    for u, v in graph.edges():
        if u == v:
            continue
        affinity[labels[u], labels[v]] += 1
        if labels[u] != labels[v]:
            affinity[labels[v], labels[u]] += 1
    return affinity


@pytest.mark.parametrize("n_clusters", [1, 2, 5, 12])
def test_metis_labels_on_cora(cora, n_clusters):
    labels = metis_partition(cora.edge_index, cora.num_nodes, n_clusters, seed=0)
    assert labels.dtype == np.int64 and labels.shape == (cora.num_nodes,)
    assert labels.min() == 0 and labels.max() == n_clusters - 1
    assert np.all(np.bincount(labels, minlength=n_clusters) > 0)
    again = metis_partition(cora.edge_index, cora.num_nodes, n_clusters, seed=0)
    assert np.array_equal(labels, again)


def test_metis_cuts_few_edges_on_planted_partition():
    graph = nx.planted_partition_graph(4, 40, 0.3, 0.005, seed=1)
    labels = metis_partition(edge_index_of(graph), graph.number_of_nodes(), 4)
    affinity = cluster_affinity(edge_index_of(graph), labels, 4)
    inside = np.trace(affinity)
    assert inside / affinity[np.triu_indices(4)].sum() > 0.9


def test_metis_fills_every_cluster_on_disconnected_graphs():
    graph = nx.disjoint_union_all([nx.complete_graph(3)] * 4)
    graph.add_nodes_from(range(12, 20))  # isolated nodes
    labels = metis_partition(edge_index_of(graph), 20, 15)
    assert np.all(np.bincount(labels, minlength=15) > 0)


def test_metis_rejects_bad_cluster_counts(cora):
    for bad in (0, cora.num_nodes + 1):
        with pytest.raises(ValueError, match="n_clusters"):
            metis_partition(cora.edge_index, cora.num_nodes, bad)


@pytest.mark.parametrize("seed", range(5))
def test_affinity_matches_networkx_count(seed):
    rng = np.random.default_rng(seed)
    graph = nx.gnm_random_graph(30, 70, seed=seed)
    labels = rng.integers(0, 4, size=30)
    labels[:4] = np.arange(4)
    affinity = cluster_affinity(edge_index_of(graph), labels, 4)
    assert np.array_equal(affinity, brute_force_affinity(graph, labels, 4))
    assert np.array_equal(affinity, affinity.T)
    assert affinity[np.triu_indices(4)].sum() == graph.number_of_edges()


def test_affinity_accepts_one_direction_and_ignores_self_loops():
    edge_index = torch.tensor([[0, 1, 2, 2, 3], [1, 2, 3, 2, 0]])
    labels = np.array([0, 0, 1, 1])
    assert cluster_affinity(edge_index, labels, 2).tolist() == [[1, 2], [2, 1]]
    assert undirected_edges(edge_index, 4).shape == (2, 4)


def test_affinity_on_cora_counts_every_edge_once(cora):
    labels = metis_partition(cora.edge_index, cora.num_nodes, 5)
    affinity = cluster_affinity(cora.edge_index, labels, 5)
    assert affinity[np.triu_indices(5)].sum() == cora.edge_index.shape[1] // 2


def test_ranks_by_hand_with_ties():
    affinity = np.array([[5, 2, 2, 9],
                         [2, 7, 0, 1],
                         [2, 0, 3, 3],
                         [9, 1, 3, 4]])
    ranks = affinity_ranks(affinity)
    assert ranks.tolist() == [[1, 2, 3, 0],
                              [1, 0, 3, 2],
                              [2, 3, 0, 1],
                              [0, 3, 2, 1]]


def test_ranks_are_permutations(cora):
    labels = metis_partition(cora.edge_index, cora.num_nodes, 8)
    ranks = affinity_ranks(cluster_affinity(cora.edge_index, labels, 8))
    assert all(sorted(row) == list(range(8)) for row in ranks.tolist())
    assert np.all(np.diag(ranks) == 0)  # METIS clusters are most connected to themselves


def test_noise_schedule_values():
    ranks = np.array([[0, 1, 2], [1, 0, 2], [2, 1, 0]])
    theta = noise_schedule(ranks, 0.5, 0.9)
    assert np.allclose(theta, 0.5 + 0.4 * ranks / 2)
    assert noise_schedule(np.zeros((1, 1), dtype=int), 0.3, 0.8).tolist() == [[0.3]]
    assert np.allclose(rank_schedule(ranks, 0.25, 1.5), 0.25 + 1.25 * ranks / 2)


@pytest.mark.parametrize("low, high", [(-0.1, 0.5), (0.2, 1.5), (float("nan"), 0.5)])
def test_noise_schedule_rejects_non_probabilities(low, high):
    with pytest.raises(ValueError, match="probability"):
        noise_schedule(np.zeros((2, 2), dtype=int), low, high)
