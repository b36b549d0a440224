"""Hash divisions of a graph (docs/voting.md): the hash, what each division puts where, and
how many subgraphs one change touches."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from graphcert.noise.division import (
    divide,
    edge_groups,
    feature_groups,
    hash_key,
    mix64,
    node_groups,
)
from graphcert.tasks.graph.voting import subgraph_union


def test_mix64_is_splitmix64():
    """splitmix64 seeded with 1234567 first returns 6457827717110365317 (the reference C
    code: the finalizer of the state plus the golden-ratio increment)."""
    state = np.array([(1234567 + 0x9E3779B97F4A7C15) % 2**64], dtype=np.uint64)
    assert int(mix64(state)[0]) == 6457827717110365317
    assert hash_key(0, "edge") == hash_key(0, "edge") != hash_key(1, "edge")
    assert hash_key(0, "edge") != hash_key(0, "node")


def _undirected(n: int, m: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pairs = np.unique(np.sort(rng.integers(0, n, (m, 2)), axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]].T
    return np.concatenate([pairs, pairs[::-1]], axis=1)


def test_edge_hashing_puts_both_directions_of_a_pair_in_one_group():
    edge_index = _undirected(200, 800)
    groups = edge_groups(edge_index, 7, seed=3)
    half = edge_index.shape[1] // 2
    assert np.array_equal(groups[:half], groups[half:])
    assert np.array_equal(groups, edge_groups(edge_index, 7, seed=3))  # same key, same groups
    assert not np.array_equal(groups, edge_groups(edge_index, 7, seed=4))
    counts = np.bincount(groups[:half], minlength=7)  # about half / 7 each
    assert counts.min() > 0.6 * half / 7 and counts.max() < 1.4 * half / 7
    # a pair's group does not depend on the rest of the graph
    one = edge_groups(edge_index[:, :1], 7, seed=3)
    assert one[0] == groups[0]


def test_each_division_and_what_one_change_touches():
    edge_index = _undirected(50, 120)
    n_edges = edge_index.shape[1]
    edge = divide(edge_index, 50, 5, "edge", seed=1)
    assert edge.votes_per_edge_change == 1 and edge.votes_per_attribute_change == 5
    assert sum(edge.subgraph_edges(t).shape[1] for t in range(5)) == n_edges
    node = divide(edge_index, 50, 5, "node", seed=1)
    assert np.array_equal(node.edge_group, node_groups(50, 5, 1)[edge_index[1]])
    u, v = edge_index[:, 0]  # the pair {u, v}: u -> v in v's group, v -> u in u's group
    touched = {int(g) for g, (a, b) in zip(node.edge_group, edge_index.T, strict=True)
               if {int(a), int(b)} == {int(u), int(v)}}
    assert len(touched) <= 2 == node.votes_per_edge_change
    feature = divide(edge_index, 50, 5, "feature", seed=1, n_features=40)
    assert feature.votes_per_edge_change == 5 and feature.votes_per_attribute_change == 1
    assert np.array_equal(feature.feature_group, feature_groups(40, 5, 1))
    assert all(feature.subgraph_edges(t).shape[1] == n_edges for t in range(5))


def test_a_flipped_attribute_bit_changes_one_feature_subgraph():
    edge_index = _undirected(20, 40)
    division = divide(edge_index, 20, 4, "feature", seed=2, n_features=12)
    x = torch.from_numpy((np.random.default_rng(0).random((20, 12)) < 0.4).astype(np.float32))
    before, _ = subgraph_union(division, x, range(4))
    flipped = x.clone()
    flipped[7, 5] = 1 - flipped[7, 5]
    after, _ = subgraph_union(division, flipped, range(4))
    changed = (before.to_dense() != after.to_dense()).view(4, 20, 12).any(-1).any(-1)
    assert changed.nonzero().ravel().tolist() == [int(division.feature_group[5])]
    columns = before.to_dense().view(4, 20, 12).abs().sum(1) > 0  # each keeps its own columns
    for t in range(4):
        assert not columns[t, division.feature_group != t].any()


def test_division_rejects_bad_input():
    edge_index = _undirected(10, 20)
    with pytest.raises(ValueError, match="n_groups == 1, must be >= 2"):
        divide(edge_index, 10, 1)
    with pytest.raises(ValueError, match="division"):
        divide(edge_index, 10, 3, "pairs")
    with pytest.raises(ValueError, match="n_features"):
        divide(edge_index, 10, 3, "feature")
    with pytest.raises(ValueError, match=r"edge_index must lie in \[0, 5\)"):
        divide(edge_index, 5, 3)
    with pytest.raises(ValueError, match=r"shape \(2, E\)"):
        divide(edge_index.T, 10, 3)
