"""Models: batched, sparse and precomputed-adjacency paths agree with plain PyG layers."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.nn import APPNP, GCNConv

from gnn_models import get_model, normalized_adjacency
from gnn_models._csr import self_looped_pattern
from gnn_models.appnp import ppr_propagate, ppr_propagate_differentiable
from gnn_models.batching import BatchedCSR, fold, folded_mlp


@pytest.fixture(scope="module")
def small_graph():
    generator = torch.Generator().manual_seed(0)
    n, d = 40, 12
    x = (torch.rand(n, d, generator=generator) < 0.3).float()
    src = torch.randint(0, n, (120,), generator=generator)
    dst = torch.randint(0, n, (120,), generator=generator)
    keep = src != dst
    edge_index = torch.unique(torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
                              [:, torch.cat([keep, keep])], dim=1)
    return x, edge_index


def reference_appnp(model, x, edge_index):
    h = model.lin2(torch.relu(model.lin1(x)))
    return APPNP(10, 0.15)(h, edge_index)


def reference_gcn(model, x, edge_index):
    h = x
    for i, conv in enumerate(model.convs):
        if i:
            h = torch.relu(h)
        plain = GCNConv(conv.in_channels, conv.out_channels)
        plain.lin.weight.data = conv.lin.weight.data
        plain.bias.data = conv.bias.data
        h = plain(h, edge_index)
    return h


@pytest.mark.parametrize("name, params, reference", [
    ("appnp", {}, reference_appnp),
    ("gcn", {}, reference_gcn),
    ("gcn", {"n_layers": 6}, reference_gcn),
])
def test_matches_plain_pyg_layers(small_graph, name, params, reference):
    x, edge_index = small_graph
    torch.manual_seed(1)
    model = get_model(name, x.shape[1], 3, **params).eval()
    with torch.no_grad():
        expected = reference(model, x, edge_index)
        assert torch.allclose(model(x, edge_index), expected, atol=1e-5)
        adjacency = normalized_adjacency(edge_index, x.shape[0])
        assert torch.allclose(model(x.to_sparse(), adjacency), expected, atol=1e-5)
        assert torch.allclose(model(x.to_sparse_csr(), adjacency), expected, atol=1e-5)


@pytest.mark.parametrize("name", ["appnp", "gcn"])
def test_batch_of_copies_equals_one_call_per_copy(small_graph, name):
    x, edge_index = small_graph
    torch.manual_seed(2)
    model = get_model(name, x.shape[1], 4).eval()
    batch = torch.stack([x, 1 - x, (torch.rand_like(x) < 0.5).float()])
    with torch.no_grad():
        dense = model(batch, edge_index)
        sparse = model(batch.to_sparse(), edge_index)
        assert dense.shape == (3, x.shape[0], 4)
        for b in range(3):
            assert torch.allclose(dense[b], model(batch[b], edge_index), atol=1e-5)
        assert torch.allclose(sparse, dense, atol=1e-5)


def test_dropout_only_in_training_mode(small_graph):
    x, edge_index = small_graph
    model = get_model("appnp", x.shape[1], 3)
    model.train()
    assert not torch.allclose(model(x, edge_index), model(x, edge_index))
    model.eval()
    assert torch.equal(model(x, edge_index), model(x, edge_index))


def test_errors():
    with pytest.raises(ValueError, match="unknown model"):
        get_model("gta", 5, 2)
    with pytest.raises(ValueError, match="n_layers"):
        get_model("gcn", 5, 2, n_layers=0)
    model = get_model("gcn", 5, 2)
    adjacency = normalized_adjacency(torch.tensor([[0, 1], [1, 0]]), 2)
    with pytest.raises(ValueError, match="does not match"):
        model(torch.zeros(3, 5), adjacency)


@pytest.mark.parametrize("k", [0, 1, 2, 10])
def test_inference_propagation_equals_pyg_appnp(small_graph, k):
    """`ppr_propagate` (no-grad fast path) computes PyG's APPNP propagation, batched or not."""
    x, edge_index = small_graph
    adjacency = normalized_adjacency(edge_index, x.shape[0])
    h = torch.randn(x.shape[0], 7, generator=torch.Generator().manual_seed(k))
    with torch.no_grad():
        expected = APPNP(k, 0.15, normalize=False)(h, adjacency)
        assert torch.allclose(ppr_propagate(h, adjacency, k, 0.15), expected, atol=1e-6)


@pytest.mark.parametrize("k", [0, 1, 10])
def test_differentiable_propagation_equals_pyg_appnp_with_gradients(small_graph, k):
    """The training path's propagation and its gradient are PyG's, on a directed graph too
    (where the transpose matters)."""
    x, edge_index = small_graph
    for edges in (edge_index, edge_index[:, edge_index[0] < edge_index[1]]):  # both, one way
        adjacency = normalized_adjacency(edges, x.shape[0])
        h = torch.randn(x.shape[0], 5, generator=torch.Generator().manual_seed(k),
                        requires_grad=True)
        weights = torch.randn(x.shape[0], 5, generator=torch.Generator().manual_seed(k + 1))
        expected = APPNP(k, 0.15, normalize=False)(h, adjacency)
        (expected_grad,) = torch.autograd.grad((expected * weights).sum(), h)
        got = ppr_propagate_differentiable(h, adjacency, k, 0.15)
        (grad,) = torch.autograd.grad((got * weights).sum(), h)
        assert torch.allclose(got, expected, atol=1e-6)
        assert torch.allclose(grad, expected_grad, atol=1e-6)


