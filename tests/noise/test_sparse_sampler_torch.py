"""The torch sampler of sparsity-aware noise (`graphcert.noise.sparse_sampler_torch`)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import graphcert.noise.sparse_sampler_torch as sampler_torch
from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.sparse_sampler import prepare_binary
from graphcert.noise.sparse_sampler_torch import bernoulli_rows, sample_on_device
from tests.helpers import LABELS, N_FEATURES, N_NODES, THETA_MINUS, THETA_PLUS

COPIES = 3000


def within(rate: float, p: float, n: int, sigmas: float = 5.0) -> bool:
    return abs(rate - p) <= sigmas * np.sqrt(p * (1 - p) / n) + 1e-12


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return (torch.rand(N_NODES, N_FEATURES, generator=gen) < 0.3).float()


def draw(x, device, k: int, copies: int = COPIES, seed: int = 1) -> torch.Tensor:
    noise = LocalizedNoise(LABELS, THETA_PLUS, THETA_MINUS)
    generator = torch.Generator(device=device).manual_seed(seed)
    z = noise.sample(noise.prepare(x).to(device), k, copies, generator)
    assert z.layout == torch.sparse_csr and z.device.type == device.type
    return z.cpu().to_dense().view(copies, N_NODES, N_FEATURES).bool()


@pytest.mark.parametrize("k", [0, 1, 2])
def test_flip_rates_per_cluster_pair(x, device, k):
    z = draw(x, device, k)
    for j in range(3):
        clean = x[LABELS == j].bool().expand(COPIES, -1, -1)
        out = z[:, LABELS == j]
        n0, n1 = int((~clean).sum()), int(clean.sum())
        added, deleted = (out & ~clean).sum().item() / n0, (~out & clean).sum().item() / n1
        if THETA_PLUS[k, j] in (0.0, 1.0):
            assert added == THETA_PLUS[k, j]
        else:
            assert within(added, THETA_PLUS[k, j], n0)
        if THETA_MINUS[k, j] in (0.0, 1.0):
            assert deleted == THETA_MINUS[k, j]
        else:
            assert within(deleted, THETA_MINUS[k, j], n1)


def test_bits_are_pairwise_independent(x, device):
    z = draw(x, device, 0).reshape(COPIES, -1).double()
    rates = z.mean(0)
    joint = (z.T @ z) / COPIES
    expected = torch.outer(rates, rates)
    off = ~torch.eye(z.shape[1], dtype=torch.bool)
    sd = torch.sqrt(expected * (1 - expected) / COPIES) + 1e-12
    assert ((joint - expected).abs() / sd)[off].max() < 6  # 576^2 pairs, sd about 1


def test_csr_rows_sorted_and_seeding_reproduces(x, device):
    noise = LocalizedNoise(LABELS, THETA_PLUS, THETA_MINUS)
    graph = noise.prepare(x).to(device)
    a = noise.sample(graph, 0, 4, torch.Generator(device=device).manual_seed(7))
    b = noise.sample(graph, 0, 4, torch.Generator(device=device).manual_seed(7))
    c = noise.sample(graph, 0, 4, torch.Generator(device=device).manual_seed(8))
    assert torch.equal(a.crow_indices(), b.crow_indices())
    assert torch.equal(a.col_indices(), b.col_indices())
    assert not torch.equal(a.to_dense(), c.to_dense())
    crow, col = a.crow_indices().cpu(), a.col_indices().cpu()
    assert crow.dtype == col.dtype == torch.int32 and a.shape == (4 * N_NODES, N_FEATURES)
    for row in range(4 * N_NODES):
        cols = col[crow[row]:crow[row + 1]]
        assert torch.all(cols[1:] > cols[:-1]) and torch.all((cols >= 0) & (cols < N_FEATURES))
    dense = a.to_dense().view(4, N_NODES, N_FEATURES)
    assert not torch.equal(dense[0], dense[1])  # copies of one batch differ


def test_prepared_graph_on_the_device(x, device):
    graph = prepare_binary(x, LABELS, 3).to(device)
    assert graph.device.type == device.type and graph.to(device) is graph
    assert torch.equal(graph.ones.cpu(), torch.nonzero(x.flatten()).flatten())
    assert torch.equal(graph.is_one.cpu(), x.flatten().bool())
    clusters = torch.from_numpy(LABELS)[graph.ones.cpu() // N_FEATURES]
    assert torch.equal(graph.ones_cluster.cpu(), clusters)
    moved = graph.to("cpu")
    assert moved.device.type == "cpu" and torch.equal(moved.ones, graph.ones.cpu())


@pytest.mark.parametrize("p", [0.0, 0.03, 0.5, 0.9, 1.0])
def test_bernoulli_rows_marginals_and_counts(device, p):
    rows, length = 20000, 40
    keys = bernoulli_rows(rows, length, p, torch.Generator(device=device).manual_seed(3)).cpu()
    assert torch.all(keys[1:] > keys[:-1]) and keys.dtype == torch.int64
    hits = torch.bincount(keys % length, minlength=length).double() / rows
    counts = torch.bincount(keys // length, minlength=rows).double()
    if p in (0.0, 1.0):
        assert torch.all(hits == p)
        return
    assert all(within(h, p, rows) for h in hits.tolist())
    var = length * p * (1 - p)
    assert abs(counts.mean().item() - length * p) <= 5 * np.sqrt(var / rows)
    assert abs(counts.var().item() / var - 1) <= 0.1


def test_bernoulli_rows_draw_more_when_a_row_falls_short(monkeypatch, device):
    """Rows draw again until every one reaches its end; the law stays the same."""
    monkeypatch.setattr(sampler_torch, "first_draws", lambda mean: 1)
    rows, length, p = 5000, 30, 0.2
    keys = bernoulli_rows(rows, length, p, torch.Generator(device=device).manual_seed(4)).cpu()
    assert torch.all(keys[1:] > keys[:-1])
    hits = torch.bincount(keys % length, minlength=length).double() / rows
    assert all(within(h, p, rows) for h in hits.tolist())


def test_errors(x, device):
    noise = LocalizedNoise(LABELS, THETA_PLUS, THETA_MINUS)
    generator = torch.Generator(device=device)
    with pytest.raises(ValueError, match="batch_size == 0, must be >= 1"):
        noise.sample(x, 0, 0, generator)
    with pytest.raises(ValueError, match="output_cluster"):
        noise.sample(x, 3, 2, generator)
    if device.type != "cpu":
        with pytest.raises(ValueError, match="generator on"):
            sample_on_device(noise.prepare(x).to("cpu"), THETA_PLUS[0], THETA_MINUS[0], 2,
                             generator)
