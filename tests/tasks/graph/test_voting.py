"""Voting certificates end to end on a tiny graph: every set of up to two edge changes is
applied to the graph, the real model votes again, and the certificates must hold."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from torch_geometric.data import Data

import graphcert.voting as voting
from gnn_models import GCN, APPNPNet
from graphcert.certificates.voting import CollectiveVoting
from graphcert.tasks.graph.voting import _logits, message_passing_hops

N, T = 7, 3
EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (0, 6), (1, 4), (2, 5)]
PAIRS = list(itertools.combinations(range(N), 2))


def _data(pairs) -> Data:
    und = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2).T
    edge_index = torch.from_numpy(np.concatenate([und, und[::-1]], axis=1))
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 2, (N, 6))).float()
    return Data(x=x, edge_index=edge_index, y=torch.tensor([0, 1, 2, 0, 1, 2, 0]),
                num_nodes=N)


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed(3)
    return (GCN(6, 3, hidden=16, n_layers=2) if kind == "gcn" else
            APPNPNet(6, 3, hidden=16, k=3)).eval()


def _perturbed(changes) -> set:
    return set(EDGES) ^ set(changes)


def _balls(pairs, group_of, hops):
    """within[t][a] = nodes within `hops` of a in subgraph t of the graph `pairs`."""
    out = []
    for t in range(T):
        kept = [p for p in pairs if group_of[p] == t]
        rows = [a for a, b in kept] + [b for a, b in kept]
        cols = [b for a, b in kept] + [a for a, b in kept]
        dist = shortest_path(csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(N, N)),
                             unweighted=True, directed=False)
        out.append(dist <= hops)
    return out


@pytest.fixture(scope="module")
def group_of():
    division = voting.divide_graph(_data(PAIRS), T, "edge", seed=1)
    return {(int(a), int(b)): int(g) for (a, b), g in
            zip(division.edge_index.T, division.edge_group, strict=True) if a < b}


@pytest.mark.parametrize("kind", ["gcn", "appnp"])
def test_changed_outputs_lie_within_hops_of_the_changes_in_the_clean_subgraph(kind, group_of):
    """The reach of docs/theory.md §12: any set of changes of one subgraph moves only the
    outputs within K hops of their endpoints in the unperturbed subgraph."""
    model = _model(kind)
    hops = message_passing_hops(model)
    within = _balls(EDGES, group_of, hops)
    clean = _logits(model, voting.divide_graph(_data(EDGES), T, "edge", 1), _data(EDGES).x,
                    range(T))
    moved_somewhere = False
    for changes in itertools.chain(itertools.combinations(PAIRS, 1),
                                   itertools.combinations(PAIRS, 2)):
        data = _data(_perturbed(changes))
        logits = _logits(model, voting.divide_graph(data, T, "edge", 1), data.x, range(T))
        moved = (logits - clean).abs().amax(-1) > 1e-5  # (T, N)
        reach = np.zeros((T, N), bool)
        for a, b in changes:
            reach[group_of[(a, b)]] |= within[group_of[(a, b)]][a] | within[group_of[(a, b)]][b]
        assert not (moved.numpy() & ~reach).any(), changes
        moved_somewhere |= bool(moved.any())
    assert moved_somewhere


@pytest.mark.parametrize("kind", ["gcn", "appnp"])
def test_radius_and_collective_count_hold_against_every_attack(kind):
    model = _model(kind)
    data = _data(EDGES)
    cert = voting.certify(model, data, n_groups=T, division="edge", seed=1)
    collective = cert.collective(data.y)  # flips of the correctly classified targets
    division = cert.division
    every = CollectiveVoting(division.edge_index, division.edge_group, N, T, cert.hops,
                             cert.targets, cert.margin)  # flips of all targets
    assert np.array_equal(cert.targets, np.arange(N))
    correct = cert.prediction == data.y.numpy()
    for budget in (1, 2):
        worst, worst_correct = 0, 0
        for changes in itertools.combinations(PAIRS, budget):
            attacked = voting.certify(model, _data(_perturbed(changes)), n_groups=T, seed=1)
            changed = attacked.prediction != cert.prediction
            assert not (changed & (cert.radius >= budget)).any(), changes
            worst = max(worst, int(changed.sum()))
            worst_correct = max(worst_correct, int((changed & correct).sum()))
        assert worst <= every.max_flipped(budget).max_flipped
        assert worst_correct <= collective.max_flipped(budget).max_flipped
        assert collective.certified_count(budget) >= collective.naive_count(budget)
    assert worst > 0  # the attacks do flip some votes: the check above can fail


def test_same_seed_same_division_and_votes():
    data = _data(EDGES)
    first = voting.divide_graph(data, 4, "edge", seed=5)
    assert np.array_equal(first.edge_group, voting.divide_graph(data, 4, "edge", 5).edge_group)
    assert not np.array_equal(first.edge_group,
                              voting.divide_graph(data, 4, "edge", 6).edge_group)
    model = _model("gcn")
    a, b = voting.certify(model, data, 4, seed=5), voting.certify(model, data, 4, seed=5)
    assert np.array_equal(a.counts, b.counts) and a.counts.sum(1).tolist() == [4] * N


def test_bad_input_gets_clear_errors():
    data, model = _data(EDGES), _model("gcn")
    with pytest.raises(ValueError, match="n_groups == 1, must be >= 2"):
        voting.certify(model, data, n_groups=1)
    with pytest.raises(ValueError, match="division"):
        voting.certify(model, data, n_groups=3, division="pairs")

    class NoSelfLoops(torch.nn.Module):  # mean over in-neighbours: 0 / 0 on isolated nodes
        def forward(self, x, edge_index):
            degree = torch.zeros(x.shape[0]).index_add_(0, edge_index[1],
                                                        torch.ones(edge_index.shape[1]))
            total = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
            return total / degree[:, None]

    with pytest.raises(ValueError, match="isolated nodes"):
        voting.certify(NoSelfLoops(), data, n_groups=3)

    class Fails(torch.nn.Module):
        def forward(self, x, edge_index):
            raise RuntimeError("needs every node to have an edge")

    with pytest.raises(ValueError, match="isolated.*needs every node"):
        voting.certify(Fails(), data, n_groups=3)


def test_node_and_feature_divisions_bound_their_changes():
    data, model = _data(EDGES), _model("gcn")
    node = voting.certify(model, data, 3, division="node", seed=0)
    assert np.array_equal(node.radius, node.margin // 2)
    feature = voting.certify(model, data, 3, division="feature", seed=0)
    assert np.array_equal(feature.attribute_radius, feature.margin)
    assert np.array_equal(feature.radius, feature.margin // 3)
    division = voting.divide_graph(data, 3, "node", 0)
    targets = division.edge_index[1]
    groups = division.edge_group
    assert all(len(set(groups[targets == v])) <= 1 for v in range(N))  # by target node


def test_collective_needs_edge_hashing_and_known_hops():
    data, model = _data(EDGES), _model("gcn")
    with pytest.raises(ValueError, match="division 'edge'"):
        voting.certify(model, data, 3, division="node").collective(data.y)

    class Plain(torch.nn.Module):  # no layers graphcert can read: hops unknown
        def forward(self, x, edge_index):
            return x[:, :3]

    cert = voting.certify(Plain(), data, 3)
    assert cert.hops is None
    with pytest.raises(ValueError, match="hops=K"):
        cert.collective(data.y)
    assert voting.certify(Plain(), data, 3, hops=0).collective(data.y).hops == 0
