"""Tests for the streaming Monte Carlo engine (docs/theory.md §3 Monte Carlo, §4 votes)."""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
import torch
from scipy.stats import binom, norm

from graphcert.certificates.bounds import scores_to_histogram
from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.chunks import run_chunk
from graphcert.sampling.engine import smooth
from graphcert.sampling.fingerprint import scores_fingerprint
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import SmoothingStats
from graphcert.sampling.streams import (
    MAIN,
    PHASES,
    PRE,
    STREAMS,
    batch_sizes,
    chunk_generator,
)
from tests.sampling.fault_problem import StopAfterBatches, assert_same

N_NODES, N_FEATURES = 12, 10
LABELS = np.repeat([0, 1], 6)
THETA_PLUS = np.array([[0.30, 0.10],
                       [0.05, 0.60]])
THETA_MINUS = np.full((2, 2), 0.5)
X = torch.zeros(N_NODES, N_FEATURES)  # all-zero attributes: bit counts are Bin(D, theta_plus)


class CountModel(torch.nn.Module):
    """Logits (0, count - 2.5) from the node's number of 1-bits: closed-form smoothing."""

    def forward(self, x, edge_index):
        counts = x.to_dense().sum(-1)
        return torch.stack([torch.zeros_like(counts), counts - 2.5], -1)


def crash_after(limit: int) -> StopAfterBatches:
    """An executor that raises after `limit` noisy batches, inside a chunk."""
    def crash() -> None:
        raise RuntimeError("simulated crash")
    return StopAfterBatches(limit, crash)


def noise() -> LocalizedNoise:
    return LocalizedNoise(LABELS, THETA_PLUS, THETA_MINUS)


CONFIG = MonteCarloConfig(n_samples=3000, n_pre=200, chunk_size=1000, batch_size=128,
                          n_bins=20, seed=3)


@pytest.fixture(scope="module")
def full() -> SmoothingStats:
    return smooth(CountModel().eval(), X, None, noise(), CONFIG, progress=False)


def test_votes_and_scores_converge_to_closed_form(full):
    counts = np.arange(N_FEATURES + 1)
    for node in range(N_NODES):
        p = THETA_PLUS[LABELS[node], LABELS[node]]
        pmf = binom.pmf(counts, N_FEATURES, p)
        vote = pmf[counts >= 3].sum()  # class 1 iff count - 2.5 > 0
        n = full.n[node]
        assert n == CONFIG.n_samples and full.votes[node].sum() == n
        assert abs(full.votes[node, 1] / n - vote) <= 5 * np.sqrt(vote * (1 - vote) / n)
        score = 1 / (1 + np.exp(-(counts - 2.5)))
        mean, var = pmf @ score, pmf @ score**2 - (pmf @ score) ** 2
        # scores are rounded down to multiples of 2^-16 before they are summed
        assert abs(full.score_sum[node] / n - mean) <= 5 * np.sqrt(var / n) + 2**-16
        var_sq = pmf @ score**4 - (pmf @ score**2) ** 2
        assert abs(full.score_sq_sum[node] / n - pmf @ score**2) <= 5 * np.sqrt(var_sq / n) + 2**-15


def test_candidates_come_from_the_pre_sample(full):
    assert np.array_equal(full.n_pre, np.full(N_NODES, CONFIG.n_pre))
    assert np.array_equal(full.candidate_score, np.argmax(full.pre_score_sum_q, 1))
    assert np.array_equal(full.candidate_vote, np.argmax(full.pre_votes, 1))
    assert np.array_equal(full.pre_votes.sum(1), full.n_pre)
    # cluster 1 (theta_plus 0.6) is confidently class 1; cluster 0 (0.3) mostly class 1 too
    assert np.all(full.candidate_score[LABELS == 1] == 1)


def test_histogram_matches_scores(full):
    assert np.array_equal(full.hist.sum(1), full.n)
    m = CONFIG.n_bins
    k = np.arange(m)
    assert np.all(full.hist @ (k / m) <= full.score_sum + 1e-9)
    assert np.all(full.score_sum <= full.hist @ ((k + 1) / m) + 1e-9)
    # the score takes one value per bit count: sigmoid(c - 2.5); the histogram must hold the
    # same counts as `scores_to_histogram` applied to the (rounded) values, i.e. per count
    values = np.floor(1 / (1 + np.exp(-(np.arange(N_FEATURES + 1) - 2.5))) * 2**16) / 2**16
    bins = scores_to_histogram(values[None, :], m)[0].nonzero()[0]
    assert set(np.flatnonzero(full.hist.sum(0))) <= set(bins)


