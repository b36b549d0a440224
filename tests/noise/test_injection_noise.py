"""Node-aware bi-smoothing noise (docs/theory.md §15): every outcome's frequency on a
triangle, disjoint copies, seeding and bad input."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from graphcert.noise.injection import injection_noise, require_edge_input

TRIANGLE = np.array([[0, 1, 2, 1], [1, 2, 0, 0]])  # one duplicate direction


def test_every_outcome_has_its_probability():
    p_n, p_e, b = 0.3, 0.4, 40_000
    noise = injection_noise(TRIANGLE, 3, p_n, p_e)
    out = noise.sample(torch.eye(3), 0, b, np.random.default_rng(0))
    assert out.x.shape == (3 * b, 3) and out.batch_size == b
    src, dst = out.edge_index.numpy()
    assert np.array_equal(src // 3, dst // 3)  # edges stay inside their copy
    copy = src // 3
    pattern = np.zeros((b, 3, 3), dtype=bool)
    pattern[copy, src % 3, dst % 3] = True
    assert np.array_equal(pattern, pattern.transpose(0, 2, 1))
    keys = pattern[:, [0, 1, 0], [1, 2, 2]] @ np.array([1, 2, 4])
    freq = np.bincount(keys, minlength=8) / b
    expected = np.zeros(8)
    for nodes in itertools.product((0, 1), repeat=3):
        for edges in itertools.product((0, 1), repeat=3):
            prob = np.prod([1 - p_n if k else p_n for k in nodes]) * np.prod(
                [1 - p_e if k else p_e for k in edges])
            alive = [edges[i] and nodes[a] and nodes[c]
                     for i, (a, c) in enumerate([(0, 1), (1, 2), (0, 2)])]
            expected[int(np.dot(alive, [1, 2, 4]))] += prob
    assert np.all(np.abs(freq - expected) <= 5 * np.sqrt(expected * (1 - expected) / b) + 1e-9)
    again = noise.sample(torch.eye(3), 0, b, np.random.default_rng(0))
    assert torch.equal(out.edge_index, again.edge_index)


@pytest.mark.parametrize("kwargs, match", [
    ({"p_node": 1.0}, r"p_node == 1.0, must be in \[0, 1\)"),
    ({"p_edge": -0.2}, r"p_edge == -0.2, must be in \[0, 1\)"),
])
def test_bad_input_is_named(kwargs, match):
    args = {"p_node": 0.5, "p_edge": 0.5} | kwargs
    with pytest.raises(ValueError, match=match):
        injection_noise(TRIANGLE, 3, **args)


def test_models_without_an_edge_input_are_rejected():
    require_edge_input(EdgeModel())
    with pytest.raises(ValueError, match="needs a model with an edge input"):
        require_edge_input(torch.nn.Linear(3, 2))


class EdgeModel(torch.nn.Module):
    def forward(self, x, edge_index):
        return x
