"""Closed-form thresholds of deletion-only localized perturbations from the top cell
(docs/theory.md §11.1), against exact rational Neyman-Pearson fills and the cell-by-cell
certificate."""
from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from graphcert.certificates import localized_exact_threshold
from graphcert.certificates._localized_deletions import top_cell_budget, top_cell_thresholds
from tests.helpers import exact_np_fill


def _outcomes(tp, tm, deletions):
    """(Pr_x(z), Pr_x'(z)) in exact rationals for every outcome z of the deleted bits (a
    deleted bit is 1 in z with probability 1 - tm under x, tp under x')."""
    bits = [(1 - Fraction(float(m)), Fraction(float(p)))
            for p, m, d in zip(tp, tm, deletions, strict=True) for _ in range(int(d))]
    out = []
    for z in itertools.product((0, 1), repeat=len(bits)):
        px = pxp = Fraction(1)
        for (on_x, on_xp), bit in zip(bits, z, strict=True):
            px *= on_x if bit else 1 - on_x
            pxp *= on_xp if bit else 1 - on_xp
        out.append((px, pxp))
    return out


def test_thresholds_split_exact_fills():
    """Just above p* the exact worst case is above 1/2, just below it is not."""
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(40):
        k = int(rng.integers(1, 4))
        tp, tm = rng.uniform(0.01, 0.2, k), rng.uniform(0.3, 0.79, k)
        deletions = rng.integers(0, 4, k)
        if not 0 < deletions.sum() <= min(8, top_cell_budget(tp, tm)):
            continue
        threshold = top_cell_thresholds(tp, tm, deletions[None])[0]
        outcomes = _outcomes(tp, tm, deletions)
        above, below = np.nextafter(threshold, 2.0), threshold * (1 - 1e-12)
        assert exact_np_fill(outcomes, Fraction(float(above))) > Fraction(1, 2)
        assert exact_np_fill(outcomes, Fraction(float(below))) <= Fraction(1, 2)
        checked += 1
    assert checked > 20


def test_equal_to_the_cell_by_cell_threshold():
    rng = np.random.default_rng(1)
    for _ in range(200):
        k = int(rng.integers(1, 6))
        tp, tm = np.full(k, rng.choice([0.002, 0.01, 0.05])), rng.uniform(0.3, 0.95, k)
        total = int(rng.integers(0, min(40, top_cell_budget(tp, tm)) + 1))
        deletions = rng.multinomial(total, np.full(k, 1 / k))
        fast = top_cell_thresholds(tp, tm, deletions[None])[0]
        slow = localized_exact_threshold(tp, tm, np.zeros(k, dtype=int), deletions)
        assert fast <= slow + 1e-15  # both bound p* above; the closed form by a few ulps
        assert fast >= slow - 1e-9


def test_budget_keeps_the_top_cell_at_half_the_mass():
    tp, tm = np.array([[0.01, 0.02], [0.01, 0.01]]), np.array([[0.7, 0.8], [0.9, 0.3]])
    budget = top_cell_budget(tp, tm)
    assert (1 - 0.02) ** budget >= 0.5 > (1 - 0.02) ** (budget + 1)
    assert top_cell_budget([0.01], [0.7]) == 68
    assert top_cell_budget([0.3, 0.01], [0.7, 0.5]) == -1  # tp + tm = 1: no top cell


def test_beyond_the_budget_an_upper_bound():
    """Past `top_cell_budget` (3 deletions at tp 0.2) the closed form still bounds p* above:
    above it the exact worst case is above 1/2, and it is never below the cell-by-cell p*;
    it is exact where the fill crosses 1/2 in the cells next to the top."""
    rng = np.random.default_rng(2)
    exact = checked = 0
    for _ in range(60):
        k = int(rng.integers(1, 4))
        tp, tm = np.full(k, 0.2), rng.uniform(0.3, 0.75, k)
        deletions = rng.integers(0, 5, k)
        if not top_cell_budget(tp, tm) < deletions.sum() <= 9:
            continue
        threshold = top_cell_thresholds(tp, tm, deletions[None])[0]
        outcomes = _outcomes(tp, tm, deletions)
        assert threshold == 1.0 or exact_np_fill(
            outcomes, Fraction(float(np.nextafter(threshold, 2.0)))) > Fraction(1, 2)
        slow = localized_exact_threshold(tp, tm, np.zeros(k, dtype=int), deletions)
        assert threshold >= slow - 1e-9
        exact += abs(threshold - slow) <= 1e-9
        checked += 1
    assert checked > 20 and 0 < exact < checked


def test_no_deletion_and_bad_input():
    assert top_cell_thresholds([0.01, 0.01], [0.5, 0.6], [[0, 0]])[0] == 0.5
    with pytest.raises(ValueError, match="deletions must be"):
        top_cell_thresholds([0.01, 0.01], [0.5, 0.6], [0, 1])
    with pytest.raises(ValueError, match="below 1"):
        top_cell_thresholds([0.3], [0.7], [[2]])