def test_appnp_inference_path_matches_autograd_path(small_graph):
    x, edge_index = small_graph
    torch.manual_seed(3)
    model = get_model("appnp", x.shape[1], 3).eval()
    batch = torch.stack([x, 1 - x])
    with_grad = model(batch, edge_index)
    assert with_grad.requires_grad
    with torch.no_grad():
        assert torch.allclose(model(batch, edge_index), with_grad, atol=1e-6)
        assert torch.allclose(model(_batched(batch), edge_index), with_grad, atol=1e-6)


@pytest.mark.parametrize("block_rows", [1, 7, 8192])
def test_folded_mlp_equals_the_layers_then_fold(small_graph, block_rows):
    x, _ = small_graph
    torch.manual_seed(4)
    lin1, lin2 = torch.nn.Linear(x.shape[1], 8), torch.nn.Linear(8, 3)
    batch = torch.stack([x, torch.zeros_like(x), 1 - x])  # includes copies with empty rows
    with torch.no_grad():
        expected = fold(lin2(torch.relu(lin1(batch))))
        got = folded_mlp(_batched(batch), lin1, lin2, block_rows)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-6)


def _batched(batch: torch.Tensor) -> BatchedCSR:
    csr = batch.reshape(-1, batch.shape[-1]).to_sparse_csr()
    return BatchedCSR(csr.crow_indices(), csr.col_indices(), batch.shape)


def torch_geometric_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The normalized adjacency as torch_geometric builds it: gcn_norm, then a sorted CSR."""
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import to_torch_csr_tensor
    edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
    return to_torch_csr_tensor(edge_index.flip(0), weight, size=(num_nodes, num_nodes))


@pytest.mark.parametrize("case", ["undirected", "directed", "self loops", "isolated nodes",
                                  "no edges", "repeated edges", "hub", "union of 32"])
def test_normalized_adjacency_is_torch_geometrics_bit_for_bit(case):
    """The counting sort gives torch_geometric's tensor exactly: pattern, order, values."""
    gen = torch.Generator().manual_seed(len(case))
    n = 3000 if case == "union of 32" else 40
    edges = torch.randint(0, n, (2, 5 * n), generator=gen)
    edges = edges[:, edges[0] != edges[1]]
    edges = torch.unique(torch.cat([edges, edges.flip(0)], 1), dim=1)  # undirected, distinct
    edges = edges[:, torch.randperm(edges.shape[1], generator=gen)]
    if case == "directed":
        edges = edges[:, : edges.shape[1] // 2]
    elif case == "self loops":
        edges = torch.cat([edges, torch.tensor([[3, 7], [3, 7]])], 1)
    elif case == "isolated nodes":
        n += 5
    elif case == "no edges":
        edges = edges[:, :0]
    elif case == "repeated edges":  # summed by gcn_norm: torch_geometric's way is taken
        edges = torch.cat([edges, edges[:, :4]], 1)
    elif case == "hub":  # rows far longer than the insertion sort's
        spokes = torch.stack([torch.arange(1, n), torch.zeros(n - 1, dtype=torch.long)])
        edges = torch.unique(torch.cat([edges, spokes, spokes.flip(0)], 1), dim=1)
        edges = edges[:, torch.randperm(edges.shape[1], generator=gen)]
    source, target = edges.numpy()
    assert self_looped_pattern(source, target, n)[2] == (case != "repeated edges")  # fast path
    ours, reference = normalized_adjacency(edges, n), torch_geometric_adjacency(edges, n)
    assert ours.layout == torch.sparse_csr and ours.shape == reference.shape
    for part in ("crow_indices", "col_indices", "values"):
        a, b = getattr(ours, part)(), getattr(reference, part)()
        assert a.dtype == b.dtype and torch.equal(a, b), part


def test_temperature_zero_scores_are_exactly_the_one_hot_votes():
    """T = 0 returns the log of the one-hot vote: its softmax, as the counts take it (CPU and
    device code), is exactly one-hot, and the vote is the model's argmax."""
    from gnn_models import ScaledLogits
    from graphcert.sampling.devices import quantized_scores

    class Fixed(torch.nn.Module):
        def forward(self, x, edge_index):
            return x

    logits = torch.tensor([[0.3, 2.0, -1.0], [5.0, 5.0 - 1e-3, 0.0], [-7.0, -9.0, -6.5]])
    hard = ScaledLogits(Fixed(), 0.0)(logits, None)
    votes = logits.argmax(-1)
    assert torch.equal(hard.argmax(-1), votes)
    one_hot = torch.nn.functional.one_hot(votes, 3).double()
    assert torch.equal(torch.softmax(hard.double(), -1), one_hot)
    assert torch.equal(quantized_scores(hard[None]), (one_hot * 2**16).long()[None])
