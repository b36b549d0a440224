"""GAT: the attention of Veličković et al. computed by hand, batched copies (a disjoint union)
equal to one call per copy, sparse inputs, training, and the Monte Carlo batching contract."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gnn_models import GAT, get_model
from gnn_models.batching import BatchedCSR
from graphcert.sampling.batching import BatchedModel


@pytest.fixture(scope="module")
def small_graph():
    generator = torch.Generator().manual_seed(0)
    n, d = 30, 10
    x = (torch.rand(n, d, generator=generator) < 0.3).float()
    src = torch.randint(0, n, (70,), generator=generator)
    dst = torch.randint(0, n, (70,), generator=generator)
    keep = (src != dst) & (src < n - 2) & (dst < n - 2)  # the last two nodes stay isolated
    edges = torch.stack([src[keep], dst[keep]])
    edge_index = torch.unique(torch.cat([edges, edges.flip(0)], 1), dim=1)
    return x, edge_index


def attention_layer(conv, h, edge_index):
    """One GATConv layer from its formula with dense matrices: for each head,
    alpha_ij = softmax_j over {j -> i} and i itself of LeakyReLU_0.2(a_dst W h_i + a_src W h_j),
    output_i = sum_j alpha_ij W h_j (heads concatenated), plus the bias."""
    n = h.shape[0]
    heads, channels = conv.heads, conv.out_channels
    wh = (h @ conv.lin.weight.t()).view(n, heads, channels)
    adjacency = torch.eye(n, dtype=torch.bool)
    adjacency[edge_index[1], edge_index[0]] = True  # row: target i, column: source j
    out = []
    for k in range(heads):
        source = wh[:, k] @ conv.att_src[0, k]
        target = wh[:, k] @ conv.att_dst[0, k]
        scores = F.leaky_relu(target[:, None] + source[None, :], 0.2)
        weights = torch.softmax(scores.masked_fill(~adjacency, float("-inf")), dim=1)
        out.append(weights @ wh[:, k])
    return torch.cat(out, 1) + conv.bias


def test_equals_the_attention_formula(small_graph):
    x, edge_index = small_graph
    torch.manual_seed(1)
    model = get_model("gat", x.shape[1], 3).eval()
    with torch.no_grad():
        hidden = F.elu(attention_layer(model.convs[0], x, edge_index))
        expected = attention_layer(model.convs[1], hidden, edge_index)
        got = model(x, edge_index)
    assert got.shape == (x.shape[0], 3)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.isfinite(got[-2:]).all()  # isolated nodes attend to themselves


def test_reference_configuration():
    model = GAT(20, 7)
    first, second = model.convs
    assert (first.heads, first.out_channels, first.dropout) == (8, 8, 0.2)
    assert (second.heads, second.in_channels, second.out_channels) == (1, 64, 7)
    assert model.dropout == 0.5 and model.batching == "union" and model.sparse_input


def test_batch_of_copies_equals_one_call_per_copy(small_graph):
    x, edge_index = small_graph
    torch.manual_seed(2)
    model = get_model("gat", x.shape[1], 4).eval()
    batch = torch.stack([x, 1 - x, (torch.rand_like(x) < 0.5).float()])
    with torch.no_grad():
        dense = model(batch, edge_index)
        assert dense.shape == (3, x.shape[0], 4)
        for b in range(3):
            assert torch.allclose(dense[b], model(batch[b], edge_index), atol=1e-5)
        assert torch.allclose(model(batch.to_sparse(), edge_index), dense, atol=1e-5)
        assert torch.allclose(model(_batched(batch), edge_index), dense, atol=1e-5)
        assert torch.allclose(model(x.to_sparse_csr(), edge_index), dense[0], atol=1e-5)


def test_monte_carlo_batching_runs_the_union_graph(small_graph):
    """`BatchedModel` hands B copies as one (B * N, D) sparse CSR input with the
    block-diagonal union graph: the same logits as one call per copy."""
    x, edge_index = small_graph
    torch.manual_seed(3)
    model = get_model("gat", x.shape[1], 4).eval()
    batch = torch.stack([x, 1 - x, torch.zeros_like(x), x])
    stacked = batch.reshape(-1, x.shape[1]).to_sparse_csr()
    with torch.no_grad():
        logits = BatchedModel(model, edge_index, x.shape[0])(stacked, 4)
        for b in range(4):
            assert torch.allclose(logits[b], model(batch[b], edge_index), atol=1e-5)


def test_training_lowers_the_loss(small_graph):
    x, edge_index = small_graph
    torch.manual_seed(4)
    y = (x[:, 0] + 2 * x[:, 1]).long()  # a label the attributes decide
    model = get_model("gat", x.shape[1], 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x.to_sparse_csr(), edge_index), y)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            losses.append(F.cross_entropy(model(x, edge_index), y).item())
    assert losses[-1] < 0.7 * losses[0]


def test_dropout_only_in_training_mode(small_graph):
    x, edge_index = small_graph
    model = get_model("gat", x.shape[1], 3)
    model.train()
    assert not torch.allclose(model(x, edge_index), model(x, edge_index))
    model.eval()
    assert torch.equal(model(x, edge_index), model(x, edge_index))


@pytest.mark.parametrize("params, message", [
    ({"heads": 0}, "heads must be >= 1"), ({"hidden": 0}, "hidden=0"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ({"attention_dropout": -0.1}, "attention_dropout must be in"),
])
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        GAT(5, 2, **params)


def _batched(batch: torch.Tensor) -> BatchedCSR:
    csr = batch.reshape(-1, batch.shape[-1]).to_sparse_csr()
    return BatchedCSR(csr.crow_indices(), csr.col_indices(), batch.shape)
