"""Pair-local edge filters commute with independent pair noise (docs/theory.md §13).

A 5-node graph has 10 node pairs, so every one of the 2^10 structure-noise outcomes can be
listed with its exact probability. "Noise, then filter" (`PairFilter.apply`, the filter a
base classifier runs) gives an exact distribution of filtered graphs; the direct sampler
(`FilteredStructureNoise`) must have exactly that law.
"""
from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy import stats

from graphcert.noise.pair_filter import (
    FilteredStructureNoise,
    PairFilter,
    feature_matrix,
    pair_similarity,
    similar_pairs,
)
from graphcert.noise.structure import StructureNoise
from graphcert.utils.pairs import pair_column

# rows share features so that some pairs reach Jaccard 1/3 .. 1 and others 0
FEATURES = torch.tensor([[1, 1, 0, 0, 0, 1],
                         [1, 1, 1, 0, 0, 0],
                         [0, 1, 1, 1, 0, 0],
                         [0, 0, 0, 1, 1, 0],
                         [1, 0, 0, 1, 1, 1]], dtype=torch.float32)
EDGES = np.array([[0, 0, 1, 2, 3], [1, 3, 2, 3, 4]])
PAIRS = list(itertools.combinations(range(5), 2))
N_DRAWS = 20000


def noise_outcomes(structure: StructureNoise, output_cluster: int):
    """Every noisy graph (as its pair set) with its exact probability."""
    clean = {tuple(e) for e in structure.edge_index.T}
    labels, k = structure.labels, output_cluster
    for bits in itertools.product((0, 1), repeat=len(PAIRS)):
        prob, present = 1.0, []
        for (u, v), bit in zip(PAIRS, bits, strict=True):
            column = pair_column(labels[u], labels[v], structure.n_clusters)
            p_on = (1 - structure.p_minus[k, column]) if (u, v) in clean \
                else structure.p_plus[k, column]
            prob *= p_on if bit else 1 - p_on
            if bit:
                present.append((u, v))
        yield prob, present


def filtered_law(structure: StructureNoise, pair_filter: PairFilter, output_cluster: int
                 ) -> dict[frozenset, float]:
    """Exact law of filter(noisy graph), by listing the noise outcomes."""
    features = feature_matrix(FEATURES, pair_filter.measure)
    law: dict[frozenset, float] = Counter()
    for prob, present in noise_outcomes(structure, output_cluster):
        edges = np.array(present, dtype=np.int64).reshape(-1, 2).T
        both = np.concatenate([edges, edges[::-1]], axis=1)
        kept = pair_filter.apply(features, both)
        law[frozenset((int(a), int(b)) for a, b in kept.T if a < b)] += prob
    return law


def sampled_graphs(noise: FilteredStructureNoise, output_cluster: int) -> Counter:
    edges = noise.sample_edges(output_cluster, N_DRAWS, np.random.default_rng(5)).numpy()
    copy, u, v = edges[0] // 5, edges[0] % 5, edges[1] % 5
    graphs = [set() for _ in range(N_DRAWS)]
    for c, a, b in zip(copy, u, v, strict=True):
        if a < b:
            graphs[c].add((int(a), int(b)))
    return Counter(frozenset(g) for g in graphs)


def product_law(noise: FilteredStructureNoise, output_cluster: int) -> dict[frozenset, float]:
    """The law the sampler claims: independent pairs, always pairs fixed (docs/theory.md §13)."""
    t, s, k = noise._tables, noise.structure, output_cluster
    free = [((int(u), int(v)), 1 - s.p_minus[k, b]) for u, v, b in
            zip(t["edge_u"], t["edge_v"], t["edge_block"], strict=True)]
    free += [((int(u), int(v)), s.p_plus[k, b]) for u, v, b in
             zip(t["absent_u"], t["absent_v"], t["absent_block"], strict=True)]
    fixed = {(int(u), int(v)) for u, v in zip(t["always_u"], t["always_v"], strict=True)}
    law = {}
    for bits in itertools.product((0, 1), repeat=len(free)):
        prob = np.prod([p if bit else 1 - p for (_, p), bit in zip(free, bits, strict=True)])
        graph = fixed | {pair for (pair, _), bit in zip(free, bits, strict=True) if bit}
        law[frozenset(graph)] = law.get(frozenset(graph), 0.0) + prob
    return law


