"""The synthetic planted-partition graph with categorical attributes (graphcert.data.planted)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from graphcert.data.datasets import load_graph
from graphcert.data.planted import planted_categorical_graph
from graphcert.noise.kary import decode_one_hot


def test_layout_and_determinism():
    data = planted_categorical_graph(n_nodes=90, n_classes=3, n_features=5, n_values=4, seed=3)
    assert data.x.shape == (90, 20) and data.x.dtype == torch.float32
    np.testing.assert_array_equal(data.n_values.numpy(), [4] * 5)
    assert data.num_classes == 3 and np.bincount(data.y.numpy()).tolist() == [30, 30, 30]
    values = decode_one_hot(data.x, data.n_values).values  # exactly one 1 per feature block
    assert values.shape == (90, 5) and values.max() < 4
    src, dst = data.edge_index
    assert not torch.any(src == dst)
    pairs = set(zip(src.tolist(), dst.tolist(), strict=True))
    assert all((b, a) in pairs for a, b in pairs) and len(pairs) == src.numel()
    again = planted_categorical_graph(n_nodes=90, n_classes=3, n_features=5, n_values=4, seed=3)
    assert torch.equal(data.x, again.x) and torch.equal(data.edge_index, again.edge_index)
    other = planted_categorical_graph(n_nodes=90, n_classes=3, n_features=5, n_values=4, seed=4)
    assert not torch.equal(data.x, other.x)


def test_classes_prefer_values_and_link_inside():
    data = planted_categorical_graph(n_nodes=1200, n_classes=4, n_features=6, n_values=5,
                                     p_in=0.02, p_out=0.002, signal=0.6, seed=0)
    y = data.y.numpy()
    values = decode_one_hot(data.x, data.n_values).values
    for c in range(4):
        for f in range(6):
            freq = np.bincount(values[y == c, f], minlength=5) / np.sum(y == c)
            # the preferred value: signal + (1 - signal) / K, every other (1 - signal) / K
            assert abs(freq.max() - (0.6 + 0.4 / 5)) < 0.07
            assert np.all(np.sort(freq)[:-1] < 0.2)
    src, dst = data.edge_index.numpy()
    inside = np.mean(y[src] == y[dst])
    n_in, n_out = 4 * 300 * 299 / 2 * 0.02, 6 * 300 * 300 * 0.002  # expected edge counts
    assert abs(inside - n_in / (n_in + n_out)) < 0.05


def test_load_graph_serves_it_by_name():
    data = load_graph("planted_categorical")
    assert data.name == "planted_categorical" and data.x.shape == (600, 72)
    assert torch.equal(data.x, planted_categorical_graph().x)


def test_validation():
    with pytest.raises(ValueError, match="n_values == 1, must be >= 2"):
        planted_categorical_graph(n_values=1)
    with pytest.raises(ValueError, match="signal"):
        planted_categorical_graph(signal=1.5)
    with pytest.raises(ValueError, match="n_classes"):
        planted_categorical_graph(n_nodes=10, n_classes=11)
