"""Certified-accuracy curves against edge insertions and deletions (docs/theory.md §8) from Monte
Carlo statistics: variance-constrained (naive and collective, pair units) and SparseSmooth."""
from __future__ import annotations

import numpy as np
import pytest

from graphcert.certificates import pair_weight_matrices, sparse_smooth_region
from graphcert.certificates.bounds import holm_lower_bounds
from graphcert.certificates.collective import PairUnits
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.binary import (
    sparse_smooth_result,
    variance_constrained_result,
)
from graphcert.tasks.graph.certificate import Certificate, attack_budgets
from graphcert.tasks.graph.surface import AttackSurface

N_SAMPLES = 1000


def one_hot_stats(ones, labels, n: int = N_SAMPLES) -> SmoothingStats:
    """Statistics of one-hot scores: node i votes class 0 in ones[i] of n samples."""
    ones = np.asarray(ones, dtype=np.int64)
    k = ones.size
    zeros = np.zeros(k, dtype=np.int64)
    votes = np.stack([ones, n - ones], axis=1)
    return SmoothingStats(
        MonteCarloConfig(n_samples=n, n_pre=10, n_bins=1), {}, np.asarray(labels),
        np.zeros((0, 3), np.int64), votes * 0, votes * 0, zeros, zeros, zeros, votes,
        np.full((k, 1), n, np.int64), ones << 16, ones << 32, np.full(k, n, np.int64))


def ring(n_nodes: int) -> np.ndarray:
    """A cycle: every node has two edges."""
    nodes = np.arange(n_nodes)
    return np.stack([nodes, (nodes + 1) % n_nodes])


ONES = [999, 990, 950, 900, 700, 400, 998, 995]  # the last two are wrong (label 1), two abstain
Y = np.array([0, 0, 0, 0, 0, 0, 1, 1])


def test_isotropic_edges_alone_match_the_per_edge_weights():
    """One distribution, one cluster pair: a target is certified against e deletions iff
    e * w_minus < eta, and the collective count equals the naive one (every deleted edge
    costs every target the same)."""
    labels = np.zeros(8, dtype=np.int64)
    stats = one_hot_stats(ONES, labels)
    w_plus, w_minus = pair_weight_matrices(0.001, 0.4)
    units = PairUnits.from_graph(ring(8), labels, w_plus, w_minus)
    targets = np.arange(8)
    result = variance_constrained_result(
        "isotropic", stats, Y, targets, None, None, AttackSurface.fixed(8), alpha=0.01,
        bounds="clopper_pearson", structure=units, max_edge_deletions=8, max_edge_additions=2)
    assert set(result.curves) == {"edge_deletions", "edge_additions"}
    assert "joint" not in result.extra and "joint_edges" in result.extra
    eta = np.array(result.extra["eta"])
    correct = (np.asarray(result.predicted) == Y) & np.isfinite(eta) & (eta > 0)
    deletions = result.curves["edge_deletions"]
    assert deletions.budgets == list(range(9))
    capped = np.minimum(np.arange(9), 8)  # the ring has 8 edges
    expected = [int((correct & (eta > e * w_minus[0, 0])).sum()) for e in capped]
    assert deletions.naive == expected and deletions.collective == expected
    additions = result.curves["edge_additions"]
    assert additions.naive == [int((correct & (eta > a * w_plus[0, 0])).sum())
                               for a in range(3)]
    grid = np.array(result.extra["joint_edges"]["naive"])
    for a in range(grid.shape[0]):
        for d in range(grid.shape[1]):
            change = a * w_plus[0, 0] + min(d, 8) * w_minus[0, 0]
            assert grid[a, d] == int((correct & (eta > change)).sum())


