"""The model contract (graphcert.sampling.batching): every batching gives each copy's logits."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.nn.models import GAT, GIN, GraphSAGE

from gnn_models import GCN, APPNPNet, ScaledLogits
from graphcert.noise.base import NoisyGraphs
from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.batching import BatchedModel, disjoint_union, model_device
from tests.helpers import TwoLayer

N, D, C, B = 12, 9, 3, 5


MODELS = {"gat": lambda: GAT(D, 8, 2, C), "sage": lambda: GraphSAGE(D, 8, 2, C),
          "gin": lambda: GIN(D, 8, 2, C), "two_layer": lambda: TwoLayer(D, C),
          "appnp": lambda: APPNPNet(D, C, hidden=8), "gcn": lambda: GCN(D, C, hidden=8)}


@pytest.fixture(scope="module")
def graph():
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(N, D, generator=gen) < 0.4).float()
    ring = torch.arange(N)
    edge_index = torch.cat([torch.stack([ring, (ring + 1) % N]),
                            torch.stack([ring, (ring + 3) % N])], 1)
    edge_index = torch.cat([edge_index, edge_index.flip(0)], 1)
    noise = LocalizedNoise(np.repeat([0, 1], N // 2), np.full((2, 2), 0.2), np.full((2, 2), 0.4))
    z = noise.sample(x, 0, B, np.random.default_rng(1))  # (B * N, D) sparse CSR
    return x, edge_index, z


def one_at_a_time(model, z, edge_index) -> torch.Tensor:
    dense = z.to_dense().view(B, N, D)
    return torch.stack([model(dense[b], edge_index) for b in range(B)])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_union_batch_equals_one_forward_per_copy(graph, name):
    x, edge_index, z = graph
    torch.manual_seed(1)
    model = MODELS[name]().eval()
    with torch.no_grad():
        expected = one_at_a_time(model, z, edge_index)
        assert expected.shape == (B, N, C)
        for batching in ("union", "single", "folded"):
            if batching == "folded" and name not in ("appnp", "gcn"):
                continue
            model.batching = batching
            got = BatchedModel(model, edge_index, N)(z, B)
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_default_batching_is_a_disjoint_union_of_dense_copies(graph):
    x, edge_index, z = graph
    seen = []

    class Spy(TwoLayer):
        def forward(self, x, edge_index):
            seen.append((x.layout, tuple(x.shape), edge_index.clone()))
            return super().forward(x, edge_index)

    with torch.no_grad():
        BatchedModel(Spy(D, C).eval(), edge_index, N)(z, B)
    (layout, shape, union), = seen
    assert layout == torch.strided and shape == (B * N, D)
    expected = torch.cat([edge_index + b * N for b in range(B)], 1)
    assert torch.equal(union, expected) and torch.equal(disjoint_union(edge_index, N, B), expected)


def test_dense_copies_are_capped_by_memory_without_changing_logits(graph):
    x, edge_index, z = graph
    torch.manual_seed(2)
    model = TwoLayer(D, C).eval()
    calls = []
    model.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    with torch.no_grad():
        whole = BatchedModel(model, edge_index, N)(z, B)
        capped = BatchedModel(model, edge_index, N, max_bytes=2 * 4 * N * D)(z, B)
    assert calls == [B * N, 2 * N, 2 * N, N]
    torch.testing.assert_close(capped, whole)


def test_sparse_input_models_get_the_noise_as_drawn(graph):
    x, edge_index, z = graph
    torch.manual_seed(3)
    model = GAT(D, 8, 2, C).eval()
    model.sparse_input = True
    with torch.no_grad():
        got = BatchedModel(model, edge_index, N)(z, B)
        expected = one_at_a_time(model, z, edge_index)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def per_copy_graphs() -> list[torch.Tensor]:
    """A different undirected graph for each copy."""
    graphs = []
    for b in range(B):
        ring = torch.arange(N)
        edges = torch.stack([ring, (ring + 1 + b) % N])
        graphs.append(torch.cat([edges, edges.flip(0)], 1))
    return graphs


@pytest.mark.parametrize("name", ["two_layer", "sage", "appnp", "gcn"])
@pytest.mark.parametrize("batching", ["union", "single", "folded"])
def test_noisy_graphs_reach_every_batching_as_their_own_graphs(graph, name, batching):
    x, _, z = graph
    if batching == "folded" and name not in ("appnp", "gcn"):
        pytest.skip("only APPNP and GCN take folded batches")
    graphs = per_copy_graphs()
    union = torch.cat([g + b * N for b, g in enumerate(graphs)], 1)
    torch.manual_seed(4)
    model = MODELS[name]().eval()
    model.batching = batching
    dense = z.to_dense().view(B, N, D)
    with torch.no_grad():
        expected = torch.stack([model(dense[b], graphs[b]) for b in range(B)])
        got = BatchedModel(model, None, N)(NoisyGraphs(z, union, B), B)
        capped = BatchedModel(model, None, N, max_bytes=2 * 4 * N * D)(NoisyGraphs(z, union, B), B)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(capped, expected, atol=1e-5, rtol=1e-5)


def test_folded_models_prepare_the_shared_graph_once(graph):
    x, edge_index, z = graph
    model = APPNPNet(D, C, hidden=8).eval()
    forward = BatchedModel(model, edge_index, N)
    assert forward.shared.layout == torch.sparse_csr  # the normalized adjacency
    scaled = ScaledLogits(model, 0.5).eval()
    assert scaled.batching == "folded" and scaled.sparse_input
    with torch.no_grad():
        torch.testing.assert_close(BatchedModel(scaled, edge_index, N)(z, B),
                                   forward(z, B) / 0.5)


def test_contract_errors(graph):
    x, edge_index, z = graph
    model = TwoLayer(D, C).eval()
    model.batching = "stacked"
    with pytest.raises(ValueError, match="batching == 'stacked', must be one of"):
        BatchedModel(model, edge_index, N)
    def flat(x, edge_index):  # declared folded, but answers (B * N, C)
        return torch.zeros(x.shape[0] * x.shape[1], C)

    flat.batching = "folded"
    with pytest.raises(ValueError, match=r"returned \(60, 3\), expected logits of shape \(5, 12"):
        BatchedModel(flat, edge_index, N)(z, B)
    with pytest.raises(ValueError, match="60 rows, expected 4 copies of 12 nodes"):
        BatchedModel(TwoLayer(D, C).eval(), edge_index, N)(z, 4)
    adjacency = APPNPNet.prepare_graph(edge_index, N)
    with pytest.raises(ValueError, match="needs edge_index as a"):
        BatchedModel(TwoLayer(D, C).eval(), adjacency, N)(z, B)


def test_model_device():
    assert model_device(TwoLayer(D, C)) == torch.device("cpu")
    assert model_device(lambda x, e: x) == torch.device("cpu")
    assert model_device(torch.nn.ReLU()) == torch.device("cpu")


def test_logits_on_every_device(graph, device):
    x, edge_index, z = graph
    torch.manual_seed(5)
    for name in ("gat", "appnp"):
        model = MODELS[name]().eval()
        with torch.no_grad():
            expected = BatchedModel(model, edge_index, N)(z, B)
            model.to(device)
            got = BatchedModel(model, edge_index, N)(z, B)  # noise drawn on the CPU: moved
        assert got.device.type == device.type
        torch.testing.assert_close(got.cpu(), expected, atol=1e-4, rtol=1e-4)
