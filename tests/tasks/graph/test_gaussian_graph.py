"""Localized Gaussian smoothing of continuous graphs: checked against exact computations.

A linear "GNN" (logit of class 1 = (A x v)_n + b, class 0 = 0) under Gaussian noise has an
exactly Gaussian logit, so the smoothed probability, the worst perturbation inside a
certified region and the outcome of any shared perturbation are exact (Phi).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import beta, norm

from graphcert.certificates.collective import l2_certified_counts
from graphcert.cli import main
from graphcert.noise.gaussian import GraphGaussian, localized_gaussian_noise
from graphcert.sampling.batching import batch_for_memory
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.tasks.graph.gaussian import (
    gaussian_certificate,
    gaussian_result,
    l2_budget_grid,
)

N, D = 36, 3
LABELS = np.arange(N) // 12  # three clusters of 12 nodes
SIGMA = np.array([[0.4, 0.7, 1.0], [0.7, 0.4, 0.7], [1.0, 0.7, 0.4]])
ALPHA = 0.01


class LinearGNN(torch.nn.Module):
    """logits (..., N, 2) = [0, A z v + b]: an exactly Gaussian logit under Gaussian noise."""

    batching = "folded"  # takes (B, N, D) copies

    def __init__(self, a: np.ndarray, v: np.ndarray, b: float):
        super().__init__()
        self.a, self.v, self.b = torch.tensor(a).float(), torch.tensor(v).float(), b

    def forward(self, z, edge_index):
        logit = self.a @ (z @ self.v)[..., None] + self.b
        return torch.cat([torch.zeros_like(logit), logit], -1)


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(7)
    a = (rng.random((N, N)) < 0.15) * rng.random((N, N)) + np.eye(N)
    a /= a.sum(1, keepdims=True)
    v, b = rng.normal(size=D), 0.1
    x = rng.normal(size=(N, D)) * 0.8
    model = LinearGNN(a, v, b).eval()
    noise = GraphGaussian(LABELS, SIGMA)
    config = MonteCarloConfig(n_samples=3000, n_pre=200, chunk_size=1500, batch_size=500,
                              n_bins=1, seed=11)
    stats = smooth(model, torch.tensor(x).float(), None, noise, config, progress=False)
    return a, v, b, x, noise, stats


def exact_margin(a, v, b, x, delta=None):
    """(N, C) mean / std of the class-1 logit of node n under the distribution of cluster k."""
    z = x if delta is None else x + delta
    mean = a @ (z @ v) + b
    std = np.sqrt((a**2 * (v @ v)) @ (SIGMA[:, LABELS].T**2))  # (N, C)
    return mean[:, None] / std


def own(matrix):
    return matrix[np.arange(N), LABELS]


def test_sampling_matches_exact_probabilities(linear):
    a, v, b, x, noise, stats = linear
    p1 = own(norm.cdf(exact_margin(a, v, b, x)))
    freq = stats.votes[:, 1] / stats.n
    assert np.all(np.abs(freq - p1) <= 5 * np.sqrt(p1 * (1 - p1) / stats.n) + 1e-3)


def test_certified_perturbations_keep_the_exact_prediction(linear):
    a, v, b, x, noise, stats = linear
    targets = np.arange(N)
    cert = gaussian_certificate(stats, targets, ALPHA)
    margin = own(exact_margin(a, v, b, x))
    exact_class = (margin > 0).astype(int)
    ok = ~cert.abstained
    assert ok.sum() >= N // 3
    assert np.all(cert.predicted[ok] == exact_class[ok])
    # eta <= Phi^-1(p)^2 = margin^2: certified region inside the exact robust region
    assert np.all(cert.eta[ok] <= margin[ok] ** 2)
    for n in np.flatnonzero(ok):  # the worst perturbation of radius^2 just below eta_n
        k = LABELS[n]
        sign = 1 if exact_class[n] == 1 else -1
        direction = -sign * SIGMA[k, LABELS][:, None] ** 2 * a[n][:, None] * v[None, :]
        scale = np.sqrt(np.sum(direction**2 / SIGMA[k, LABELS][:, None] ** 2))
        delta = direction / scale * np.sqrt(cert.eta[n] * (1 - 1e-9))
        assert np.sign(exact_margin(a, v, b, x, delta)[n, k]) == sign


def test_collective_is_sound_and_at_least_naive(linear):
    a, v, b, x, noise, stats = linear
    targets = np.arange(N)
    result = gaussian_result(stats, noise, np.asarray(exact_margin(a, v, b, x)[:, 0] > 0, int),
                             targets, alpha=ALPHA, step=0.05, relax=False, milp_bins=None)
    curve = result.curves["l2"]
    naive, coll = np.array(curve.naive), np.array(curve.collective)
    assert np.all(coll >= naive) and coll[-1] == 0 and naive[-1] == 0
    assert np.any(coll > naive)
    assert np.all(np.diff(coll) <= 0) and np.all(np.diff(naive) <= 0)
    assert 0 < curve.acr("naive") <= curve.acr("collective")
    correct = result.correct & ~result.abstained
    rng = np.random.default_rng(0)
    for eps, certified in zip(curve.budgets, coll, strict=True):  # shared perturbations of norm eps
        for trial in range(20):
            delta = rng.normal(size=(N, D)) * (rng.random(3) ** 3)[LABELS][:, None]
            if trial % 4 == 0:  # one output's worst direction, shared by all
                n = rng.integers(N)
                delta = -np.sign(exact_margin(a, v, b, x)[n, 0]) * a[n][:, None] * v
            delta *= eps / np.linalg.norm(delta)
            after = own(exact_margin(a, v, b, x, delta)) > 0
            kept = correct & (after == (own(exact_margin(a, v, b, x)) > 0))
            assert kept.sum() >= certified


def test_one_cluster_is_cohen():
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.normal(size=(10, D))).float()
    a = np.eye(10)
    model = LinearGNN(a, np.ones(D), 0.5).eval()
    sigma = 0.6
    noise = GraphGaussian(np.zeros(10, dtype=int), [[sigma]])
    stats = smooth(model, x, None, noise, MonteCarloConfig(2000, 100, 1000, 500, 1, seed=4),
                   progress=False)
    target = np.array([int(np.argmax(stats.votes.max(1)))])
    cert = gaussian_certificate(stats, target, ALPHA)
    k, n = stats.votes[target[0]].max(), stats.n[target[0]]
    radius = sigma * norm.ppf(beta.ppf(ALPHA, k, n - k + 1))  # Cohen et al., one output
    assert radius > 0 and np.isclose(np.sqrt(cert.eta[0]) * sigma, radius)
    eps = np.array([0, radius * 0.999, radius * 1.001])
    w = noise.weights()
    truth = cert.predicted
    np.testing.assert_array_equal(
        l2_certified_counts(cert, truth, w, eps, collective=False, milp_bins=None), [1, 1, 0])
    np.testing.assert_array_equal(l2_certified_counts(cert, truth, w, eps, milp_bins=None),
                                  [1, 1, 0])


def test_noise_levels_and_validation():
    noise = GraphGaussian(LABELS, SIGMA)
    x = torch.zeros(N, D)
    z = noise.sample(x, 2, 4000, np.random.default_rng(0)).view(4000, N, D)
    std = z.std(dim=(0, 2)).numpy()
    np.testing.assert_allclose(std, SIGMA[2, LABELS], rtol=0.05)
    np.testing.assert_allclose(noise.weights(), 1 / SIGMA**2)
    assert json.loads(json.dumps(noise.describe())) == noise.describe()
    with pytest.raises(ValueError, match="positive"):
        GraphGaussian(LABELS, -SIGMA)
    with pytest.raises(ValueError, match="labels"):
        GraphGaussian(LABELS + 1, SIGMA)
    with pytest.raises(ValueError, match="features"):
        noise.prepare(torch.zeros(N + 1, D))
    edges = np.vstack([np.arange(N), (np.arange(N) + 1) % N])
    edges = np.hstack([edges, edges[::-1]])
    graph = localized_gaussian_noise(edges, N, 3, 0.25, 1.0)
    assert np.allclose(np.diag(graph.sigma), 0.25) and graph.sigma.max() == 1.0
    with pytest.raises(ValueError, match="sigma_min"):
        localized_gaussian_noise(edges, N, 3, 1.0, 0.5)
    with pytest.raises(ValueError, match="step"):
        l2_budget_grid(None, noise.weights(), 0)


def test_sample_is_features_plus_scaled_standard_normals():
    noise = GraphGaussian(LABELS, SIGMA)
    x = torch.randn(N, D, generator=torch.Generator().manual_seed(0))
    z = noise.sample(x, 1, 3, np.random.default_rng(5)).view(3, N, D)
    normals = np.random.default_rng(5).standard_normal((3, N, D), dtype=np.float32)
    expected = x + torch.from_numpy(normals) * torch.from_numpy(
        SIGMA[1, LABELS].astype(np.float32))[:, None]
    assert torch.equal(z, expected)


def test_sample_on_a_device_with_a_torch_generator(device):
    noise = GraphGaussian(LABELS, SIGMA)
    x = torch.randn(N, D, generator=torch.Generator().manual_seed(0))
    z = noise.sample(x, 1, 3, torch.Generator(device=device).manual_seed(5))
    normals = torch.randn((3, N, D), generator=torch.Generator(device=device).manual_seed(5),
                          device=device)
    scale = torch.from_numpy(SIGMA[1, LABELS].astype(np.float32)).to(device)[:, None]
    assert z.device.type == device.type and z.shape == (3 * N, D)
    torch.testing.assert_close(z.view(3, N, D), x.to(device) + normals * scale)


def test_batch_for_memory():
    assert batch_for_memory(32, 169_343, 128) == 3  # ogbn-arxiv: 87 MB per copy, 256 MB cap
    assert batch_for_memory(32, 100, 10) == 32
    assert batch_for_memory(32, 10**7, 100) == 1  # never below one copy
    assert batch_for_memory(8, 1000, 1000, max_bytes=4 * 10**6 * 5) == 5


def test_cli_certifies_ogb_miniature(ogb_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRAPHCERT_DATA", str(ogb_root))
    out = tmp_path / "run"
    args = ["certify", "--dataset", "ogbn-arxiv", "--methods", "gaussian", "--out", str(out),
            "--n-clusters", "3", "--n-pre", "40", "--n-samples", "200", "--max-epochs", "150",
            "--l2-step", "0.1", "--quiet"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    entry = results["methods"]["gaussian"]
    assert results["dataset"]["n_targets"] == 60  # the official validation split
    assert entry["accuracy"] > 0.6
    curve = entry["curves"]["l2"]
    assert curve["collective"][0] == curve["naive"][0] > 0
    assert "ACR l2" in capsys.readouterr().out
    assert main(args[:3] + ["--out", str(tmp_path / "bad")]) == 2  # binary methods refused
