"""Collective certificates with node pairs as units (docs/theory.md §5, §8)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from graphcert.certificates import pair_weight_matrices, sparsity_aware_weights
from graphcert.certificates.collective import (
    CollectiveCertifier,
    PairUnits,
    collective_certificate,
    naive_certificate,
)
from graphcert.utils.pairs import cluster_pairs, pair_column


def _vectors(cap, budget):
    """Every integer 0 <= b <= cap with sum b <= budget."""
    return [np.array(v) for v in itertools.product(*(range(int(c) + 1) for c in cap))
            if sum(v) <= budget]


def _brute_force(eta, group, sides, budgets, targets=None):
    """min over all allocations of the unbroken targeted outputs; ``sides`` = (weights
    (G, units), capacities) for attribute +, attribute -, pair +, pair -."""
    targets = np.ones(eta.size, bool) if targets is None else targets
    valid = targets & (eta > 0)
    with np.errstate(invalid="ignore"):  # an unused bit of weight inf costs 0
        reach = [np.array([np.where(b > 0, w * b, 0.0).sum(1) for b in _vectors(cap, eps)])
                 for (w, cap), eps in zip(sides, budgets, strict=True)]
    best = valid.sum()
    for parts in itertools.product(*reach):
        z = sum(parts)
        best = min(best, int((valid & (z[group] < eta)).sum()))
    return best


def _instance(rng, n_groups=2, n_attr=2, n_clusters=2):
    n_cols = n_clusters * (n_clusters + 1) // 2
    eta = rng.choice([-np.inf, 0.5, 1.0, 1.5, 2.0, 3.0, 4.5], size=9)
    group = rng.integers(0, n_groups, eta.size)
    attr = [(rng.choice([0.25, 0.5, 1.0, 1.5], (n_groups, n_attr)), rng.integers(0, 3, n_attr))
            for _ in range(2)]
    pairs = [(rng.choice([0.25, 0.5, 1.0, 2.0, np.inf], (n_groups, n_cols)),
              rng.integers(0, 3, n_cols)) for _ in range(2)]
    units = PairUnits(pairs[0][0], pairs[1][0], pairs[0][1], pairs[1][1])
    return eta, group, attr, pairs, units


def test_collective_with_pair_units_equals_brute_force():
    rng = np.random.default_rng(0)
    for trial in range(40):
        eta, group, attr, pairs, units = _instance(rng)
        budgets = [int(v) for v in rng.integers(0, 4, 4)]
        want = _brute_force(eta, group, [*attr, *pairs], budgets)
        common = dict(structure=units, budget_plus_adj=budgets[2], budget_minus_adj=budgets[3])
        args = (eta, group, attr[0][0], attr[1][0], attr[0][1], attr[1][1], *budgets[:2])
        enumerated = collective_certificate(*args, **common)
        milp = collective_certificate(*args, max_enumeration=0, **common)
        lp = collective_certificate(*args, relax=True, **common)
        naive = naive_certificate(*args, **common)
        assert enumerated == milp == want, trial
        assert naive <= want and lp <= want, trial


def test_zero_edge_budgets_give_the_attribute_certificate():
    rng = np.random.default_rng(1)
    for _ in range(15):
        eta, group, attr, _, units = _instance(rng)
        args = (eta, group, attr[0][0], attr[1][0], attr[0][1], attr[1][1], 2, 1)
        assert (collective_certificate(*args, structure=units, max_enumeration=0)
                == collective_certificate(*args))


def test_edges_alone_when_attributes_cannot_change():
    """Attribute capacities 0: only the pair units matter; isotropic (one group, one column)
    reduces to the per-output sum of pair weights."""
    gp, gm = sparsity_aware_weights(0.01, 0.4)
    eta = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    units = PairUnits(np.array([[gp]]), np.array([[gm]]), [100], [100])
    certifier = CollectiveCertifier(eta, np.zeros(5, int), [[1.0]], [[1.0]], [0], [0],
                                    structure=units)
    for plus, minus in itertools.product(range(3), range(6)):
        budget = plus * gp + minus * gm
        assert certifier.naive(0, 0, plus, minus) == int((eta > budget).sum())
        assert certifier.certify(0, 0, plus, minus) == int((eta > budget).sum())


def _tiny_graph(rng, n_nodes=5):
    labels = np.array([0, 0, 0, 1, 1])[:n_nodes]
    pairs = np.array(list(itertools.combinations(range(n_nodes), 2))).T
    edges = pairs[:, rng.random(pairs.shape[1]) < 0.5]
    return labels, pairs, edges


def _graph_brute_force(eta, group, labels, pairs, edges, wp, wm, eps_plus, eps_minus, rho):
    """Every set of changed pairs of a tiny graph within the global and per-node budgets."""
    is_edge = {tuple(e) for e in edges.T}
    column = pair_column(labels[pairs[0]], labels[pairs[1]], 2)
    best = int((eta > 0).sum())
    for mask in itertools.product((0, 1), repeat=pairs.shape[1]):
        changed = np.flatnonzero(mask)
        deleted = np.array([tuple(pairs[:, c]) in is_edge for c in changed], dtype=bool)
        if (~deleted).sum() > eps_plus or deleted.sum() > eps_minus:
            continue
        if np.any(np.bincount(pairs[:, changed].ravel(), minlength=labels.size) > rho):
            continue
        z = wp[:, column[changed[~deleted]]].sum(1) + wm[:, column[changed[deleted]]].sum(1)
        best = min(best, int(((eta > 0) & (z[group] < eta)).sum()))
    return best


def test_per_node_budgets_exact_for_deletions_and_sound_for_additions():
    rng = np.random.default_rng(2)
    checked_additions = 0
    for trial in range(25):
        labels, pairs, edges = _tiny_graph(rng)
        wp = rng.choice([0.25, 0.5, 1.0], (2, 3))  # dyadic: sums are exact, ties are ties
        wm = rng.choice([0.25, 0.5, 1.0], (2, 3))
        eta = rng.choice([-np.inf, 0.5, 0.75, 1.25, 1.75, 2.5], 8)
        group = rng.integers(0, 2, eta.size)
        rho = int(rng.integers(1, 3))
        units = PairUnits.from_graph(edges, labels, wp, wm, local_budget=rho)
        certifier = CollectiveCertifier(eta, group, [[1.0]] * 2, [[1.0]] * 2, [0], [0],
                                        structure=units)
        lp = CollectiveCertifier(eta, group, [[1.0]] * 2, [[1.0]] * 2, [0], [0],
                                 structure=units, relax=True)
        eps_plus, eps_minus = int(rng.integers(0, 3)), int(rng.integers(1, 4))
        truth = _graph_brute_force(eta, group, labels, pairs, edges, wp, wm, 0, eps_minus, rho)
        assert certifier.certify(0, 0, 0, eps_minus) == truth, trial
        assert certifier.naive(0, 0, 0, eps_minus) <= truth
        assert lp.certify(0, 0, 0, eps_minus) <= truth
        truth = _graph_brute_force(eta, group, labels, pairs, edges, wp, wm, eps_plus,
                                   eps_minus, rho)
        got = certifier.certify(0, 0, eps_plus, eps_minus)
        assert certifier.naive(0, 0, eps_plus, eps_minus) <= got <= truth, trial
        assert lp.certify(0, 0, eps_plus, eps_minus) <= got
        checked_additions += eps_plus > 0
    assert checked_additions > 5


def test_infinite_radii_with_per_node_pair_budgets():
    """docs/theory.md §5 with pair units and per-node budgets (the per-edge program): an infinite
    radius (mu_lower > 1/2 with zeta_upper = 0) is certified against every change of finite weight
    and broken by any pair of infinite weight (inf < inf is false); abstentions (eta <= 0)
    never count. Deletions exact, additions sound, as for finite radii."""
    rng = np.random.default_rng(7)
    infinite_kept = infinite_broken = 0
    for trial in range(25):
        labels, pairs, edges = _tiny_graph(rng)
        wp = rng.choice([0.25, 0.5, 1.0, np.inf], (2, 3))
        wm = rng.choice([0.25, 0.5, 1.0, np.inf], (2, 3))
        eta = rng.choice([-np.inf, 0.0, 0.75, 1.25, np.inf, np.inf], 8)
        group = rng.integers(0, 2, eta.size)
        rho = int(rng.integers(1, 3))
        units = PairUnits.from_graph(edges, labels, wp, wm, local_budget=rho)
        certifier = CollectiveCertifier(eta, group, [[1.0]] * 2, [[1.0]] * 2, [0], [0],
                                        structure=units)
        eps_plus, eps_minus = int(rng.integers(0, 3)), int(rng.integers(1, 4))
        truth = _graph_brute_force(eta, group, labels, pairs, edges, wp, wm, 0, eps_minus, rho)
        assert certifier.certify(0, 0, 0, eps_minus) == truth, trial
        assert certifier.naive(0, 0, 0, eps_minus) <= truth, trial
        truth = _graph_brute_force(eta, group, labels, pairs, edges, wp, wm, eps_plus,
                                   eps_minus, rho)
        got = certifier.certify(0, 0, eps_plus, eps_minus)
        assert certifier.naive(0, 0, eps_plus, eps_minus) <= got <= truth, trial
        # the infinite radii alone: kept unless an infinite-weight pair can be changed
        only = np.where(np.isinf(eta) & (eta > 0), eta, -np.inf)
        alone = CollectiveCertifier(only, group, [[1.0]] * 2, [[1.0]] * 2, [0], [0],
                                    structure=units)
        truth = _graph_brute_force(only, group, labels, pairs, edges, wp, wm, 0, eps_minus,
                                   rho)
        assert alone.certify(0, 0, 0, eps_minus) == truth, trial
        infinite_kept += truth > 0
        infinite_broken += truth < int(np.isinf(only[only > 0]).sum())
    assert infinite_kept > 5 and infinite_broken > 5  # both cases occur


def test_local_budgets_that_cannot_bind_change_nothing():
    rng = np.random.default_rng(3)
    labels, _, edges = _tiny_graph(rng)
    wp, wm = np.array([[0.4, 0.7, 1.0]]), np.array([[0.5, 0.2, 0.9]])
    eta = np.array([0.5, 1.0, 1.4, 2.2, 3.0])
    loose = PairUnits.from_graph(edges, labels, wp, wm, local_budget=10)
    plain = PairUnits.from_graph(edges, labels, wp, wm)
    for eps in itertools.product(range(3), range(3)):
        counts = [CollectiveCertifier(eta, np.zeros(5, int), [[1.0]], [[1.0]], [0], [0],
                                      structure=units).certify(0, 0, *eps)
                  for units in (loose, plain)]
        assert counts[0] == counts[1]


def test_from_graph_capacities_and_columns():
    labels = np.array([0, 1, 1, 2, 0])
    edges = np.array([[0, 1, 2, 4, 3, 1], [4, 2, 1, 0, 3, 3]])  # duplicates, a self-loop
    wp, wm = pair_weight_matrices(np.full((3, 6), 0.01), np.full((3, 6), 0.4))
    units = PairUnits.from_graph(edges, labels, wp, wm, local_budget=[1, 2, 3, 4, 5])
    a, b = cluster_pairs(3)
    sizes = np.bincount(labels)
    total = np.where(a == b, sizes[a] * (sizes[a] - 1) // 2, sizes[a] * sizes[b])
    present = np.array([1, 0, 0, 1, 1, 0])  # {0,4}: (0,0); {1,2}: (1,1); {1,3}: (1,2)
    np.testing.assert_array_equal(units.cap_minus, present)
    np.testing.assert_array_equal(units.cap_plus, total - present)
    assert units.local.edges.shape == (2, 3)
    np.testing.assert_array_equal(units.local.free, [3, 2, 3, 3, 3])


def test_pair_weight_matrices():
    plus = np.array([[0.01, 0.02, 0.03], [0.04, 0.05, 0.06]])
    wp, wm = pair_weight_matrices(plus, 0.4)
    assert wp.shape == wm.shape == (2, 3)
    gp, gm = sparsity_aware_weights(plus, 0.4)
    np.testing.assert_array_equal(wp, gp)
    np.testing.assert_array_equal(wm, gm)
    assert pair_weight_matrices(0.01, 0.4)[0].shape == (1, 1)
    with pytest.raises(ValueError, match="cluster pairs"):
        pair_weight_matrices(np.full((2, 2, 2), 0.1), 0.4)


@pytest.mark.parametrize("call, message", [
    (lambda: CollectiveCertifier([1.0], [0], [[1.0]], [[1.0]], [1], [1]).certify(0, 0, 1, 0),
     "edge budgets need structure"),
    (lambda: CollectiveCertifier([1.0], [0], [[1.0]], [[1.0]], [1], [1],
                                 structure=PairUnits([[1.0]] * 2, [[1.0]] * 2, [1], [1])),
     "2 output groups"),
    (lambda: PairUnits([[1.0, 2.0]], [[1.0, 2.0]], [1], [1, 1]), r"cap_plus must have shape"),
    (lambda: PairUnits([[-1.0]], [[1.0]], [1], [1]), "w_plus must lie >= 0"),
    (lambda: PairUnits.from_graph([[0], [1]], [0, 1], [[1.0, 1.0]], [[1.0, 1.0]]),
     "not C"),
    (lambda: PairUnits.from_graph([[0], [5]], [0, 1], [[1.0] * 3], [[1.0] * 3]),
     "edges must lie in"),
])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