def test_localized_edge_curves_are_the_certifier_counts():
    """Two clusters: the curves are the collective certifier's counts with the pair units
    (exactness of that certifier is tested against brute force in tests/certificates),
    collective >= naive, and attribute curves appear only when attributes are noised."""
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    stats = one_hot_stats([999, 990, 950, 400, 999, 990, 950, 998], labels)  # 3 + 3 strong
    p_minus = np.array([[0.4, 0.7, 0.9], [0.9, 0.7, 0.4]])  # own cluster pair 0.4
    units = PairUnits.from_graph(ring(8), labels, *pair_weight_matrices(0.001, p_minus))
    targets = np.arange(8)
    result = variance_constrained_result(
        "localized", stats, Y, targets, None, None, AttackSurface.fixed(8), alpha=0.01,
        bounds="clopper_pearson", structure=units, max_edge_deletions=6, max_edge_additions=1)
    cert = Certificate.from_statistics(stats, None, None, AttackSurface.fixed(8), targets,
                                       alpha=0.01, bounds="clopper_pearson", structure=units)
    certifier = cert.certifier(Y)
    deletions = result.curves["edge_deletions"]
    assert deletions.collective == [certifier.certify(0, 0, 0, d) for d in range(7)]
    assert deletions.naive == [certifier.naive(0, 0, 0, d) for d in range(7)]
    assert np.all(np.array(deletions.collective) >= np.array(deletions.naive))
    assert deletions.collective[3] > deletions.naive[3]  # the pair units pay off
    assert deletions.naive_certified == [cert.certifier().naive(0, 0, 0, d) for d in range(7)]
    # with attribute noise too: attribute curves (edge budgets 0) and edge curves
    surface = AttackSurface(np.full(8, 20), np.full(8, 5))
    both = variance_constrained_result(
        "localized", stats, Y, targets, np.full((2, 2), 0.01), np.full((2, 2), 0.6), surface,
        alpha=0.01, bounds="clopper_pearson", structure=units, max_deletions=4, max_additions=1,
        max_edge_deletions=6, max_edge_additions=1)
    assert set(both.curves) == {"deletions", "additions", "edge_deletions", "edge_additions"}
    assert both.curves["edge_deletions"].collective == deletions.collective
    assert {"joint", "joint_edges"} <= set(both.extra)


def test_sparse_smooth_edges_are_section_4_with_the_pair_probabilities():
    stats = one_hot_stats(ONES, np.zeros(8, dtype=np.int64))
    targets = np.arange(8)
    result = sparse_smooth_result(stats, Y, targets, None, None, alpha=0.01, p_plus=0.001,
                                  p_minus=0.4, max_edge_deletions=10, max_edge_additions=2)
    assert set(result.curves) == {"edge_deletions", "edge_additions"}
    p_lower, passed = holm_lower_bounds(np.array(ONES), np.full(8, N_SAMPLES), 0.01)
    region = sparse_smooth_region(np.where(passed, p_lower, 0.0), 0.001, 0.4, 2, 10)
    correct = Y == 0
    assert result.curves["edge_deletions"].naive == \
        (region[:, 0, :] & correct[:, None]).sum(0).tolist()
    assert result.curves["edge_additions"].naive == \
        (region[:, :, 0] & correct[:, None]).sum(0).tolist()
    assert result.curves["edge_deletions"].naive[4] > 0  # not a vacuous comparison
    assert np.array(result.extra["joint_edges"]["naive"]).shape == (3, 11)
    # attributes and edges from one product noise: both families, each its own §4
    both = sparse_smooth_result(stats, Y, targets, 0.01, 0.6, alpha=0.01, max_deletions=5,
                                max_additions=1, p_plus=0.001, p_minus=0.4,
                                max_edge_deletions=10, max_edge_additions=2)
    assert both.curves["edge_deletions"].naive == result.curves["edge_deletions"].naive
    assert both.curves["deletions"].budgets == list(range(6))


def test_attack_budgets_and_bad_requests():
    plus, minus, plus_adj, minus_adj = attack_budgets(3, edge_deletions=[0, 1, 2],
                                                      additions=1)
    assert plus.tolist() == [1, 1, 1] and minus.tolist() == [0, 0, 0]
    assert plus_adj.tolist() == [0, 0, 0] and minus_adj.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="attack must be one of"):
        attack_budgets(2, edges=[0, 1])
    stats = one_hot_stats(ONES, np.zeros(8, dtype=np.int64))
    cert = Certificate.from_statistics(stats, [[0.01]], [[0.6]],
                                       AttackSurface(np.ones(8), np.ones(8)), np.arange(8),
                                       alpha=0.01, bounds="clopper_pearson")
    with pytest.raises(ValueError, match="needs the node pairs as units"):
        cert.curve(Y, "edge_deletions", range(3))
    with pytest.raises(ValueError, match="must not be attackable"):
        Certificate.from_statistics(stats, None, None, AttackSurface(np.ones(8), np.ones(8)),
                                    np.arange(8), alpha=0.01, bounds="clopper_pearson")
