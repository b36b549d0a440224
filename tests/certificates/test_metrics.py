"""Metrics (docs/theory.md §6) against hand computations and independent formulas."""

import numpy as np
import pytest

from graphcert.certificates.metrics import (
    average_certified_radius,
    center_smoothing_certified_accuracy,
    pareto_front,
)


def certified_share(radii, budgets, correct=None) -> np.ndarray:
    """Share of outputs correct (if given) and certified (budget <= radius) per budget."""
    radii, budgets = np.asarray(radii, dtype=float), np.asarray(budgets, dtype=float)
    certified = budgets[None, :] <= radii[:, None]
    if correct is not None:
        certified &= np.asarray(correct)[:, None]
    return certified.mean(axis=0)


def test_acr_integer_identity_and_mean_radius():
    rng = np.random.default_rng(1)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        radii = rng.integers(-1, 12, n)  # largest certified budget, -1 = abstain / uncertified
        correct = rng.random(n) < 0.8
        budgets = np.arange(radii.max() + 2)
        xi = certified_share(radii, budgets, correct)
        acr = average_certified_radius(budgets, xi)
        # docs/theory.md §6: sum_n eps_n (xi(eps_n) - xi(eps_{n+1})) with eps_1 = 0
        identity = sum(e * (xi[i] - xi[i + 1]) for i, e in enumerate(budgets[:-1]))
        assert acr == pytest.approx(identity)
        assert acr == pytest.approx(np.mean(np.where(correct, np.maximum(radii, 0), 0)))


def test_acr_continuous_grid():
    # radii 0.5 and 1.0 on h = 0.25: xi = 1, 1, 1, 1/2, 1/2, 0 -> ACR = mean radius 0.75
    budgets = np.arange(6) * 0.25
    xi = certified_share([0.5, 1.0], budgets)
    assert average_certified_radius(budgets, xi) == pytest.approx(0.25 * (1 + 1 + 0.5 + 0.5))


@pytest.mark.parametrize("budgets, curve, message", [
    ([1, 2, 3], [0.5, 0.2, 0.0], "start at 0"),
    ([0, 1, 3], [0.5, 0.2, 0.0], "evenly spaced"),
    ([0, 1, 2], [0.5, 0.2, 0.1], "reach 0"),
    ([0, 1, 2], [0.5, np.nan, 0.0], "finite"),
    ([0, 1, 2], [1.5, 0.2, 0.0], r"\[0, 1\]"),
])
def test_acr_rejects_bad_grids(budgets, curve, message):
    with pytest.raises(ValueError, match=message):
        average_certified_radius(budgets, curve)


def test_center_smoothing_certified_accuracy():
    assert center_smoothing_certified_accuracy(80, 90, 100) == pytest.approx(0.7)
    assert center_smoothing_certified_accuracy(5, 90, 100) == 0.0
    np.testing.assert_allclose(center_smoothing_certified_accuracy([80, 80], [100, 50], 100),
                               [0.8, 0.3])
    with pytest.raises(ValueError):
        center_smoothing_certified_accuracy(101, 90, 100)


def test_pareto_front_by_hand():
    accuracy = [0.8, 0.7, 0.9, 0.7, 0.6, 0.9]
    acr = [1.0, 2.0, 0.5, 1.5, 2.0, 0.5]
    # 3 is dominated by 1, 4 by 1; 2 and 5 are equal and both kept
    np.testing.assert_array_equal(pareto_front(accuracy, acr), [1, 0, 2, 5])


def test_pareto_front_equals_brute_force():
    rng = np.random.default_rng(2)
    for _ in range(100):
        n = int(rng.integers(1, 12))
        acc, acr = rng.integers(0, 5, n) / 4, rng.integers(0, 5, n) / 2
        expected = [i for i in range(n)
                    if not any(acc[j] >= acc[i] and acr[j] >= acr[i]
                               and (acc[j], acr[j]) != (acc[i], acr[i]) for j in range(n))]
        expected.sort(key=lambda i: (acc[i], i))
        np.testing.assert_array_equal(pareto_front(acc, acr), expected)
