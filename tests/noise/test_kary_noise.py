"""K-ary categorical noise (docs/theory.md §9, localized as docs/theory.md §2): marginals,
independence, the one-hot layout the models consume, seeding, and the engine end to end."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnn_models import get_model
from gnn_models.batching import BatchedCSR
from graphcert.noise.kary import (
    CategoricalGraph,
    KaryNoise,
    localized_kary_noise,
    prepare_categorical,
)
from graphcert.sampling.batching import folded_input
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig

N_NODES = 9
N_VALUES = np.array([2, 3, 5, 4])
LABELS = np.repeat([0, 1, 2], 3)
# rows: output cluster, columns: input cluster; covers keep 0 and 1
KEEP = np.array([[0.9, 0.4, 0.0],
                 [0.2, 1.0, 0.6],
                 [0.5, 0.5, 0.5]])
N_COPIES = 4000


def within(rate, p, n: int, sigmas: float = 5.0) -> np.ndarray:
    return np.abs(rate - p) <= sigmas * np.sqrt(p * (1 - p) / n) + 1e-12


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, N_VALUES, size=(N_NODES, N_VALUES.size))


@pytest.fixture(scope="module")
def noisy(x) -> dict[int, np.ndarray]:
    """N_COPIES noisy copies per output cluster, decoded to values (B, N, F)."""
    noise = KaryNoise(LABELS, KEEP, N_VALUES)
    graph = noise.prepare(x)
    rng = np.random.default_rng(1)
    return {k: decode(noise.sample(graph, k, N_COPIES, rng), graph) for k in range(3)}


def decode(z: torch.Tensor, graph: CategoricalGraph) -> np.ndarray:
    """One-hot CSR (B * N, sum K) -> values (B, N, F), checking one 1 per feature block."""
    dense = z.to_dense().numpy()
    out = []
    for start, k in zip(graph.offsets, graph.n_values, strict=True):
        block = dense[:, start:start + k]
        assert (block.sum(axis=1) == 1).all()
        out.append(block.argmax(axis=1))
    return np.stack(out, axis=1).reshape(-1, N_NODES, len(graph.n_values))


@pytest.mark.parametrize("k", range(3))
def test_value_marginals_per_cluster_pair(x, noisy, k):
    """Pr[z = x] = keep + (1 - keep) / K and Pr[z = v] = (1 - keep) / K for each v != x."""
    z = noisy[k]
    for node in range(N_NODES):
        a = KEEP[k, LABELS[node]]
        for f, n_values in enumerate(N_VALUES):
            freq = np.bincount(z[:, node, f], minlength=n_values) / N_COPIES
            want = np.full(n_values, (1 - a) / n_values)
            want[x[node, f]] += a
            assert within(freq, want, N_COPIES).all(), (k, node, f, freq, want)


def test_keep_one_is_exact(x, noisy):
    z = noisy[1][:, LABELS == 1]
    np.testing.assert_array_equal(z, np.broadcast_to(x[LABELS == 1], z.shape))


def test_coordinates_are_pairwise_independent(x, noisy):
    z = noisy[2]  # keep 0.5 everywhere
    same = z == x[None]
    flat = same.reshape(N_COPIES, -1)
    p = flat.mean(axis=0)
    joint = flat.T.astype(float) @ flat.astype(float) / N_COPIES
    off = ~np.eye(p.size, dtype=bool)
    assert within(joint[off], np.outer(p, p)[off], N_COPIES, 5.5).all()


def test_copies_differ_and_seeding_reproduces(x):
    noise = KaryNoise.isotropic(N_NODES, 0.3, N_VALUES)
    a = noise.sample(x, 0, 5, np.random.default_rng(7))
    b = noise.sample(torch.as_tensor(x), 0, 5, np.random.default_rng(7))
    assert torch.equal(a.crow_indices(), b.crow_indices())
    assert torch.equal(a.col_indices(), b.col_indices())
    copies = a.to_dense().view(5, N_NODES, -1)
    assert not all(torch.equal(copies[0], copies[i]) for i in range(1, 5))
    assert noise.describe()["kind"] == "kary" and noise.n_clusters == 1


def test_one_hot_layout_and_scalar_n_values(x):
    graph = prepare_categorical(x % 2, 2)
    np.testing.assert_array_equal(graph.n_values, [2, 2, 2, 2])
    np.testing.assert_array_equal(graph.offsets, [0, 2, 4, 6])
    clean = graph.one_hot()
    assert clean.layout == torch.sparse_csr and clean.shape == (N_NODES, 8)
    dense = clean.to_dense()
    for f in range(4):
        np.testing.assert_array_equal(dense[:, 2 * f + 1].numpy(), x[:, f] % 2)
    z = KaryNoise.isotropic(N_NODES, 0.5, 2).sample(graph, 0, 3, np.random.default_rng(0))
    assert z.shape == (3 * N_NODES, 8) and z.crow_indices().dtype == z.col_indices().dtype
    assert (z.crow_indices().diff() == 4).all()
    cols = z.col_indices().view(-1, 4)
    assert (cols.diff(dim=1) > 0).all()  # sorted within rows, one column per feature block


def test_one_hot_copies_feed_the_folded_models_exactly(x):
    noise = KaryNoise(LABELS, KEEP, N_VALUES)
    z = noise.sample(x, 2, 6, np.random.default_rng(4))
    folded = folded_input(z, 6)
    assert isinstance(folded, BatchedCSR) and folded.shape == (6, N_NODES, int(N_VALUES.sum()))
    path = torch.arange(N_NODES - 1)
    edge_index = torch.stack([torch.cat([path, path + 1]), torch.cat([path + 1, path])])
    for name in ("appnp", "gcn"):
        torch.manual_seed(0)
        model = get_model(name, int(N_VALUES.sum()), 3).eval()
        with torch.no_grad():
            fast = model(folded, edge_index)
            dense = model(folded.to_dense(), edge_index)
        assert torch.allclose(fast, dense, atol=1e-5)


class FirstFeatureModel(torch.nn.Module):
    """Class 1 iff the node's first feature reads its clean value 0: votes are Bernoulli with
    p = keep + (1 - keep) / K_0 for nodes whose clean value is 0."""

    def forward(self, x, edge_index):
        hit = x.to_dense()[..., 0]
        return torch.stack([torch.zeros_like(hit), 4 * hit - 2], -1)


def test_engine_runs_and_resumes_with_kary_noise(tmp_path):
    x = np.zeros((N_NODES, N_VALUES.size), dtype=np.int64)
    noise = KaryNoise(LABELS, KEEP, N_VALUES)
    config = MonteCarloConfig(n_samples=2000, n_pre=100, chunk_size=500, batch_size=64,
                              n_bins=1, seed=3)
    stats = smooth(FirstFeatureModel().eval(), x, None, noise, config, progress=False,
                   checkpoint=tmp_path / "stats.npz")
    again = smooth(FirstFeatureModel().eval(), x, None, noise, config, progress=False,
                   checkpoint=tmp_path / "stats.npz")
    np.testing.assert_array_equal(stats.votes, again.votes)
    a = KEEP[LABELS, LABELS]
    p = a + (1 - a) / N_VALUES[0]
    assert within(stats.votes[:, 1] / stats.n, p, config.n_samples).all()
    # another keep matrix is another distribution: its checkpoint is set aside, never merged
    other = KaryNoise(LABELS, KEEP * 0.5, N_VALUES)
    fresh = smooth(FirstFeatureModel().eval(), x, None, other, config, progress=False,
                   checkpoint=tmp_path / "stats.npz")
    assert (tmp_path / "stats.stale-1.npz").exists() and fresh.noise == other.describe()


def test_validation(x):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="x\\[0, 0\\] == 5, must be < n_values\\[0\\] == 2"):
        prepare_categorical(np.full((2, 4), 5), N_VALUES)
    with pytest.raises(ValueError, match="n_values must be one int or one per feature"):
        prepare_categorical(x, [3, 3])
    with pytest.raises(ValueError, match="n_values must be >= 2"):
        prepare_categorical(x, 1)
    with pytest.raises(ValueError, match="x must be >= 0"):
        prepare_categorical(-np.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="2-D"):
        prepare_categorical(np.zeros(3, dtype=int), 3)
    with pytest.raises(ValueError, match="whole numbers"):
        prepare_categorical(np.full((2, 2), 0.5), 3)
    with pytest.raises(ValueError, match="keep"):
        KaryNoise(LABELS, np.full((3, 2), 0.5), 3)
    with pytest.raises(ValueError, match="keep must lie in"):
        KaryNoise(LABELS, np.full((3, 3), 1.5), 3)
    with pytest.raises(ValueError, match="labels must lie in"):
        KaryNoise(LABELS + 1, KEEP, 3)
    with pytest.raises(ValueError, match="labels must hold integer ids"):
        KaryNoise(LABELS.astype(float), KEEP, 3)
    noise = KaryNoise(LABELS, KEEP, N_VALUES)
    with pytest.raises(ValueError, match="output_cluster"):
        noise.sample(x, 3, 2, rng)
    with pytest.raises(ValueError, match="batch_size"):
        noise.sample(x, 0, 0, rng)
    with pytest.raises(ValueError, match="generator"):
        noise.sample(x, 0, 2, torch.Generator())
    with pytest.raises(ValueError, match="other n_values"):
        noise.prepare(prepare_categorical(x, 9))
    with pytest.raises(ValueError, match="nodes"):
        noise.prepare(x[:4])


def test_localized_kary_noise_schedules_keep_by_affinity():
    ring = torch.tensor([[i for i in range(12)], [(i + 1) % 12 for i in range(12)]])
    edge_index = torch.cat([ring, ring.flip(0)], dim=1)
    noise = localized_kary_noise(edge_index, 12, 3, keep=0.8, keep_far=0.2, n_values=4)
    assert noise.keep.shape == (3, 3) and np.all(np.diag(noise.keep) == 0.8)
    assert noise.keep.min() == pytest.approx(0.2) and np.unique(noise.labels).size == 3
    single = localized_kary_noise(edge_index, 12, 1, keep=0.8, keep_far=0.2, n_values=4)
    assert single.keep.tolist() == [[0.8]]
    with pytest.raises(ValueError, match=r"^keep_far == 0.9 > keep == 0.8: the own cluster"):
        localized_kary_noise(edge_index, 12, 3, keep=0.8, keep_far=0.9, n_values=4)
