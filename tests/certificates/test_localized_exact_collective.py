"""Exact localized regions, naive and collective certificates over per-cluster allocations
(docs/theory.md §11), against brute force over all allocations."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from graphcert.certificates import (
    localized_exact_threshold,
    localized_weight_matrices,
    variance_constrained_radius,
)
from graphcert.certificates._localized_regions import (
    BlackwellOrder,
    ClusterCapacities,
    RowThresholds,
    dominates,
)
from graphcert.certificates.collective import CollectiveCertifier, LocalizedExactCollective


def _all_allocations(cap_plus, cap_minus, local, budget_plus, budget_minus):
    """Every admissible allocation (not only the maximal ones)."""
    ranges = [[(a, d) for a in range(min(cp, budget_plus) + 1)
               for d in range(min(cm, budget_minus) + 1) if a + d <= lo]
              for cp, cm, lo in zip(cap_plus, cap_minus, local, strict=True)]
    for choice in itertools.product(*ranges):
        a = np.array([c[0] for c in choice])
        d = np.array([c[1] for c in choice])
        if a.sum() <= budget_plus and d.sum() <= budget_minus:
            yield a, d


def _roc_contains(first, second):
    """Brute force: at every size, the most powerful test on `first` is at least as powerful
    as the most powerful one on `second`. A test rejects on z = 1 with probability s1 and on
    z = 0 with s0; at a given size the power is linear in s1 on an interval, so its maximum
    is at an end of the interval."""
    def power(experiment, size):
        a, b = experiment
        low, high = max(0.0, (size - (1 - a)) / a), min(1.0, size / a)
        return max(b * s1 + (1 - b) * (size - a * s1) / (1 - a) for s1 in (low, high))
    return all(power(first, s) >= power(second, s) - 1e-12 for s in np.linspace(0, 1, 201))


def test_dominance_is_roc_containment():
    rng = np.random.default_rng(0)
    for _ in range(40):
        first, second = tuple(rng.uniform(0.05, 0.95, 2)), tuple(rng.uniform(0.05, 0.95, 2))
        assert dominates(first, second) == _roc_contains(first, second)
    assert dominates((0.01, 0.7), (0.01, 0.5))  # fixed theta_plus: lower theta_minus wins
    assert not dominates((0.01, 0.5), (0.01, 0.7))


def _random_rows(rng, n_groups, k, common_plus=True):
    tp = np.full((n_groups, k), 0.01) if common_plus else rng.uniform(0.02, 0.5, (n_groups, k))
    tm = rng.uniform(0.2, 0.9, (n_groups, k))
    return tp, tm


@pytest.mark.parametrize("common_plus", [True, False])
def test_naive_threshold_is_the_worst_allocation(common_plus):
    rng = np.random.default_rng(1 if common_plus else 2)
    for _ in range(6):
        tp, tm = _random_rows(rng, 1, 3, common_plus)
        row = RowThresholds(tp[0], tm[0])
        caps = ClusterCapacities.of(rng.integers(0, 3, 3), rng.integers(0, 4, 3))
        for budget_plus, budget_minus in [(0, 3), (1, 2), (2, 4), (3, 0)]:
            brute = max(localized_exact_threshold(tp[0], tm[0], a, d) for a, d in
                        _all_allocations(caps.cap_plus, caps.cap_minus, caps.local,
                                         budget_plus, budget_minus))
            assert row.worst(caps, budget_plus, budget_minus) == brute


def test_blackwell_order_of_a_fixed_theta_plus_row():
    order = BlackwellOrder.of(np.full(4, 0.01), np.array([0.6, 0.3, 0.95, 0.45]))
    assert order.plus == order.minus == (1, 3, 0, 2)
    assert BlackwellOrder.fill(order.minus, np.array([5, 2, 5, 5]), 6).tolist() == [0, 2, 0, 4]


def _brute_collective(p, group, tp, tm, caps, budget_plus, budget_minus, targets):
    best = None
    for a, d in _all_allocations(caps.cap_plus, caps.cap_minus, caps.local, budget_plus,
                                 budget_minus):
        thr = np.array([localized_exact_threshold(tp[g], tm[g], a, d) for g in group])
        count = int(np.sum(targets & (p > 0.5) & (p > thr)))
        best = count if best is None else min(best, count)
    return best


def _brute_naive(p, group, tp, tm, caps, budget_plus, budget_minus, targets):
    worst = np.full(p.size, 0.5)
    for a, d in _all_allocations(caps.cap_plus, caps.cap_minus, caps.local, budget_plus,
                                 budget_minus):
        thr = np.array([localized_exact_threshold(tp[g], tm[g], a, d) for g in group])
        worst = np.maximum(worst, thr)
    return int(np.sum(targets & (p > worst)))


@pytest.mark.parametrize("seed, common_plus, with_local", [
    (3, True, False), (4, True, True), (5, False, False), (6, True, False)])
def test_collective_and_naive_equal_brute_force(seed, common_plus, with_local):
    rng = np.random.default_rng(seed)
    n_groups = k = 3
    tp, tm = _random_rows(rng, n_groups, k, common_plus)
    n = 14
    p = rng.uniform(0.55, 0.9999, n)
    group = rng.integers(0, n_groups, n)
    targets = rng.random(n) < 0.85
    cap_plus, cap_minus = rng.integers(0, 3, k), rng.integers(1, 5, k)
    local = rng.integers(1, 4, k) if with_local else None
    caps = ClusterCapacities.of(cap_plus, cap_minus, local)
    coll = LocalizedExactCollective(p, group, tp, tm, cap_plus, cap_minus, local=local,
                                    targets=targets)
    for budget_plus, budget_minus in [(0, 1), (0, 3), (1, 2), (2, 5), (1, 0), (3, 3)]:
        result = coll.certify(budget_plus, budget_minus)
        assert result.exact
        assert result.count == _brute_collective(p, group, tp, tm, caps, budget_plus,
                                                 budget_minus, targets)
        assert coll.count(result.additions, result.deletions) == result.count
        naive = coll.naive(budget_plus, budget_minus)
        assert naive == _brute_naive(p, group, tp, tm, caps, budget_plus, budget_minus,
                                     targets)
        assert naive <= result.count


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_sweeps_over_four_clusters_equal_brute_force(seed):
    """Every budget of a deletion and an addition sweep (the search halves each cluster's
    box of counts) against brute force, on ranked rows as the method's schedule gives."""
    rng = np.random.default_rng(seed)
    n_groups = k = 4
    ranks = np.array([rng.permutation(k) for _ in range(n_groups)])
    tp, tm = np.full((n_groups, k), 0.01), 0.5 + 0.45 * ranks / (k - 1)
    n = 30
    p, group = rng.uniform(0.6, 0.99999, n), rng.integers(0, n_groups, n)
    targets = rng.random(n) < 0.9
    cap_plus, cap_minus = rng.integers(1, 4, k), rng.integers(2, 7, k)
    caps = ClusterCapacities.of(cap_plus, cap_minus)
    coll = LocalizedExactCollective(p, group, tp, tm, cap_plus, cap_minus, targets=targets)
    for plus, minus in ((0, np.arange(8)), (np.arange(4), 0), (1, np.arange(5))):
        for result, (budget_plus, budget_minus) in zip(
                coll.sweep(plus, minus), zip(*np.broadcast_arrays(plus, minus), strict=True),
                strict=True):
            assert result.exact
            assert result.count == _brute_collective(p, group, tp, tm, caps, budget_plus,
                                                     budget_minus, targets)


