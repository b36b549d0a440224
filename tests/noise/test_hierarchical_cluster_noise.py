"""Hierarchical noise with cluster-wise lower-level flips (docs/theory.md §14.1): each
selected row flips with its cluster's probabilities, the samples of one shared noise are
unchanged, and bad input is named."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from graphcert.noise.hierarchical import HierarchicalSparseNoise, hierarchical_noise
from graphcert.noise.sparse_sampler import prepare_binary

X = torch.tensor([[0, 1, 1, 0, 0, 1], [1, 0, 0, 0, 1, 1], [0, 0, 0, 1, 0, 0],
                  [1, 1, 0, 0, 0, 1]], dtype=torch.float32)
CLUSTERS = np.array([1, 0, 1, 2])
B = 20_000


def _within(observed: float, p: float, n: int) -> bool:
    return abs(observed - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12


def test_selected_rows_flip_with_their_clusters_probabilities():
    tp, tm = np.array([0.1, 0.3, 0.02]), np.array([0.4, 0.9, 0.6])
    noise = hierarchical_noise(4, 0.6, theta_plus=tp, theta_minus=tm, clusters=CLUSTERS)
    out = noise.sample(X, 0, B, np.random.default_rng(0)).to_dense().view(B, 4, 7)
    selected = out[..., 6] == 1
    assert _within(selected.float().mean().item(), 0.6, 4 * B)
    for node, j in enumerate(CLUSTERS):
        rows, sel = out[:, node, :6], selected[:, node]
        assert torch.equal(rows[~sel], X[node].expand(int((~sel).sum()), 6))
        zeros, ones = X[node] == 0, X[node] == 1
        n_sel = int(sel.sum())
        assert _within(rows[sel][:, zeros].mean().item(), tp[j], n_sel * int(zeros.sum()))
        assert _within(1 - rows[sel][:, ones].mean().item(), tm[j], n_sel * int(ones.sum()))
    again = noise.sample(X, 0, B, np.random.default_rng(0)).to_dense().view(B, 4, 7)
    assert torch.equal(out, again)
    described = noise.describe()
    assert described["theta_minus"] == tm.tolist() and len(described["clusters_sha256"]) == 64


def test_one_shared_noise_samples_are_unchanged():
    # the digest of these samples before clusters were added to the noise
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(40, 30, generator=g) < 0.2).float()
    digest = hashlib.sha256()
    for indicator in (True, False):
        noise = hierarchical_noise(40, 0.7, theta_plus=0.05, theta_minus=0.8,
                                   indicator=indicator)
        out = noise.sample(x, 0, 16, np.random.default_rng(11))
        digest.update(out.crow_indices().numpy().tobytes())
        digest.update(out.col_indices().numpy().tobytes())
    assert digest.hexdigest() == \
        "a0bda866f4609c1b7bc540c0084b46c0ee1c9b6c9c28cb121cabee298df49383"


def test_equal_cluster_probabilities_draw_the_shared_noise_law():
    noise = hierarchical_noise(4, 1.0, theta_plus=[0.2, 0.2, 0.2], theta_minus=[0.5] * 3,
                               clusters=CLUSTERS, indicator=False)
    out = noise.sample(X, 0, B, np.random.default_rng(1)).to_dense().view(B, 4, 6)
    assert _within(out[:, X == 0].mean().item(), 0.2, B * int((X == 0).sum()))
    assert _within(1 - out[:, X == 1].mean().item(), 0.5, B * int((X == 1).sum()))


@pytest.mark.parametrize("kwargs, match", [
    ({"theta_plus": [0.1, 0.2], "theta_minus": [0.5, 0.5, 0.5]}, "theta_minus"),
    ({"theta_plus": [0.1, 1.2, 0.1]}, "theta_plus"),
    ({"clusters": [0, 1, 3, 1]}, "clusters"),
    ({"clusters": [0, 1, 2]}, "clusters"),
    ({"theta_plus": [[0.1, 0.1, 0.1]]}, "theta_plus"),
])
def test_bad_cluster_input_names_the_argument(kwargs, match):
    args = {"theta_plus": [0.1, 0.1, 0.1], "theta_minus": [0.5, 0.5, 0.5],
            "clusters": CLUSTERS, **kwargs}
    with pytest.raises(ValueError, match=match):
        hierarchical_noise(4, 0.5, **args)


def test_gaussian_takes_no_clusters_and_prepared_clusters_must_match():
    with pytest.raises(ValueError, match="clusters"):
        hierarchical_noise(4, 0.5, sigma=1.0, clusters=CLUSTERS)
    noise = HierarchicalSparseNoise(4, 0.5, True, [0.1] * 3, [0.5] * 3, CLUSTERS)
    with pytest.raises(ValueError, match="clusters"):
        noise.sample(prepare_binary(X, np.zeros(4, dtype=np.int64), 1), 0, 2,
                     np.random.default_rng(0))
