"""Tests for the sparse localized noise sampler (docs/theory.md §2)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnn_models import get_model
from gnn_models.batching import BatchedCSR
from graphcert.noise.bernoulli import bernoulli_positions
from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.sparse_sampler import prepare_binary, sample_prepared
from graphcert.sampling.batching import folded_input
from tests.helpers import LABELS, N_FEATURES, N_NODES, THETA_MINUS, THETA_PLUS


def sample_labels(x, theta_plus_row, theta_minus_row, batch_size, rng):
    """Copies of `x` with the clusters `LABELS` (`prepare_binary` + `sample_prepared`)."""
    graph = prepare_binary(x, LABELS, len(np.atleast_1d(np.asarray(theta_plus_row))))
    return sample_prepared(graph, theta_plus_row, theta_minus_row, batch_size, rng)


def random_binary(seed: int, density: float = 0.3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(N_NODES, N_FEATURES, generator=gen) < density).float()


def within(rate: float, p: float, n: int, sigmas: float = 5.0) -> bool:
    return abs(rate - p) <= sigmas * np.sqrt(p * (1 - p) / n) + 1e-12


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return random_binary(0)


@pytest.fixture(scope="module")
def noisy(x) -> dict[int, torch.Tensor]:
    """3000 dense noisy copies per output cluster."""
    noise = LocalizedNoise(LABELS, THETA_PLUS, THETA_MINUS)
    graph = noise.prepare(x)
    rng = np.random.default_rng(1)
    return {k: folded_input(noise.sample(graph, k, 3000, rng), 3000).to_dense() for k in range(3)}


@pytest.mark.parametrize("k", [0, 1, 2])
def test_flip_rates_per_cluster_pair(x, noisy, k):
    z = noisy[k]
    for j in range(3):
        clean = x[LABELS == j].bool().expand(z.shape[0], -1, -1)
        out = z[:, LABELS == j].bool()
        zeros, ones = ~clean, clean
        n0, n1 = int(zeros.sum()), int(ones.sum())
        add = (out & zeros).sum().item() / n0
        delete = (~out & ones).sum().item() / n1
        assert within(add, THETA_PLUS[k, j], n0), (k, j, add)
        assert within(delete, THETA_MINUS[k, j], n1), (k, j, delete)


def test_zero_and_one_probabilities_are_exact(x, noisy):
    clean = x.bool()
    for k in range(3):
        z = noisy[k].bool()
        for j in range(3):
            rows = torch.from_numpy(LABELS == j)
            added = (z & ~clean)[:, rows]
            deleted = (~z & clean)[:, rows]
            if THETA_PLUS[k, j] == 0:
                assert not added.any()
            if THETA_PLUS[k, j] == 1:
                assert (z[:, rows] | clean[rows]).all()
            if THETA_MINUS[k, j] == 0:
                assert not deleted.any()
            if THETA_MINUS[k, j] == 1:
                assert not (z[:, rows] & clean[rows]).any()


def test_bits_are_pairwise_independent(x, noisy):
    """Empirical covariances of all bit pairs of two nodes (one per cluster) vanish."""
    z = noisy[0][:, [0, 12]].reshape(3000, -1).double()  # node 0 in cluster 0, 12 in cluster 1
    centred = z - z.mean(0)
    cov = centred.T @ centred / z.shape[0]
    sd = z.std(0)
    bound = 5.0 * torch.outer(sd, sd) / np.sqrt(z.shape[0]) + 1e-9
    off = ~torch.eye(cov.shape[0], dtype=torch.bool)
    assert (cov.abs()[off] <= bound[off]).all()
    # joint frequency of two zero bits ~ theta_plus^2, of a zero and a one bit ~ a * (1 - m)
    zeros = torch.nonzero(x[0] == 0).flatten()[:2]
    one = torch.nonzero(x[0] == 1).flatten()[0]
    both = (noisy[0][:, 0, zeros[0]] * noisy[0][:, 0, zeros[1]]).mean().item()
    assert within(both, 0.05 ** 2, 3000)
    mixed = (noisy[0][:, 0, zeros[0]] * noisy[0][:, 0, one]).mean().item()
    assert within(mixed, 0.05 * 0.7, 3000)


def test_copies_in_a_batch_differ_and_seeding_reproduces(x):
    noise = LocalizedNoise(LABELS, THETA_PLUS, THETA_MINUS)
    a = folded_input(noise.sample(x, 0, 4, np.random.default_rng(7)), 4)
    b = folded_input(noise.sample(x, 0, 4, np.random.default_rng(7)), 4)
    c = folded_input(noise.sample(x, 0, 4, np.random.default_rng(8)), 4)
    assert torch.equal(a.crow, b.crow) and torch.equal(a.col, b.col)
    assert not torch.equal(a.to_dense(), c.to_dense())
    dense = a.to_dense()
    assert not torch.equal(dense[0], dense[1])


def test_output_is_sparse_csr_and_coalesced_coo(x):
    out = folded_input(sample_labels(x, THETA_PLUS[0], THETA_MINUS[0], 5,
                              np.random.default_rng(0)), 5)
    assert isinstance(out, BatchedCSR)
    assert out.shape == (5, N_NODES, N_FEATURES) and out.col.dtype == torch.int32
    assert out.to_sparse_csr().layout == torch.sparse_csr
    dense = out.to_dense()
    assert set(dense.unique().tolist()) <= {0.0, 1.0}
    assert out.nnz == int(dense.sum())
    coo = out.to_sparse_coo()
    assert coo.is_coalesced() and coo.shape == (5, N_NODES, N_FEATURES)
    assert torch.equal(coo.to_dense(), dense)
    assert torch.equal(coo.indices(), dense.nonzero().T)  # sorted by (copy, node, feature)


def test_columns_sorted_within_rows(x):
    out = folded_input(sample_labels(x, THETA_PLUS[1], THETA_MINUS[1], 8,
                              np.random.default_rng(3)), 8)
    crow, col = out.crow.long(), out.col.long()
    rows = torch.repeat_interleave(torch.arange(len(crow) - 1), crow.diff())
    keys = rows * N_FEATURES + col
    assert (keys.diff() > 0).all()


def test_sparse_input_equals_dense_input(x):
    dense = prepare_binary(x, LABELS, 3)
    for sparse in (x.to_sparse(), x.to_sparse_csr()):
        other = prepare_binary(sparse, LABELS, 3)
        assert all(np.array_equal(a, b) for a, b in zip(dense.ones, other.ones, strict=True))


def test_isotropic_uses_one_cluster(x):
    noise = LocalizedNoise.isotropic(N_NODES, 0.2, 0.6)
    z = folded_input(noise.sample(x, 0, 2000, np.random.default_rng(5)), 2000).to_dense().bool()
    clean = x.bool()
    n0, n1 = int((~clean).sum()) * 2000, int(clean.sum()) * 2000
    assert within((z & ~clean).sum().item() / n0, 0.2, n0)
    assert within((~z & clean).sum().item() / n1, 0.6, n1)


@pytest.mark.parametrize("p", [0.0, 0.03, 0.5, 0.9, 1.0])
def test_bernoulli_positions_marginals_and_counts(p):
    rng = np.random.default_rng(11)
    length, reps = 40, 20000
    hits = np.zeros(length)
    counts = np.empty(reps)
    for i in range(reps):
        pos = bernoulli_positions(length, p, rng)
        assert pos.dtype == np.int64
        assert np.all(np.diff(pos) > 0) and (pos.size == 0 or (pos[0] >= 0 and pos[-1] < length))
        hits[pos] += 1
        counts[i] = pos.size
    if p in (0.0, 1.0):
        assert np.all(hits == p * reps)
        return
    assert all(within(h / reps, p, reps) for h in hits)
    var = length * p * (1 - p)
    assert abs(counts.mean() - length * p) <= 5 * np.sqrt(var / reps)
    assert abs(counts.var() / var - 1) <= 0.1


def test_bernoulli_positions_long_range_is_uniform():
    """Over a long range the positions are uniform and the count is Bin(L, p)."""
    rng = np.random.default_rng(2)
    length, p = 10**7, 1e-3
    pos = np.concatenate([bernoulli_positions(length, p, rng) for _ in range(20)])
    n = pos.size
    assert abs(n - 20 * length * p) <= 5 * np.sqrt(20 * length * p)
    hist = np.bincount(pos * 10 // length, minlength=10)
    assert np.all(np.abs(hist - n / 10) <= 5 * np.sqrt(n / 10))
    narrow = bernoulli_positions(length, p, np.random.default_rng(2), np.int32)
    assert narrow.dtype == np.int32 and np.array_equal(narrow, pos[: narrow.size])


def test_huge_graph_uses_int64_keys_and_stays_sparse():
    """N * D > 2^31: flat keys need int64; nothing of size N * D is ever allocated."""
    n, d = 70_000, 40_000
    index = torch.tensor([[0, 5, 69_999, 69_999], [3, 39_999, 0, 17]])
    x = torch.sparse_coo_tensor(index, torch.ones(4), (n, d))
    labels = np.zeros(n, dtype=np.int64)
    graph = prepare_binary(x, labels, 1)
    assert graph.key_dtype == np.int64 and graph.ones[0].dtype == np.int64
    kept = folded_input(sample_prepared(graph, [0.0], [0.0], 3, np.random.default_rng(0)),
                        3).to_sparse_coo()
    expected = torch.cat([torch.cat([torch.full((1, 4), b), index]) for b in range(3)], 1)
    assert torch.equal(kept.indices(), expected)
    noisy = folded_input(sample_prepared(graph, [1e-9], [0.5], 3, np.random.default_rng(1)), 3)
    coo = noisy.to_sparse_coo()
    assert coo.shape == (3, n, d) and coo._nnz() < 30
    assert (coo.indices()[2] < d).all()


def test_batched_csr_feeds_models_exactly(x):
    out = folded_input(sample_labels(x, THETA_PLUS[0], THETA_MINUS[0], 6,
                              np.random.default_rng(4)), 6)
    path = torch.arange(N_NODES - 1)
    edge_index = torch.stack([torch.cat([path, path + 1]), torch.cat([path + 1, path])])
    for name in ("appnp", "gcn"):
        torch.manual_seed(0)
        model = get_model(name, N_FEATURES, 4).eval()
        with torch.no_grad():
            fast = model(out, edge_index)
            coo = model(out.to_sparse_coo(), edge_index)
            dense = model(out.to_dense(), edge_index)
            clean = model(BatchedCSR.repeat(x, 2), edge_index)
            clean_dense = model(x, edge_index)
        assert torch.equal(fast, coo)
        assert torch.allclose(fast, dense, atol=1e-5)
        assert torch.allclose(clean, clean_dense.expand(2, -1, -1), atol=1e-5)


def test_embedding_bag_layer_equals_csr_product_on_a_large_input():
    """The BatchedCSR first layer must reproduce the CSR product bit for bit."""
    gen = torch.Generator().manual_seed(0)
    big = (torch.rand(400, 3000, generator=gen) < 0.02).float()
    noise = LocalizedNoise.isotropic(400, 0.01, 0.6)
    z = folded_input(noise.sample(big, 0, 8, np.random.default_rng(0)), 8)
    weight, bias = torch.randn(64, 3000, generator=gen), torch.randn(64, generator=gen)
    from gnn_models.batching import linear_input
    fast = linear_input(z, weight, bias)
    reference = (z.to_sparse_csr() @ weight.t()).view(8, 400, 64) + bias
    assert torch.equal(fast, reference)
    assert torch.equal(fast, linear_input(z.to_sparse_coo(), weight, bias))
    clean = linear_input(BatchedCSR.repeat(big, 2), weight)
    assert torch.equal(clean[1], big.to_sparse_csr() @ weight.t())


def test_batched_csr_validation():
    with pytest.raises(ValueError, match="binary"):
        BatchedCSR.repeat(torch.tensor([[0.0, 2.0]]), 2)
    crow, col = torch.tensor([0, 1, 1], dtype=torch.int32), torch.tensor([1], dtype=torch.int32)
    BatchedCSR(crow, col, torch.Size((2, 1, 3)))
    with pytest.raises(ValueError, match="dtype"):
        BatchedCSR(crow, col.long(), torch.Size((2, 1, 3)))
    with pytest.raises(ValueError, match="entries"):
        BatchedCSR(crow, col, torch.Size((1, 1, 3)))


def test_validation_errors(x):
    rng = np.random.default_rng(0)
    good_plus, good_minus = THETA_PLUS[0], THETA_MINUS[0]
    bad_rows = [([0.1, 1.2, 0.1], good_minus), ([0.1, -0.1, 0.1], good_minus),
                (good_plus, [0.1, np.nan, 0.1]), ([0.1, 0.1], good_minus)]
    for plus, minus in bad_rows:
        with pytest.raises(ValueError):
            sample_labels(x, plus, minus, 2, rng)
    graph = prepare_binary(x, LABELS, 3)
    with pytest.raises(ValueError, match="batch_size"):
        sample_prepared(graph, good_plus, good_minus, 0, rng)
    with pytest.raises(ValueError, match="generator"):
        sample_prepared(graph, good_plus, good_minus, 2, torch.Generator())
    with pytest.raises(ValueError, match="binary"):
        prepare_binary(x * 2, LABELS, 3)
    with pytest.raises(ValueError, match="labels"):
        prepare_binary(x, LABELS[:-1], 3)
    with pytest.raises(ValueError, match="labels"):
        prepare_binary(x, LABELS + 1, 3)
    with pytest.raises(ValueError):
        LocalizedNoise(LABELS, THETA_PLUS, THETA_MINUS[:2])
    with pytest.raises(ValueError):
        LocalizedNoise(LABELS, THETA_PLUS[:2, :2], THETA_MINUS[:2, :2])  # label 2 >= C
    with pytest.raises(ValueError):
        LocalizedNoise(LABELS, THETA_PLUS * 2, THETA_MINUS)
    noise = LocalizedNoise(LABELS, THETA_PLUS, THETA_MINUS)
    with pytest.raises(ValueError, match="output_cluster"):
        folded_input(noise.sample(x, 3, 2, rng), 2)
    with pytest.raises(ValueError, match="different cluster labels"):
        noise.prepare(prepare_binary(x, np.zeros(N_NODES, dtype=int), 3))
    with pytest.raises(ValueError):
        bernoulli_positions(10, 1.5, rng)
