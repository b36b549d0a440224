"""Structure noise on node pairs, isotropic and localized (docs/theory.md §8)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from graphcert.data.clustering import affinity_ranks, cluster_affinity, undirected_edges
from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.structure import (
    ProductNoise,
    StructureNoise,
    cluster_pairs,
    localized_structure_noise,
    pair_column,
    pair_schedule,
    tile_features,
)
from graphcert.sampling.chunks import noisy_batches
from graphcert.utils.pairs import pair_counts

N_COPIES = 4000
SIZES = (10, 8, 6)  # cluster 2 is dense: most of its pairs are edges (the listing path)
# rows: output cluster, columns: cluster pairs (0,0) (0,1) (0,2) (1,1) (1,2) (2,2)
P_PLUS = np.array([[0.05, 0.02, 0.00, 0.20, 0.10, 0.30],
                   [0.70, 0.05, 1.00, 0.10, 0.00, 0.05],
                   [0.00, 0.00, 0.00, 0.00, 0.00, 0.00]])
P_MINUS = np.array([[0.30, 0.90, 0.00, 0.50, 1.00, 0.20],
                    [0.10, 0.60, 0.40, 0.00, 0.75, 0.50],
                    [1.00, 1.00, 1.00, 1.00, 1.00, 1.00]])


def random_graph(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled labels and a random graph (2, E), i < j; dense inside cluster 2."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(3), SIZES))
    pairs = np.array(list(itertools.combinations(range(labels.size), 2))).T
    inside_2 = (labels[pairs[0]] == 2) & (labels[pairs[1]] == 2)
    edges = pairs[:, rng.random(pairs.shape[1]) < np.where(inside_2, 0.8, 0.15)]
    return labels, edges


def pair_keys(edge_index: np.ndarray, n_nodes: int) -> np.ndarray:
    return np.minimum(*edge_index) * n_nodes + np.maximum(*edge_index)


@pytest.fixture(scope="module")
def graph():
    return random_graph(0)


@pytest.fixture(scope="module")
def samples(graph):
    """Per output cluster: (N_COPIES, N * N) 0/1 indicator of the unordered pairs present."""
    labels, edges = graph
    noise = StructureNoise(torch.from_numpy(np.hstack([edges, edges[::-1]])), labels,
                           P_PLUS, P_MINUS)
    n = labels.size
    out = {}
    for k in range(3):
        edge_index = noise.sample_edges(k, N_COPIES, np.random.default_rng(10 + k)).numpy()
        copy = edge_index[0] // n
        u, v = edge_index % n
        present = np.zeros((N_COPIES, n * n), dtype=np.int64)
        np.add.at(present, (copy, u * n + v), 1)
        out[k] = (edge_index, present)
    return out


def block_pairs(labels: np.ndarray, a: int, b: int) -> np.ndarray:
    """Keys i * N + j, i < j, of the pairs of cluster pair {a, b}."""
    n = labels.size
    i, j = np.triu_indices(n, 1)
    inside = ((labels[i] == a) & (labels[j] == b)) | ((labels[i] == b) & (labels[j] == a))
    return i[inside] * n + j[inside]


def test_edge_index_is_a_valid_disjoint_union(graph, samples):
    labels, _ = graph
    n = labels.size
    for edge_index, present in samples.values():
        src, dst = edge_index
        assert (src // n == dst // n).all()  # no edge between copies
        assert (src != dst).all()  # no self-loops
        copy = src // n
        assert (np.diff(copy) >= 0).all()  # grouped by copy
        both = present.reshape(N_COPIES, n, n)
        assert both.max() <= 1  # no pair added twice, no duplicate direction
        assert np.array_equal(both, both.transpose(0, 2, 1))  # both directions


@pytest.mark.parametrize("k", [0, 1, 2])
def test_added_pairs_per_block_chi_square(graph, samples, k):
    """Added pairs per copy and block ~ Bin(absent, p_plus) (chi-square on the counts), each
    absent pair added with probability p_plus (chi-square over the block's pairs)."""
    labels, edges = graph
    _, present = samples[k]
    clean = set(pair_keys(edges, labels.size))
    for col, (a, b) in enumerate(zip(*cluster_pairs(3), strict=True)):
        pairs = block_pairs(labels, a, b)
        absent = np.array([p for p in pairs if p not in clean])
        p = P_PLUS[k, col]
        hits = present[:, absent]
        if p in (0.0, 1.0):
            assert (hits == p).all(), (k, a, b)
            continue
        counts = hits.sum(1)
        support = np.arange(absent.size + 1)
        expected = N_COPIES * stats.binom.pmf(support, absent.size, p)
        observed = np.bincount(counts, minlength=absent.size + 1)
        lumped_obs, lumped_exp = _lump(observed, expected)
        chi2 = ((lumped_obs - lumped_exp) ** 2 / lumped_exp).sum()
        assert stats.chi2.sf(chi2, lumped_obs.size - 1) > 1e-4, (k, a, b)
        per_pair = hits.sum(0)
        chi2 = ((per_pair - N_COPIES * p) ** 2 / (N_COPIES * p * (1 - p))).sum()
        assert stats.chi2.sf(chi2, absent.size) > 1e-4, (k, a, b)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_every_edge_kept_with_one_minus_p_minus(graph, samples, k):
    labels, edges = graph
    _, present = samples[k]
    n = labels.size
    for col, (a, b) in enumerate(zip(*cluster_pairs(3), strict=True)):
        inside = np.isin(pair_keys(edges, n), block_pairs(labels, a, b))
        kept = present[:, pair_keys(edges[:, inside], n)].sum(0)
        keep = 1.0 - P_MINUS[k, col]
        if keep in (0.0, 1.0):
            assert (kept == keep * N_COPIES).all()
            continue
        chi2 = ((kept - N_COPIES * keep) ** 2 / (N_COPIES * keep * (1 - keep))).sum()
        assert stats.chi2.sf(chi2, kept.size) > 1e-4, (k, a, b)


def test_pairs_are_pairwise_independent(graph, samples):
    """Two absent pairs of one block (dependent if the placement were not exact) and an
    edge with an absent pair: joint frequencies are the products of the marginals."""
    labels, edges = graph
    _, present = samples[0]
    clean = set(pair_keys(edges, labels.size))
    absent = [p for p in block_pairs(labels, 1, 1) if p not in clean][:2]  # p_plus 0.2
    edge = pair_keys(edges, labels.size)[0]
    for first, second in ((absent[0], absent[1]), (absent[0], edge)):
        x, y = present[:, first], present[:, second]
        cov = np.mean(x * y) - x.mean() * y.mean()
        assert abs(cov) < 5 * x.std() * y.std() / np.sqrt(N_COPIES) + 1e-12


def test_both_placement_paths_agree_in_law(graph, monkeypatch):
    """Listing the absent pairs (Bernoulli per pair) and rejection sampling give the same
    added-pair frequencies on the same block."""
    import graphcert.noise.structure as structure
    labels, edges = graph
    rates = []
    for share in (0.0, 2.0):  # 0: always rejection; 2: always listing
        monkeypatch.setattr(structure, "_DENSE_SHARE", share)
        noise = StructureNoise(edges, labels, np.full((3, 6), 0.15), np.zeros((3, 6)))
        out = noise.sample_edges(0, 3000, np.random.default_rng(3)).numpy()
        rates.append((out.shape[1] // 2 - 3000 * edges.shape[1]) / 3000)
    absent = labels.size * (labels.size - 1) // 2 - edges.shape[1]
    sd = np.sqrt(absent * 0.15 * 0.85 / 3000)
    for rate in rates:
        assert abs(rate - 0.15 * absent) < 5 * sd


def test_seeding_reproduces_and_copies_differ(graph):
    labels, edges = graph
    noise = StructureNoise(edges, labels, P_PLUS, P_MINUS)
    first = noise.sample_edges(0, 3, np.random.default_rng(5))
    again = noise.sample_edges(0, 3, np.random.default_rng(5))
    assert torch.equal(first, again)
    copies = [set(map(tuple, (first[:, first[0] // labels.size == c] % labels.size).T.tolist()))
              for c in range(3)]
    assert copies[0] != copies[1] != copies[2]


def test_prefetch_gives_the_same_batches(graph):
    labels, edges = graph
    noise = StructureNoise(edges, labels, P_PLUS, P_MINUS)
    x = noise.prepare(torch.eye(labels.size))
    runs = [list(noisy_batches(noise, x, 1, [4, 4, 2], np.random.default_rng(0), prefetch))
            for prefetch in (False, True)]
    for plain, fetched in zip(*runs, strict=True):
        assert torch.equal(plain.edge_index, fetched.edge_index)
        assert plain.batch_size == fetched.batch_size


def test_structure_only_copies_keep_the_clean_features(graph):
    labels, edges = graph
    x = torch.rand(labels.size, 5)
    x[x < 0.5] = 0
    noise = StructureNoise.isotropic(edges, labels.size, 0.1, 0.2)
    out = noise.sample(x, 0, 3, np.random.default_rng(0))
    assert out.x.layout == torch.sparse_csr and out.batch_size == 3
    assert torch.equal(out.x.to_dense(), x.repeat(3, 1))
    ones = (x > 0).float()
    assert torch.equal(tile_features(ones, 2).to_dense(), ones.repeat(2, 1))


def test_product_noise_draws_attributes_and_structure(graph):
    labels, edges = graph
    rng = np.random.default_rng(0)
    x = torch.from_numpy((rng.random((labels.size, 6)) < 0.3).astype(np.float32))
    attributes = LocalizedNoise(labels, np.full((3, 3), 0.1), np.full((3, 3), 0.4))
    structure = StructureNoise(edges, labels, P_PLUS, P_MINUS)
    noise = ProductNoise(attributes, structure)
    out = noise.sample(noise.prepare(x), 0, 2000, np.random.default_rng(1))
    z = out.x.to_dense().reshape(2000, labels.size, 6)
    ones, zeros = x.bool(), ~x.bool()
    assert abs((z.bool() & zeros).sum().item() / (2000 * zeros.sum().item()) - 0.1) < 0.005
    assert abs((~z.bool() & ones).sum().item() / (2000 * ones.sum().item()) - 0.4) < 0.01
    # the structure part is the structure noise's own draw after the attributes
    replay = np.random.default_rng(1)
    attributes.sample(attributes.prepare(x), 0, 2000, replay)
    assert torch.equal(out.edge_index, structure.sample_edges(0, 2000, replay))
    assert noise.describe()["structure"] == structure.describe()
    other = LocalizedNoise(np.zeros(labels.size, dtype=np.int64), np.full((1, 1), 0.1),
                           np.full((1, 1), 0.4))
    with pytest.raises(ValueError, match="same cluster labels"):
        ProductNoise(other, structure)


def test_pair_schedule_uses_the_nearer_endpoint():
    ranks = np.array([[0, 2, 1], [1, 0, 2], [2, 1, 0]])
    plus = pair_schedule(ranks, 0.1, 0.5)
    a, b = cluster_pairs(3)
    for k in range(3):
        for col in range(6):
            r = min(ranks[k, a[col]], ranks[k, b[col]])
            assert plus[k, col] == pytest.approx(0.1 + 0.4 * r / 2)
    assert pair_schedule(np.zeros((1, 1), dtype=int), 0.3, 0.9).tolist() == [[0.3]]
    assert [pair_column(x, y, 3) for x, y in zip(a, b, strict=True)] == list(range(6))
    assert pair_column(2, 0, 3) == pair_column(0, 2, 3)


def test_pair_counts_count_pairs_and_edges(graph):
    labels, edges = graph
    absent, present = pair_counts(undirected_edges(edges, labels.size), labels, 3)
    keys = set(pair_keys(edges, labels.size))
    for col, (a, b) in enumerate(zip(*cluster_pairs(3), strict=True)):
        pairs = block_pairs(labels, a, b)
        assert present[col] == sum(p in keys for p in pairs)
        assert absent[col] + present[col] == pairs.size
    affinity = cluster_affinity(edges, labels, 3)
    assert present.sum() == np.triu(affinity).sum()


def test_localized_constructor_and_describe(graph):
    labels, edges = graph
    ranks = affinity_ranks(cluster_affinity(edges, labels, 3))
    noise = localized_structure_noise(edges, labels, 3, 0.01, (0.2, 0.8))
    assert np.allclose(noise.p_minus, pair_schedule(ranks, 0.2, 0.8))
    assert noise.describe()["kind"] == "localized_structure"
    assert np.allclose(noise.p_plus, 0.01)
    shifted = localized_structure_noise(edges[:, 1:], labels, 3, 0.01, (0.2, 0.8))
    assert noise.describe() != shifted.describe()


@pytest.mark.parametrize("kwargs, message", [
    (dict(p_plus=np.full((3, 5), 0.1)), r"p_plus must have shape \(3, 6\)"),
    (dict(p_minus=np.full((3, 6), 1.5)), "p_minus must lie in"),
    (dict(labels=np.full(24, 3)), r"labels must lie in \[0, 3\)"),
])
def test_bad_input_raises(graph, kwargs, message):
    labels, edges = graph
    args = dict(edge_index=edges, labels=labels, p_plus=P_PLUS, p_minus=P_MINUS) | kwargs
    with pytest.raises(ValueError, match=message):
        StructureNoise(**args)


def test_bad_sample_arguments_raise(graph):
    labels, edges = graph
    noise = StructureNoise(edges, labels, P_PLUS, P_MINUS)
    with pytest.raises(ValueError, match="output_cluster"):
        noise.sample_edges(3, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size"):
        noise.sample_edges(0, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="x must be"):
        noise.prepare(torch.ones(3, 2))


def test_graph_without_edges_and_single_node_clusters():
    labels = np.array([0, 1, 1, 2])
    noise = StructureNoise(np.zeros((2, 0), dtype=np.int64), labels, np.full((3, 6), 1.0),
                           np.zeros((3, 6)))
    out = noise.sample_edges(0, 2, np.random.default_rng(0)).numpy()
    assert out.shape == (2, 2 * 2 * 6)  # complete graph on 4 nodes, twice
    isolated = StructureNoise(np.zeros((2, 0), dtype=np.int64), np.zeros(1, dtype=np.int64),
                              np.full((1, 1), 0.5), np.full((1, 1), 0.5))
    assert isolated.sample_edges(0, 3, np.random.default_rng(0)).shape == (2, 0)


def _lump(observed: np.ndarray, expected: np.ndarray, least: float = 5.0):
    """Merge neighbouring cells until each expects at least `least` counts."""
    obs, exp, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, expected, strict=True):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= least:
            obs.append(acc_o)
            exp.append(acc_e)
            acc_o = acc_e = 0.0
    obs[-1] += acc_o
    exp[-1] += acc_e
    return np.array(obs), np.array(exp)