class FixedModel(torch.nn.Module):
    """Fixed logits per node, for exact score and bin checks."""

    batching = "folded"  # takes (B, N, D) copies, returns (B, N, C)

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits

    def forward(self, x, edge_index):
        return self.logits.expand(x.shape[0], -1, -1)


def test_scores_at_bin_edges_and_one():
    logits = torch.tensor([[0.0, 0.0, -1e4],     # 0.5: a bin edge
                           [0.0, 1e4, 0.0],       # exactly 1.0 -> last bin
                           [np.log(2.0), 0.0, -1e4]]).repeat(4, 1)  # 2/3, inside bin 2
    labels = np.zeros(12, dtype=np.int64)
    noise_ = LocalizedNoise(labels, np.full((1, 1), 0.1), np.full((1, 1), 0.1))
    config = MonteCarloConfig(n_samples=10, n_pre=5, chunk_size=4, batch_size=3, n_bins=4)
    stats = smooth(FixedModel(logits).eval(), X, None, noise_, config, progress=False)
    assert np.array_equal(stats.candidate_score[:3], [0, 1, 0])
    probs = torch.softmax(logits[:3].double(), -1).numpy()
    expected = scores_to_histogram(np.floor(probs[[0, 1, 2], [0, 1, 0]] * 2**16)[:, None] / 2**16,
                                   4)[:, :] * 10
    assert np.array_equal(stats.hist[:3], expected)
    assert np.array_equal(stats.hist[1], [0, 0, 0, 10])
    assert stats.score_sum[1] == 10.0 and stats.score_sq_sum[1] == 10.0
    assert stats.score_sum[0] == 5.0


def test_only_cluster_k_samples_feed_cluster_k_nodes():
    """Output cluster 0 keeps X clean, cluster 1 sets every bit: votes must reflect that."""
    plus = np.array([[0.0, 0.0], [1.0, 1.0]])
    minus = np.zeros((2, 2))
    config = MonteCarloConfig(n_samples=50, n_pre=10, chunk_size=20, batch_size=8)
    stats = smooth(CountModel().eval(), X, None, LocalizedNoise(LABELS, plus, minus), config,
                   progress=False)
    assert np.all(stats.votes[LABELS == 0, 0] == 50)  # count 0 -> class 0
    assert np.all(stats.votes[LABELS == 1, 1] == 50)  # count D -> class 1


def empty_stats() -> SmoothingStats:
    return SmoothingStats.empty(CONFIG, noise().describe(), LABELS, 2,
                                scores_fingerprint(CountModel(), X, None))


def test_chunks_add_up_bit_identically_in_any_order(full):
    model, noise_ = CountModel().eval(), noise()
    pre = [run_chunk(model, X, None, noise_, CONFIG, k, 0, PRE) for k in (0, 1)]
    assert [len(part.nodes) for part in pre] == [np.sum(LABELS == 0), np.sum(LABELS == 1)]
    seed = empty_stats().add_chunk(pre[1]).add_chunk(pre[0]).with_candidates()
    assert np.array_equal(seed.candidate_score, full.candidate_score)
    parts = [run_chunk(model, X, None, noise_, CONFIG, k, c, MAIN, seed.candidate_score,
                       prefetch=False)
             for k in (0, 1) for c in range(3)]
    for order in ([0, 1, 2, 3, 4, 5], [5, 0, 3, 1, 2, 4]):
        stats = empty_stats().add_chunk(pre[0]).add_chunk(pre[1]).with_candidates()
        for i in order:
            stats.add_chunk(parts[i])
        assert_same(stats, full)