@pytest.mark.parametrize("seed, with_local", [(21, False), (22, True), (23, False)])
def test_bounds_of_a_box_of_counts_are_below_its_completions(seed, with_local):
    """A search node fixes the first clusters' counts and confines cluster k's to a box:
    both bounds must be at most the count of every admissible completion inside it."""
    rng = np.random.default_rng(seed)
    n_groups = k = 4
    ranks = np.array([rng.permutation(k) for _ in range(n_groups)])
    tp, tm = np.full((n_groups, k), 0.01), 0.4 + 0.5 * ranks / (k - 1)
    p, group = rng.uniform(0.6, 0.99999, 40), rng.integers(0, n_groups, 40)
    cap_plus, cap_minus = rng.integers(1, 4, k), rng.integers(2, 6, k)
    local = rng.integers(2, 5, k) if with_local else None
    caps = ClusterCapacities.of(cap_plus, cap_minus, local)
    coll = LocalizedExactCollective(p, group, tp, tm, cap_plus, cap_minus, local=local)
    checked = 0
    for budget_plus, budget_minus in [(0, 6), (2, 0), (2, 4)]:
        for a, d in _all_allocations(cap_plus, cap_minus, caps.local, budget_plus,
                                     budget_minus):
            cluster = int(rng.integers(0, k - 1))
            low_a, low_d = a.copy(), d.copy()
            low_a[cluster + 1:], low_d[cluster + 1:] = 0, 0
            low_a[cluster] = rng.integers(0, a[cluster] + 1)
            low_d[cluster] = rng.integers(0, d[cluster] + 1)
            top_a = int(rng.integers(a[cluster], min(budget_plus - low_a[:cluster].sum(),
                                                     cap_plus[cluster]) + 1))
            top_d = int(rng.integers(d[cluster], min(budget_minus - low_d[:cluster].sum(),
                                                     cap_minus[cluster]) + 1))
            cap_a, cap_d = coll._box_caps(cluster, top_a, top_d)
            args = (low_a, low_d, cluster, budget_plus - int(low_a.sum()),
                    budget_minus - int(low_d.sum()), cap_a, cap_d)
            inside = [coll.count(ca, cd) for ca, cd in _all_allocations(
                cap_plus, cap_minus, caps.local, budget_plus, budget_minus)
                if np.array_equal(ca[:cluster], a[:cluster])
                and np.array_equal(cd[:cluster], d[:cluster])
                and low_a[cluster] <= ca[cluster] <= top_a
                and low_d[cluster] <= cd[cluster] <= top_d]
            assert coll._bound(*args) <= min(inside)
            assert coll._split_bound(*args) <= min(inside)
            checked += 1
            if checked % 40 == 0:
                break
    assert checked >= 60


