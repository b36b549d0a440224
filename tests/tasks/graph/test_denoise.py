"""Denoising and abstaining base classifiers (docs/theory.md §10, §13)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnn_models import APPNPNet
from graphcert.noise.pair_filter import FilteredStructureNoise, feature_matrix, pair_similarity
from graphcert.noise.structure import StructureNoise
from graphcert.sampling.abstention import ABSTAIN, abstaining_rows, class_scores, class_votes
from graphcert.sampling.batching import BatchedModel
from graphcert.tasks.graph.denoise import (
    abstain_below,
    similarity_filter,
    top_k_neighbours,
)


class EdgeRecorder(torch.nn.Module):
    """Logits from the degree of each node; remembers the edges it was given."""

    batching = "union"

    def forward(self, x, edge_index):
        self.seen = edge_index.clone()
        degree = torch.bincount(edge_index[0], minlength=x.shape[0]).float()
        return torch.stack([degree, torch.zeros_like(degree), -degree], dim=1)


def random_graph(n=30, d=20, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy((rng.random((n, d)) < 0.2).astype(np.float32))
    u, v = np.triu_indices(n, 1)
    pick = rng.random(u.size) < 0.15
    edges = np.stack([u[pick], v[pick]])
    return x, torch.from_numpy(np.concatenate([edges, edges[::-1]], axis=1))


def test_similarity_filter_keeps_exactly_the_similar_edges():
    x, edges = random_graph()
    recorder = EdgeRecorder()
    model = similarity_filter(recorder, 0.15)
    model(x, edges)
    u, v = edges.numpy()
    sims = pair_similarity(feature_matrix(x, "jaccard"), u, v, "jaccard")
    expected = {(a, b) for a, b, s in zip(u, v, sims, strict=True) if s >= 0.15}
    assert {tuple(e) for e in recorder.seen.numpy().T} == expected
    assert 0 < len(expected) < u.size


def test_similarity_filter_with_always_adds_the_same_pairs_to_every_copy():
    x, edges = random_graph()
    recorder = EdgeRecorder()
    model = similarity_filter(recorder, 0.15, always=0.5, num_nodes=30)
    stacked = torch.cat([x, x])  # two copies, the second without edges
    model(stacked, edges)
    seen = {tuple(e) for e in recorder.seen.numpy().T}
    first = {(a % 30, b % 30) for a, b in seen if a >= 30}
    assert first and first <= {(a, b) for a, b in seen if a < 30}
    with pytest.raises(ValueError, match="num_nodes"):
        similarity_filter(recorder, 0.15, always=0.5)


def test_direct_path_is_the_filtered_law_on_a_real_model():
    """The same copies through (noise, wrapper) and (direct noise, inner model): a filtered
    graph drawn directly is a fixed point of the filter, so both give the same logits."""
    x, edges = random_graph(seed=1)
    model = similarity_filter(APPNPNet(20, 3, 8, k=3), 0.15).eval()
    structure = StructureNoise.isotropic(edges.numpy(), 30, 0.3, 0.5)
    inner, noise = model.direct(structure, x)
    assert isinstance(noise, FilteredStructureNoise) and inner is model.model
    batch = noise.sample(x, 0, 4, np.random.default_rng(0))
    with torch.no_grad():
        through_filter = BatchedModel(model, None, 30)(batch, 4)
        direct = BatchedModel(inner, None, 30)(batch, 4)
    torch.testing.assert_close(through_filter, direct)


def test_top_k_keeps_each_nodes_most_similar_edges():
    x, edges = random_graph(seed=2)
    recorder = EdgeRecorder()
    top_k_neighbours(recorder, 2)(x, edges)
    kept = {tuple(e) for e in recorder.seen.numpy().T}
    features = feature_matrix(x, "jaccard")
    u, v = edges.numpy()
    for node in range(30):
        others = v[u == node]
        sims = pair_similarity(features, np.full(others.size, node), others, "jaccard")
        best = [o for _, o in sorted(zip(-sims, others, strict=True))[:2]]
        for other in best:  # every node keeps (at least) its 2 most similar edges
            assert (node, other) in kept and (other, node) in kept
    degree = np.bincount(recorder.seen[0].numpy(), minlength=30)
    assert degree.sum() < u.size  # something was dropped


def test_abstain_below_abstains_exactly_below_the_confidence():
    class Fixed(torch.nn.Module):
        def forward(self, x, edge_index):
            return torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.8, 0.1, 0.1], [0.6, 0.2, 0.2]]))
    model = abstain_below(Fixed(), 0.6).eval()
    logits = model(torch.zeros(3, 1), torch.zeros(2, 0, dtype=torch.long))
    assert abstaining_rows(logits).tolist() == [True, False, False]
    assert class_votes(logits).tolist() == [-1, 0, 0]
    scores = class_scores(logits.numpy())
    assert scores[0].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(scores[1], [0.8, 0.1, 0.1], rtol=1e-6)
    model.train()
    assert not abstaining_rows(model(torch.zeros(3, 1), None)).any()


@pytest.mark.parametrize("confidence", [1.0, 1.5, 0.0, -0.1, float("nan")])
def test_abstention_confidence_out_of_range_is_an_error(confidence):
    with pytest.raises(ValueError, match="confidence"):
        abstain_below(EdgeRecorder(), confidence)


def test_abstention_confidence_at_or_below_one_over_c_is_an_error():
    model = abstain_below(EdgeRecorder(), 1 / 3).eval()
    x, edges = random_graph()
    with pytest.raises(ValueError, match=r"confidence must lie in \(1/C, 1\)"):
        model(x, edges)
    with pytest.raises(ValueError, match="confidence"):
        abstain_below(EdgeRecorder(), 0.25).check_classes(3)


def test_filter_threshold_out_of_range_is_an_error():
    for threshold in (0.0, 1.01, -1.0):
        with pytest.raises(ValueError, match="threshold"):
            similarity_filter(EdgeRecorder(), threshold)
    with pytest.raises(ValueError, match="k"):
        top_k_neighbours(EdgeRecorder(), 0)


def test_abstain_rows_are_all_minus_infinity():
    row = torch.full((1, 4), ABSTAIN)
    assert abstaining_rows(row).item() and not abstaining_rows(torch.zeros(1, 4)).item()


def test_filter_and_abstention_settings_are_part_of_the_fingerprint():
    from graphcert.sampling.fingerprint import scores_fingerprint
    x, edges = random_graph()

    def fingerprint(model):
        torch.manual_seed(0)
        return scores_fingerprint(model, x, edges)

    inner = APPNPNet(20, 3, 8, k=3)
    prints = [fingerprint(inner), fingerprint(similarity_filter(inner, 0.2)),
              fingerprint(similarity_filter(inner, 0.3)),
              fingerprint(similarity_filter(inner, 0.3, "cosine")),
              fingerprint(similarity_filter(inner, 0.3, always=0.6, num_nodes=30)),
              fingerprint(abstain_below(inner, 0.5)), fingerprint(abstain_below(inner, 0.6)),
              fingerprint(top_k_neighbours(inner, 2)), fingerprint(top_k_neighbours(inner, 3))]
    assert len(set(prints)) == len(prints)
    assert fingerprint(abstain_below(inner, 0.5)) == prints[5]


def test_public_names():
    import graphcert
    assert graphcert.abstain_below is abstain_below
    assert graphcert.denoise.similarity_filter is similarity_filter
    from graphcert.denoise import fit_edge_embedding, top_k_neighbours  # noqa: F401
