"""The ``localized_exact`` method: the localized method's statistics file, another certificate
(docs/theory.md §11)."""
from __future__ import annotations

import numpy as np
import pytest

from graphcert.certificates import localized_exact_threshold
from graphcert.certificates.bounds import holm_lower_bounds
from graphcert.certificates.collective import LocalizedExactCollective
from graphcert.run.config import RunConfig
from graphcert.run.pipeline import sampling_plans
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.localized_exact import cluster_capacities, localized_exact_result
from graphcert.tasks.graph.surface import AttackSurface
from tests.run.test_method_registry import tiny_graph

MC = MonteCarloConfig(n_samples=60, n_pre=20, chunk_size=25, batch_size=8, n_bins=100)


@pytest.mark.parametrize("temperature", [0.0, 0.5, 1.0])
def test_shares_the_localized_statistics_file(temperature):
    config = RunConfig(methods=["localized_exact", "localized"], n_clusters=2,
                       score_temperature=temperature,
                       bounds="clopper_pearson" if temperature == 0 else "bernstein")
    plan, = sampling_plans(config, tiny_graph(), MC)
    assert [m.name for m in plan.methods] == ["localized", "localized_exact"]
    assert plan.checkpoint.startswith("stats_localized")


def test_the_structure_threat_model_is_refused():
    with pytest.raises(ValueError, match="localized_exact"):
        RunConfig(methods=["localized_exact"], threat_model="structure")


def _stats(rng, n_nodes=24, n_classes=3, n=400):
    labels = np.repeat([0, 1], n_nodes // 2)
    mc = MonteCarloConfig(n_samples=n, n_pre=10, n_bins=1)
    stats = SmoothingStats.empty(mc, {}, labels, n_classes)
    share = rng.uniform(0.3, 1.0, n_nodes)
    top = np.floor(share * n).astype(np.int64)
    winner = rng.integers(0, n_classes, n_nodes)
    stats.votes[np.arange(n_nodes), winner] = top
    stats.votes[np.arange(n_nodes), (winner + 1) % n_classes] = n - top
    stats.candidate_vote[:] = np.argmax(stats.votes, axis=1)
    stats.n[:] = n
    return stats, winner


def test_curves_are_the_exact_certificates_of_the_holm_bounds():
    rng = np.random.default_rng(0)
    stats, winner = _stats(rng)
    y = np.where(rng.random(winner.size) < 0.8, winner, (winner + 2) % 3)
    targets = np.arange(0, 24, 2)
    tp, tm = np.full((2, 2), 0.01), np.array([[0.4, 0.8], [0.8, 0.4]])
    x = (rng.random((24, 10)) < 0.3).astype(float)
    surface = AttackSurface.from_attributes(x)
    result = localized_exact_result("localized_exact", stats, y, targets, tp, tm, surface,
                                    alpha=0.05, max_deletions=6, max_additions=2)
    predicted = stats.candidate_vote[targets]
    p, passed = holm_lower_bounds(stats.votes[targets, predicted], stats.n[targets], 0.05)
    np.testing.assert_allclose(result.extra["p_lower"], np.where(passed, p, 0.0))
    correct = (predicted == y[targets]) & passed
    group = stats.labels[targets]
    cap_plus, cap_minus, _ = cluster_capacities(surface, stats.labels, 2)
    for budget in range(7):  # naive: the worst allocation of `budget` deletions
        worst = [max(localized_exact_threshold(tp[g], tm[g], [0, 0], [m, budget - m])
                     for m in range(budget + 1)
                     if m <= cap_minus[1] and budget - m <= cap_minus[0])
                 for g in group]
        assert result.curves["deletions"].naive[budget] == int(np.sum(correct & (p > worst)))
        collective = min(  # the collective by brute force over the splits
            int(np.sum(correct & (p > np.array([localized_exact_threshold(
                tp[g], tm[g], [0, 0], [m, budget - m]) for g in group]))))
            for m in range(budget + 1))
        assert result.curves["deletions"].collective[budget] == collective
    assert result.extra["collective_exact"]
    joint = np.array(result.extra["joint"]["collective"])
    assert joint.shape == (3, 7) and np.all(np.diff(joint, axis=0) <= 0)
    assert joint[0].tolist() == result.curves["deletions"].collective


def test_cluster_capacities_merge_local_budgets():
    surface = AttackSurface(np.array([5, 1, 4, 0]), np.array([2, 3, 0, 6]), local_budget=2)
    cap_plus, cap_minus, local = cluster_capacities(surface, np.array([0, 0, 1, 1]), 2)
    assert cap_plus.tolist() == [3, 2] and cap_minus.tolist() == [4, 2]
    assert local.tolist() == [4, 4]


def test_stopped_searches_report_sound_monotone_lower_bounds(monkeypatch):
    # every budget searched (none solved by enumeration), so that the searches can stop
    monkeypatch.setattr(LocalizedExactCollective, "_enumerable", lambda self, eps_m: False)
    rng = np.random.default_rng(1)
    stats, winner = _stats(rng, n_nodes=40)
    targets = np.arange(40)
    tp, tm = np.full((2, 2), 0.01), np.array([[0.5, 0.9], [0.9, 0.5]])
    surface = AttackSurface.from_attributes((rng.random((40, 10)) < 0.3).astype(float))
    args = ("localized_exact", stats, winner, targets, tp, tm, surface)
    exact = localized_exact_result(*args, alpha=0.05, max_deletions=12, max_additions=1)
    stopped = localized_exact_result(*args, alpha=0.05, max_deletions=12, max_additions=1,
                                     max_nodes=1, joint_max_nodes=1)
    assert exact.extra["collective_exact"] and not stopped.extra["collective_exact"]
    for attack in ("deletions", "additions"):
        bound, truth = stopped.curves[attack], exact.curves[attack]
        assert np.all(np.diff(bound.collective) <= 0)
        assert np.all(np.array(bound.naive) <= bound.collective)
        assert np.all(np.array(bound.collective) <= truth.collective)