@pytest.mark.parametrize("seed, k", [(31, 3), (32, 3), (33, 4), (34, 5)])
def test_enumerated_deletions_equal_the_search_and_brute_force(seed, k, monkeypatch):
    """Deletion budgets that the top cell decides are solved by evaluating every allocation
    in closed form: the same counts as the branch and bound (and brute force)."""
    rng = np.random.default_rng(seed)
    ranks = np.array([rng.permutation(k) for _ in range(k)])
    tp, tm = np.full((k, k), 0.01), 0.5 + 0.45 * ranks / (k - 1)
    n = 40
    p, group = rng.uniform(0.6, 0.99999, n), rng.integers(0, k, n)
    p[rng.random(n) < 0.3] = 0.9995  # many equal strong targets, as unanimous votes give
    targets = rng.random(n) < 0.9
    caps = ClusterCapacities.of(np.full(k, 3), np.full(k, 40))
    args = (p, group, tp, tm, caps.cap_plus, caps.cap_minus)
    enumerated = LocalizedExactCollective(*args, targets=targets)
    searched = LocalizedExactCollective(*args, targets=targets)
    monkeypatch.setattr(searched, "_enumerable", lambda eps_m: False)
    for budget in range(0, 26 if k > 3 else 12):
        fast, slow = enumerated.certify(0, budget), searched.certify(0, budget)
        assert fast.exact and slow.exact and fast.nodes == 0
        assert fast.count == slow.count
        assert enumerated.count(fast.additions, fast.deletions) == fast.count
        if k == 3 and budget <= 6:
            assert fast.count == _brute_collective(p, group, tp, tm, caps, 0, budget, targets)


@pytest.mark.parametrize("seed", [41, 42, 43])
def test_enumerated_bounds_past_the_top_cell_budget(seed, monkeypatch):
    """Past `top_cell_budget` (3 deletions at tp 0.15) the enumeration gives a lower bound;
    the result is exact either way: the same counts as the search and brute force."""
    rng = np.random.default_rng(seed)
    k = 3
    ranks = np.array([rng.permutation(k) for _ in range(k)])
    tp, tm = np.full((k, k), 0.15), 0.3 + 0.4 * ranks / (k - 1)
    n = 30
    p, group = rng.uniform(0.55, 0.999, n), rng.integers(0, k, n)
    caps = ClusterCapacities.of(np.full(k, 2), np.full(k, 12))
    args = (p, group, tp, tm, caps.cap_plus, caps.cap_minus)
    enumerated, searched = LocalizedExactCollective(*args), LocalizedExactCollective(*args)
    monkeypatch.setattr(searched, "_enumerable", lambda eps_m: False)
    for budget in range(0, 9):
        fast, slow = enumerated.certify(0, budget), searched.certify(0, budget)
        assert fast.exact and fast.count == slow.count
        assert fast.count == _brute_collective(p, group, tp, tm, caps, 0, budget,
                                               np.ones(n, dtype=bool))


