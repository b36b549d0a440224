"""Cluster-wise hierarchical noise end to end (docs/theory.md §14.1): `graphcert.certify`
and `node_threat_result` count what the localized certificate functions certify."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

import graphcert
from gnn_models import GCN
from graphcert.certificates import hierarchical_localized_certified
from graphcert.certificates._node_budget import (
    hierarchical_localized_collective,
    receptive_fields,
)
from graphcert.tasks.graph.node_threats import train_under_noise

N, D = 16, 6
CLUSTERS = np.repeat([0, 1], N // 2)
TP, TM = np.array([0.05, 0.05]), np.array([0.3, 0.5])


@pytest.fixture(scope="module")
def data() -> Data:
    rng = np.random.default_rng(0)
    y = np.arange(N) % 2
    x = (rng.random((N, D)) < 0.15).astype(np.float32)
    x[:, 0], x[:, 1] = y == 0, y == 1
    ring = np.stack([np.arange(N), (np.arange(N) + 2) % N])
    return Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(ring),
                y=torch.from_numpy(y))


def test_certify_counts_the_localized_certificates(data):
    noise = graphcert.hierarchical_noise(data, 0.9, theta_plus=TP, theta_minus=TM,
                                         clusters=CLUSTERS)
    torch.manual_seed(0)
    model = GCN(D + 1, 2, hidden=8)
    train_under_noise(model, data, noise, np.arange(8), np.arange(8, 12), max_epochs=60,
                      lr=0.05, seed=0)
    targets = np.arange(N)
    cert = graphcert.certify(model, data, noise, targets, n_pre=30, n_samples=300,
                             alpha=0.01, seed=0, device="cpu", batch_size=30, chunk_size=150,
                             bits_per_node=(0, 1))
    result = cert.node_threat_result(data.y, [0, 1, 2], hops=2)
    good = result.correct
    assert good.sum() > N // 2
    fields = receptive_fields(data.edge_index.numpy(), N, 2, targets[good])
    for r, naive, together in zip(result.budgets, result.naive, result.collective,
                                  strict=True):
        want = hierarchical_localized_certified(result.p_lower[good], 0.9, r, TP, TM, 0, r)
        assert naive == want.sum() == (cert.robust("nodes", r) & good).sum()
        assert together == hierarchical_localized_collective(
            result.p_lower[good], fields, CLUSTERS, 0.9, r, TP, TM, 0, r).collective
        assert together >= naive
    assert noise.describe()["theta_minus"] == TM.tolist()
