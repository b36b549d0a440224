"""Node-level threat models end to end on a small graph (docs/theory.md §14, §15): training
under the noise, Monte Carlo, and certified counts that match the certificate functions."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from gnn_models import GCN
from graphcert.certificates import hierarchical_certified, injection_certified
from graphcert.certificates.bounds import clopper_pearson_lower
from graphcert.noise.hierarchical import hierarchical_noise
from graphcert.noise.injection import injection_noise
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.tasks.graph.node_threats import node_threat_result, train_under_noise

N, D = 16, 6


@pytest.fixture(scope="module")
def data() -> Data:
    rng = np.random.default_rng(0)
    y = np.arange(N) % 2
    x = (rng.random((N, D)) < 0.15).astype(np.float32)
    x[:, 0], x[:, 1] = y == 0, y == 1  # a clean signal in two bits
    ring = np.stack([np.arange(N), (np.arange(N) + 2) % N])  # same-class neighbours
    return Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(ring),
                y=torch.from_numpy(y))


def _run(data, noise, in_features, budgets, **kwargs):
    model = GCN(in_features, 2, hidden=8)
    train_under_noise(model, data, noise, np.arange(8), np.arange(8, 12), max_epochs=60,
                      lr=0.05, seed=0)
    config = MonteCarloConfig(300, 30, chunk_size=150, batch_size=30, n_bins=1, seed=0)
    stats = smooth(model, data.x, data.edge_index, noise, config, progress=False)
    targets = np.arange(N)
    result = node_threat_result(stats, data.y.numpy(), targets, noise, data.edge_index.numpy(),
                                budgets, hops=2, **kwargs)
    predicted = stats.candidate_vote[targets]
    p = clopper_pearson_lower(stats.votes[targets, predicted], stats.n[targets], 0.01 / N)
    good = (predicted == data.y.numpy()) & (p > 0.5)
    return result, p[good]


def test_controlled_nodes_end_to_end(data):
    noise = hierarchical_noise(N, 0.9, theta_plus=0.05, theta_minus=0.3)
    result, p = _run(data, noise, D + 1, [0, 1, 2])
    assert result.threat == "nodes" and result.n_targets == N
    assert result.naive[0] == p.size == round(result.accuracy * N) > N // 2
    for r, naive in zip(result.budgets, result.naive, strict=True):
        assert naive == hierarchical_certified(p, 0.9, r, 0.05, 0.3, 0, r).sum()
    assert all(c >= n for c, n in zip(result.collective, result.naive, strict=True))


def test_injected_nodes_end_to_end(data):
    noise = injection_noise(data.edge_index, N, 0.7, 0.5)
    result, p = _run(data, noise, D, [0, 1, 3], tau=2)
    assert result.threat == "injection"
    for rho, naive in zip(result.budgets, result.naive, strict=True):
        assert naive == injection_certified(p, 0.7, 0.5, rho, 2).sum()
    assert all(c >= n for c, n in zip(result.collective, result.naive, strict=True))
    assert result.collective == sorted(result.collective, reverse=True)


def test_injection_needs_a_model_with_edges(data):
    class Features(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(D, 2)

        def forward(self, x):
            return self.lin(x)

    with pytest.raises(ValueError, match="needs a model with an edge input"):
        train_under_noise(Features(), data, injection_noise(data.edge_index, N, 0.5, 0.5),
                          np.arange(8), np.arange(8, 12))


def test_top_level_noises_take_the_graph(data):
    import graphcert

    noise = graphcert.hierarchical_noise(data, 0.8, theta_plus=0.01, theta_minus=0.5)
    assert noise.n_nodes == N and noise.p_select == 0.8 and noise.indicator
    deletion = graphcert.injection_noise(data, 0.3, 0.4)
    assert (deletion.p_node, deletion.p_edge, deletion.edge_index.shape) == (0.3, 0.4, (2, N))
    with pytest.raises(ValueError, match=r"p_select == 1.5"):
        graphcert.hierarchical_noise(data, 1.5, sigma=1.0)
