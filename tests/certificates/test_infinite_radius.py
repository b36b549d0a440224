"""An infinite base radius (e.g. ``variance_constrained_radius(0.9, 0)``) is certified, as in
`BaseCertificate`, by the naive and the collective counts too (docs/theory.md §5: certified iff the
adversary's weighted change < eta). With finite weights that is every budget; an infinite
weight (a bit the noise never flips) still breaks it, since inf < inf is false."""
from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from graphcert.certificates import BaseCertificate, variance_constrained_radius
from graphcert.certificates.collective import (
    CollectiveCertifierL2,
    PairUnits,
    collective_certificate,
    naive_certificate,
    naive_certificate_l2,
)

INF = np.inf
ETA = np.array([INF, 0.7, 2.5, INF, -INF, 0.0, 1.2, INF, 3.0])
GROUP = np.array([0, 0, 0, 1, 1, 1, 1, 0, 1])
W_PLUS = np.array([[0.5, 1.0, 0.3],
                   [0.4, 0.9, INF]])  # group 1: one addition on unit 2 breaks everything
W_MINUS = np.array([[0.2, 0.6, 1.1],
                    [0.7, 0.1, 0.5]])
CAP_PLUS, CAP_MINUS = np.array([1, 2, 1]), np.array([2, 1, 1])


def damage(k: int, b_plus, b_minus) -> float:
    terms = [w * b for w, b in zip(W_PLUS[k], b_plus, strict=True) if b] + \
            [w * b for w, b in zip(W_MINUS[k], b_minus, strict=True) if b]
    return float(sum(terms))


def allocations(eps_plus: int, eps_minus: int):
    for b_plus in product(*(range(c + 1) for c in CAP_PLUS)):
        if sum(b_plus) <= eps_plus:
            for b_minus in product(*(range(c + 1) for c in CAP_MINUS)):
                if sum(b_minus) <= eps_minus:
                    yield b_plus, b_minus


def certified(b_plus, b_minus) -> np.ndarray:
    """Outputs still certified under one allocation (docs/theory.md §5), by direct evaluation."""
    return np.array([eta > 0 and damage(k, b_plus, b_minus) < eta
                     for eta, k in zip(ETA, GROUP, strict=True)])


@pytest.mark.parametrize("eps_plus, eps_minus", list(product(range(4), range(4))))
def test_infinite_radii_match_brute_force(eps_plus, eps_minus):
    masks = np.array([certified(bp, bm) for bp, bm in allocations(eps_plus, eps_minus)])
    collective = int(masks.sum(axis=1).min())
    naive = int(masks.all(axis=0).sum())
    args = (ETA, GROUP, W_PLUS, W_MINUS, CAP_PLUS, CAP_MINUS, eps_plus, eps_minus)
    assert naive_certificate(*args) == naive
    assert collective_certificate(*args) == collective  # enumeration
    assert collective_certificate(*args, max_enumeration=0) == collective  # MILP
    assert collective_certificate(*args, max_enumeration=0, merge_units=False) == collective
    assert collective_certificate(*args, relax=True) <= collective


def test_infinite_radius_is_certified_like_the_base_certificate():
    eta = variance_constrained_radius(0.9, 0.0)
    assert eta == INF
    cert = BaseCertificate(np.array([1]), np.array([eta]), np.array([0]))
    assert not cert.abstained[0]
    # every budget, for finite weights: naive and collective count it
    for budget in (0, 1, 5, 1000):
        args = ([eta], [0], [[2.0]], [[3.0]], [10**6], [10**6], budget, budget)
        assert naive_certificate(*args) == 1
        assert collective_certificate(*args) == 1
        assert collective_certificate(*args, max_enumeration=0) == 1


def test_infinite_radii_in_the_l2_certificates():
    """One unit; group 0 has weight 1, group 1 an infinite weight (broken by any budget)."""
    eta = np.array([INF, 0.5, INF, 2.0])
    group = np.array([0, 0, 1, 1])
    w = np.array([[1.0], [INF]])
    certifier = CollectiveCertifierL2(eta, group, w)
    for budget, expected in [(0.0, 4), (0.25, 2), (0.5, 1), (10.0, 1), (INF, 0)]:
        assert certifier.certify(budget) == expected, budget
        assert naive_certificate_l2(eta, group, w, budget) == expected, budget
    assert CollectiveCertifierL2(eta, group, w, relax=False).certify(0.7) == 1
    # with quantized radii the infinite radius is kept (never binned) and still certified
    assert CollectiveCertifierL2(eta, group, w, milp_bins=2).certify(3.0) == 1
    zero = CollectiveCertifierL2([INF], [0], [[0.0]])  # weight 0: nothing can break it
    assert zero.certify(INF) == 1 and naive_certificate_l2([INF], [0], [[0.0]], INF) == 1


def test_infinite_radii_with_pair_units_match_brute_force():
    """With node pairs as units (docs/theory.md §8) too: an infinite radius is broken only by an
    edge or bit of infinite weight, never by any sum of finite ones."""
    rng = np.random.default_rng(5)
    for trial in range(25):
        eta = rng.choice([-INF, 0.5, 1.5, 3.0, INF, INF], size=8)
        group = rng.integers(0, 2, eta.size)
        sides = [(rng.choice([0.25, 1.0, 2.0, INF], (2, cols)), rng.integers(0, 3, cols))
                 for cols in (2, 2, 3, 3)]  # attribute +, attribute -, pair +, pair -
        budgets = [int(v) for v in rng.integers(0, 3, 4)]
        reach = []
        for (w, cap), eps in zip(sides, budgets, strict=True):
            vectors = [np.array(b) for b in product(*(range(c + 1) for c in cap))
                       if sum(b) <= eps]
            with np.errstate(invalid="ignore"):  # an unused unit of weight inf costs 0
                reach.append([np.where(b > 0, w * b, 0.0).sum(1) for b in vectors])
        masks = np.array([(eta > 0) & (sum(parts)[group] < eta)
                          for parts in product(*reach)])
        units = PairUnits(sides[2][0], sides[3][0], sides[2][1], sides[3][1])
        args = (eta, group, sides[0][0], sides[1][0], sides[0][1], sides[1][1], *budgets[:2])
        common = dict(structure=units, budget_plus_adj=budgets[2], budget_minus_adj=budgets[3])
        collective = int(masks.sum(axis=1).min())
        assert collective_certificate(*args, **common) == collective, trial
        assert collective_certificate(*args, max_enumeration=0, **common) == collective, trial
        assert naive_certificate(*args, **common) == int(masks.all(axis=0).sum()), trial