def test_early_stop_gives_a_lower_bound(monkeypatch):
    rng = np.random.default_rng(7)
    ranks = np.array([rng.permutation(4) for _ in range(4)])
    tp, tm = np.full((4, 4), 0.01), 0.4 + 0.5 * ranks / 3
    p, group = rng.uniform(0.9, 0.9999, 40), rng.integers(0, 4, 40)
    args = (p, group, tp, tm, [50] * 4, [50] * 4)
    monkeypatch.setattr(LocalizedExactCollective, "_enumerable", lambda self, eps_m: False)
    searched = 0
    for budget in range(1, 12):
        exact = LocalizedExactCollective(*args).certify(0, budget)
        stopped = LocalizedExactCollective(*args, max_nodes=1).certify(0, budget)
        assert exact.exact and stopped.count <= exact.count
        if exact.nodes > 1:
            searched += 1
            assert not stopped.exact
    assert searched


def test_sweep_is_monotone_and_matches_certify():
    rng = np.random.default_rng(8)
    tp, tm = _random_rows(rng, 3, 3)
    p, group = rng.uniform(0.8, 0.9999, 40), rng.integers(0, 3, 40)
    coll = LocalizedExactCollective(p, group, tp, tm, [100] * 3, [100] * 3)
    counts = [r.count for r in coll.sweep(0, np.arange(25))]
    assert all(np.diff(counts) <= 0) and counts[0] == 40 and counts[-1] == 0
    assert counts[7] == coll.certify(0, 7).count


def test_never_weaker_than_the_variance_constrained_collective():
    """On the same statistics (a binary classifier with Pr_x = p: mu = p, zeta = p (1 - p))
    the exact regions contain the variance-constrained ones, so the exact collective count
    is at least the variance-constrained collective (MILP) count."""
    rng = np.random.default_rng(9)
    n_groups = k = 4
    ranks = np.array([rng.permutation(k) for _ in range(n_groups)])
    tp, tm = np.full((n_groups, k), 0.01), 0.4 + 0.5 * ranks / (k - 1)
    n = 60
    p, group = rng.uniform(0.7, 0.9999, n), rng.integers(0, n_groups, n)
    cap_plus, cap_minus = np.full(k, 1000), np.full(k, 300)
    eta = variance_constrained_radius(p, p * (1 - p))
    w_plus, w_minus = localized_weight_matrices(tp, tm)
    variance = CollectiveCertifier(eta, group, w_plus, w_minus, cap_plus, cap_minus)
    exact = LocalizedExactCollective(p, group, tp, tm, cap_plus, cap_minus)
    stronger = 0
    for budget_plus, budget_minus in [(0, b) for b in range(0, 30, 3)] + [(1, 0), (2, 0),
                                                                         (3, 0), (1, 4)]:
        ours, theirs = exact.certify(budget_plus, budget_minus), variance.certify(
            budget_plus, budget_minus)
        assert ours.exact and ours.count >= theirs
        assert exact.naive(budget_plus, budget_minus) >= variance.naive(budget_plus,
                                                                         budget_minus)
        stronger += ours.count > theirs
    assert stronger > 0


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="theta_plus and theta_minus"):
        LocalizedExactCollective([0.9], [0], [[0.01, 0.01]], [[0.3]], [1], [1])
    with pytest.raises(ValueError, match="cap_plus"):
        LocalizedExactCollective([0.9], [0], [[0.01]], [[0.3]], [1, 2], [1, 2])
    with pytest.raises(ValueError, match="group"):
        LocalizedExactCollective([0.9], [1], [[0.01]], [[0.3]], [1], [1])
    with pytest.raises(ValueError, match="p_lower"):
        LocalizedExactCollective([1.5], [0], [[0.01]], [[0.3]], [1], [1])
    with pytest.raises(ValueError, match="budget_minus"):
        LocalizedExactCollective([0.9], [0], [[0.01]], [[0.3]], [1], [1]).certify(0, -1)