def test_adding_rejects_double_counting_and_mismatch():
    model, noise_ = CountModel().eval(), noise()
    part = run_chunk(model, X, None, noise_, CONFIG, 0, 0, PRE)
    stats = empty_stats().add_chunk(part)
    with pytest.raises(ValueError, match="counted twice"):
        stats.add_chunk(part)
    other = MonteCarloConfig(n_samples=3000, n_pre=200, chunk_size=1000, batch_size=128,
                             n_bins=20, seed=4)
    with pytest.raises(ValueError, match="configurations"):
        stats.add_chunk(run_chunk(model, X, None, noise_, other, 0, 0, PRE))
    moved = SmoothingStats.empty(CONFIG, noise_.describe(), 1 - LABELS, 2)
    with pytest.raises(ValueError, match="nodes of cluster"):
        moved.add_chunk(part)
    seed = stats.add_chunk(run_chunk(model, X, None, noise_, CONFIG, 1, 0, PRE)).with_candidates()
    wrong = seed.candidate_score.copy()
    wrong[LABELS == 0] = 1 - wrong[LABELS == 0]
    bad = run_chunk(model, X, None, noise_, CONFIG, 0, 0, MAIN, wrong)
    with pytest.raises(ValueError, match="disagree"):
        seed.add_chunk(bad)


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path, full):
    checkpoint = tmp_path / "stats.npz"
    # 2 + 2 pre batches, 8 batches per main chunk: crash inside chunk 1 of cluster 0
    with pytest.raises(RuntimeError, match="simulated crash"):
        smooth(CountModel().eval(), X, None, noise(), CONFIG, checkpoint=checkpoint,
               progress=False, executor=crash_after(4 + 8 + 3))
    saved = SmoothingStats.load(checkpoint)
    assert saved.samples_done(MAIN).tolist() == [1000, 0]
    assert saved.samples_done(PRE).tolist() == [200, 200]
    resumed = smooth(CountModel().eval(), X, None, noise(), CONFIG, checkpoint=checkpoint,
                     progress=False)
    assert_same(resumed, full)
    assert_same(SmoothingStats.load(checkpoint), full)
    # other settings: the checkpoint is set aside (kept, never merged) and resampled
    fresh = smooth(CountModel().eval(), X, None, noise(), MonteCarloConfig(10, 5),
                   checkpoint=checkpoint, progress=False)
    assert_same(SmoothingStats.load(tmp_path / "stats.stale-1.npz"), full)
    assert_same(SmoothingStats.load(checkpoint), fresh)


def test_save_load_roundtrip_without_pickle(tmp_path, full):
    path = tmp_path / "s.npz"
    full.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert data["meta"].dtype.kind == "U"
        assert all(data[name].dtype != object for name in data.files)
    assert_same(SmoothingStats.load(path), full)
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]  # no temp file left


def test_memory_does_not_grow_with_samples():
    shapes = []
    for n in (100, 1000):
        config = MonteCarloConfig(n_samples=n, n_pre=10, chunk_size=100, batch_size=50)
        stats = smooth(CountModel().eval(), X, None, noise(), config, progress=False)
        shapes.append({f.name: getattr(stats, f.name).shape for f in fields(SmoothingStats)
                       if isinstance(getattr(stats, f.name), np.ndarray) and f.name != "done"})
    assert shapes[0] == shapes[1]
    assert shapes[0]["hist"] == (N_NODES, 1000) and shapes[0]["votes"] == (N_NODES, 2)


def test_prefetch_does_not_change_samples():
    config = MonteCarloConfig(n_samples=300, n_pre=40, chunk_size=150, batch_size=32)
    runs = [smooth(CountModel().eval(), X, None, noise(), config, progress=False,
                   prefetch=flag) for flag in (True, False)]
    assert_same(*runs)


def test_chunk_generators_are_distinct_and_reproducible():
    draws = {key: chunk_generator(0, *key).random() for key in
             [("pre", 0, 0), ("main", 0, 0), ("main", 1, 0), ("main", 0, 1)]}
    assert len(set(draws.values())) == 4
    assert chunk_generator(0, "main", 1, 0).random() == draws[("main", 1, 0)]
    assert chunk_generator(1, "main", 1, 0).random() != draws[("main", 1, 0)]


def test_named_streams_keep_the_seeds_of_the_phase_numbers():
    """"pre" and "main" are the phases 0 and 1 of format-1 statistics, and center smoothing's
    streams the numbers 20-23 it used before: results do not change."""
    old = lambda *key: np.random.Generator(  # noqa: E731
        np.random.SFC64(np.random.SeedSequence(5, spawn_key=key))).random(3)
    for name, number in [("pre", 0), ("main", 1), ("center/candidates", 20),
                         ("center/median", 21), ("center/check", 22), ("center/certify", 23)]:
        np.testing.assert_array_equal(chunk_generator(5, name, 2, 1).random(3),
                                      old(number, 2, 1))
    assert (PRE, MAIN) == (0, 1) and PHASES[PRE] == "pre" and PHASES[MAIN] == "main"
    assert len(set(STREAMS.values())) == len(STREAMS)
    with pytest.raises(ValueError, match="stream 'mian' is not one of"):
        chunk_generator(0, "mian")


