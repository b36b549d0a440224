"""Training under K-ary noise (docs/theory.md §9): every epoch sees a fresh noisy copy of the
categorical attributes with the law of `KaryNoise`, validation sees the clean ones."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from graphcert.data.planted import planted_categorical_graph
from graphcert.tasks.graph.training import train_model

N_FEATURES, N_VALUES = 10, 5


class Recorder(nn.Module):
    """A linear model that keeps the dense attributes of every training call."""

    def __init__(self, in_features: int, num_classes: int):
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)
        self.seen: list[torch.Tensor] = []

    def forward(self, x, edge_index):
        dense = x.to_dense() if x.layout != torch.strided else x
        if self.training:
            self.seen.append(dense.detach().clone())
        return self.linear(dense)


@pytest.fixture(scope="module")
def graph():
    return planted_categorical_graph(n_nodes=300, n_classes=3, n_features=N_FEATURES,
                                     n_values=N_VALUES)


def _train(graph, epochs: int = 6, seed: int = 0, **noise) -> Recorder:
    torch.manual_seed(0)
    model = Recorder(graph.x.shape[1], graph.num_classes)
    train_model(model, graph, np.arange(60), np.arange(60, 120), max_epochs=epochs,
                patience=100, seed=seed, **noise)
    return model


def test_every_epoch_sees_a_fresh_kary_copy(graph):
    keep = 0.3
    seen = _train(graph, keep=keep).seen
    assert len(seen) == 6
    clean = graph.x
    for x in seen:  # one-hot: one value per feature block
        assert x.shape == clean.shape and set(x.unique().tolist()) == {0.0, 1.0}
        assert torch.all(x.view(-1, N_FEATURES, N_VALUES).sum(-1) == 1)
    assert not torch.equal(seen[0], seen[1])
    # a value survives with probability keep + (1 - keep) / K
    unchanged = torch.stack([(x * clean).sum() for x in seen]).sum().item()
    n = len(seen) * clean.shape[0] * N_FEATURES
    p = keep + (1 - keep) / N_VALUES
    assert abs(unchanged / n - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_keep_one_trains_on_the_clean_attributes_and_seeds_reproduce(graph):
    assert all(torch.equal(x, graph.x) for x in _train(graph, epochs=3, keep=1.0).seen)
    first, again = _train(graph, seed=3, keep=0.5).seen, _train(graph, seed=3, keep=0.5).seen
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    other = _train(graph, seed=4, keep=0.5).seen
    assert not torch.equal(first[0], other[0])


def test_kary_training_refuses_bad_settings(graph, citeseer):
    with pytest.raises(ValueError, match=r"keep \(K-ary noise\) excludes theta_plus"):
        _train(graph, keep=0.5, theta_plus=0.01, theta_minus=0.6)
    with pytest.raises(ValueError, match=r"keep \(K-ary noise\) excludes .* sigma"):
        _train(graph, keep=0.5, sigma=0.5)
    with pytest.raises(ValueError, match=r"^keep == 1.5, must be a probability in \[0, 1\]$"):
        _train(graph, keep=1.5)
    with pytest.raises(ValueError, match="needs categorical attributes"):
        _train(citeseer, keep=0.5)
