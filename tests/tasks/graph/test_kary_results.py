"""K-ary certified-accuracy curves over Hamming budgets (graphcert.tasks.graph.kary): the
isotropic curve against each target's exact radius, the localized naive and collective counts
against a brute force over every shared allocation of changed values."""
from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from graphcert.certificates import kary_hamming_radius, kary_weights
from graphcert.certificates.bounds import holm_lower_bounds
from graphcert.tasks.graph.kary import kary_variance_result, kary_vote_result


def vote_stats(rng, n_nodes: int, n_samples: int = 2000):
    """Statistics with two classes whose top-class frequencies spread over (0.4, 1]."""
    top = rng.uniform(0.4, 1.0, n_nodes)
    winner = rng.integers(0, 2, n_nodes)
    votes = np.zeros((n_nodes, 2), dtype=np.int64)
    votes[np.arange(n_nodes), winner] = np.round(top * n_samples)
    votes[np.arange(n_nodes), 1 - winner] = n_samples - votes[np.arange(n_nodes), winner]
    return SimpleNamespace(candidate_vote=winner, votes=votes,
                           n=np.full(n_nodes, n_samples), labels=np.zeros(n_nodes, dtype=int))


@pytest.mark.parametrize("keep,n_values", [(0.3, [3, 5, 4]), (0.6, [2, 2]), (0.1, [256])])
def test_isotropic_curve_counts_each_targets_exact_radius(keep, n_values):
    rng = np.random.default_rng(0)
    stats = vote_stats(rng, 60)
    y = np.where(rng.random(60) < 0.8, stats.candidate_vote, 1 - stats.candidate_vote)
    targets = np.sort(rng.choice(60, 40, replace=False))
    result = kary_vote_result("kary", stats, y, targets, keep, n_values, alpha=0.01,
                              max_hamming=12)
    winner = stats.candidate_vote[targets]
    p_lower, passed = holm_lower_bounds(stats.votes[targets, winner], stats.n[targets], 0.01)
    radius = kary_hamming_radius(np.where(passed, p_lower, 0.0), keep, max(n_values),
                                 max_radius=12)
    correct = winner == y[targets]
    curve = result.curves["hamming"]
    assert curve.budgets == list(range(13)) and curve.collective is None
    assert curve.naive == [int(np.sum(correct & (radius >= r))) for r in range(13)]
    assert curve.naive_certified == [int(np.sum(radius >= r)) for r in range(13)]
    assert result.extra["radius"] == radius.tolist()
    np.testing.assert_array_equal(result.abstained, ~passed)
    assert curve.naive[0] > curve.naive[-1] >= 0 and max(radius) >= 1


def score_stats(labels, mean, var, n_samples: int = 5000):
    n_nodes = labels.size
    return SimpleNamespace(
        labels=labels, candidate_score=np.ones(n_nodes, dtype=int),
        n=np.full(n_nodes, n_samples), hist=np.zeros((n_nodes, 1), dtype=np.int64),
        score_sum=n_samples * mean, score_sq_sum=n_samples * (mean**2 + var))


def brute_force(eta, groups, weights, n_features: int, budget: int) -> tuple[int, int]:
    """(naive, collective): targets robust against their own worst allocation, and the
    minimum over shared allocations b (0 <= b_u <= F, sum b <= budget) of the robust ones."""
    n_units = weights.shape[1]
    allocations = [b for b in itertools.product(range(n_features + 1), repeat=n_units)
                   if sum(b) <= budget]
    robust = np.array([[eta[i] > 0 and weights[groups[i]] @ np.array(b) < eta[i]
                        for b in allocations] for i in range(len(eta))])
    return int(robust.all(axis=1).sum()), int(robust.sum(axis=0).min())


def test_localized_counts_match_brute_force_over_shared_allocations():
    labels = np.array([0, 0, 1, 1, 2, 2])
    keep = np.array([[0.7, 0.3, 0.1],
                     [0.2, 0.6, 0.3],
                     [0.1, 0.3, 0.8]])
    n_values = np.array([3, 5])  # F = 2 values per node, certified with K = 5
    # one target per cluster that a single change in its own cluster breaks (and no change
    # elsewhere does): one shared change cannot break all three
    mean = np.array([0.9, 0.95, 0.8, 0.95, 0.97, 0.6])
    stats = score_stats(labels, mean, np.array([0.01, 0.002, 0.01, 0.002, 0.01, 0.01]))
    y = np.array([1, 1, 1, 1, 1, 0])  # the last target is wrong
    targets = np.arange(6)
    result = kary_variance_result("kary_localized", stats, y, targets, keep, n_values,
                                  alpha=0.01, bounds="bernstein", max_hamming=4)
    eta = np.array(result.extra["eta"])
    assert np.isfinite(eta).all() and (eta > 0).all()
    weights = kary_weights(keep, 5)[:, labels]  # per node: W[output cluster, its cluster]
    curve = result.curves["hamming"]
    correct = y == 1
    for budget in range(5):
        naive, collective = brute_force(np.where(correct, eta, -np.inf), labels, weights, 2,
                                        budget)
        assert curve.naive[budget] == naive and curve.collective[budget] == collective
        assert curve.naive_certified[budget] == brute_force(eta, labels, weights, 2, budget)[0]
    assert curve.collective[1] > curve.naive[1]  # the shared allocation matters here


def test_localized_with_one_cluster_collective_equals_naive():
    labels = np.zeros(8, dtype=int)
    mean = np.linspace(0.7, 0.999, 8)
    stats = score_stats(labels, mean, 0.5 * mean * (1 - mean))
    result = kary_variance_result("kary_localized", stats, np.ones(8, dtype=int), np.arange(8),
                                  np.array([[0.4]]), np.array([4, 4, 4]), alpha=0.01,
                                  bounds="bernstein", max_hamming=6)
    curve = result.curves["hamming"]
    assert curve.naive == curve.collective and curve.naive[0] == 8 > curve.naive[-1]


def test_localized_needs_one_alphabet_size_per_feature():
    stats = score_stats(np.zeros(2, dtype=int), np.full(2, 0.9), np.full(2, 0.01))
    with pytest.raises(ValueError, match="one alphabet size per feature"):
        kary_variance_result("kary_localized", stats, np.ones(2, dtype=int), np.arange(2),
                             np.array([[0.4]]), 4, alpha=0.01, bounds="bernstein",
                             max_hamming=2)