def test_batch_sizes():
    assert batch_sizes(10, 4) == [4, 4, 2] and batch_sizes(8, 4) == [4, 4]
    assert batch_sizes(3, 32) == [3]


def test_isotropic_noise_statistics():
    noise_ = LocalizedNoise.isotropic(N_NODES, 0.3, 0.5)
    config = MonteCarloConfig(n_samples=400, n_pre=50, batch_size=100, chunk_size=200)
    stats = smooth(CountModel().eval(), X, None, noise_, config, progress=False)
    assert np.all(stats.labels == 0) and np.array_equal(stats.n, np.full(N_NODES, 400))
    assert stats.noise["theta_plus"] == [[0.3]]
    vote = 1 - binom.cdf(2, N_FEATURES, 0.3)
    assert np.all(np.abs(stats.votes[:, 1] / 400 - vote) <= 5 * np.sqrt(vote * (1 - vote) / 400))


class GaussianNoise:
    """A continuous noise plugged into the engine through the same protocol."""

    def __init__(self, n_nodes: int, sigma: float):
        self.labels, self.sigma = np.zeros(n_nodes, dtype=np.int64), sigma

    def prepare(self, x):
        return x

    def sample(self, x, output_cluster, batch_size, generator):
        noise = generator.standard_normal((batch_size, *x.shape))
        noisy = x[None] + torch.from_numpy(self.sigma * noise).float()
        return noisy.view(-1, x.shape[1])  # the copies stacked along the nodes

    def describe(self):
        return {"kind": "gaussian", "sigma": self.sigma}


class FirstFeatureModel(torch.nn.Module):
    def forward(self, x, edge_index):
        return torch.stack([torch.zeros_like(x[..., 0]), x[..., 0]], -1)


def test_engine_accepts_other_noises():
    x = torch.full((N_NODES, N_FEATURES), 0.5)
    config = MonteCarloConfig(n_samples=2000, n_pre=100, chunk_size=500, batch_size=250)
    stats = smooth(FirstFeatureModel().eval(), x, None, GaussianNoise(N_NODES, 1.0), config,
                   progress=False)
    p = norm.cdf(0.5)  # class 1 iff 0.5 + N(0, 1) > 0
    assert np.all(np.abs(stats.votes[:, 1] / 2000 - p) <= 5 * np.sqrt(p * (1 - p) / 2000))
    assert stats.noise == {"kind": "gaussian", "sigma": 1.0}


def test_validation_errors():
    with pytest.raises(ValueError):
        MonteCarloConfig(n_samples=0, n_pre=10)
    with pytest.raises(ValueError):
        MonteCarloConfig(n_samples=10, n_pre=10, chunk_size=0)
    with pytest.raises(ValueError):
        MonteCarloConfig(n_samples=10, n_pre=10, seed=-1)
    with pytest.raises(ValueError, match="eval"):
        run_chunk(CountModel().train(), X, None, noise(), CONFIG, 0, 0, PRE)
    with pytest.raises(ValueError, match="candidates"):
        run_chunk(CountModel().eval(), X, None, noise(), CONFIG, 0, 0, MAIN)
    with pytest.raises(ValueError, match="without a candidate"):
        run_chunk(CountModel().eval(), X, None, noise(), CONFIG, 0, 0, MAIN,
                  np.full(N_NODES, -1))
    with pytest.raises(ValueError, match="out of range"):
        run_chunk(CountModel().eval(), X, None, noise(), CONFIG, 0, 3, MAIN,
                  np.zeros(N_NODES, dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        run_chunk(FixedModel(torch.zeros(3, 2)).eval(), X, None, noise(), CONFIG, 0, 0, PRE)
    empty = SmoothingStats.empty(CONFIG, {}, LABELS, 2)
    with pytest.raises(ValueError, match="hist"):
        SmoothingStats(**{**{f.name: getattr(empty, f.name) for f in fields(SmoothingStats)},
                          "hist": np.zeros((N_NODES, 3), dtype=np.int64)})