CASES = {
    "isotropic, jaccard": (StructureNoise.isotropic(EDGES, 5, 0.3, 0.6),
                           PairFilter(0.25, "jaccard")),
    "isotropic, always": (StructureNoise.isotropic(EDGES, 5, 0.3, 0.6),
                          PairFilter(0.2, "jaccard", always=0.5)),
    "localized, cosine": (StructureNoise(EDGES, np.array([0, 0, 1, 1, 1]),
                                         np.array([[0.4, 0.1, 0.2], [0.05, 0.3, 0.5]]),
                                         np.array([[0.2, 0.7, 0.5], [0.9, 0.4, 0.1]])),
                          PairFilter(0.4, "cosine")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_direct_law_equals_noise_then_filter_exactly(case):
    structure, pair_filter = CASES[case]
    noise = FilteredStructureNoise(structure, pair_filter, FEATURES)
    for k in range(structure.n_clusters):
        exact = filtered_law(structure, pair_filter, k)
        claimed = product_law(noise, k)
        assert set(exact) == {g for g, p in claimed.items() if p > 0} | \
            {g for g, p in exact.items() if p == 0}
        for graph, prob in exact.items():
            assert claimed.get(graph, 0.0) == pytest.approx(prob, abs=1e-12)
        assert sum(exact.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("case", sorted(CASES))
def test_sampler_draws_the_filtered_law(case):
    """Chi-square of the sampler's graph frequencies against the enumerated law."""
    structure, pair_filter = CASES[case]
    noise = FilteredStructureNoise(structure, pair_filter, FEATURES)
    for k in range(structure.n_clusters):
        exact = {g: p for g, p in filtered_law(structure, pair_filter, k).items() if p > 0}
        drawn = sampled_graphs(noise, k)
        assert set(drawn) <= set(exact)  # no graph the law rules out
        graphs = sorted(exact, key=sorted)
        observed = np.array([drawn.get(g, 0) for g in graphs])
        expected = np.array([exact[g] for g in graphs]) * N_DRAWS
        assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_filter_drops_pairs_and_keeps_similar_ones():
    """The filter is not trivial on this graph: it keeps some pairs and drops others."""
    structure, pair_filter = CASES["isotropic, jaccard"]
    noise = FilteredStructureNoise(structure, pair_filter, FEATURES)
    kept = noise.kept_pairs
    assert 0 < kept["edges"] < EDGES.shape[1] and 0 < kept["absent"] < 10 - EDGES.shape[1]


def test_similar_pairs_match_brute_force():
    rng = np.random.default_rng(0)
    x = (rng.random((60, 30)) < 0.15).astype(np.float32)
    x[7] = 0  # a node without features
    for measure, threshold in (("jaccard", 0.2), ("jaccard", 1.0), ("cosine", 0.3)):
        features = feature_matrix(torch.from_numpy(x), measure)
        u, v = np.triu_indices(60, 1)
        sims = pair_similarity(features, u, v, measure)
        expected = np.stack([u, v])[:, sims >= threshold]
        found = similar_pairs(features, threshold, measure, rows_per_chunk=7)
        np.testing.assert_array_equal(found, expected)
    features = feature_matrix(torch.from_numpy(x), "jaccard")
    inter = (features @ features.T).toarray()
    size = np.diff(features.indptr)
    union = size[:, None] + size[None, :] - inter
    jac = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    np.testing.assert_allclose(pair_similarity(features, u, v, "jaccard"), jac[u, v])


@pytest.mark.parametrize("threshold, measure", [(0.0, "jaccard"), (1.5, "jaccard"),
                                                (-0.2, "cosine"), (float("nan"), "cosine")])
def test_threshold_out_of_range_is_an_error(threshold, measure):
    with pytest.raises(ValueError, match="threshold"):
        PairFilter(threshold, measure)


def test_bad_measure_always_and_features_are_errors():
    with pytest.raises(ValueError, match="measure"):
        PairFilter(0.5, "euclid")
    with pytest.raises(ValueError, match="always"):
        PairFilter(0.5, "jaccard", always=0.3)
    with pytest.raises(ValueError, match="binary"):
        feature_matrix(torch.tensor([[0.5, 1.0]]), "jaccard")
    with pytest.raises(ValueError, match="rows"):
        FilteredStructureNoise(StructureNoise.isotropic(EDGES, 5, 0.1, 0.1), PairFilter(0.5),
                               FEATURES[:4])


def test_features_of_any_layout_give_the_same_matrix():
    dense = feature_matrix(FEATURES, "jaccard")
    csr = feature_matrix(FEATURES.to_sparse_csr(), "jaccard")
    assert (dense != csr).nnz == 0 and isinstance(csr, sp.csr_matrix)
