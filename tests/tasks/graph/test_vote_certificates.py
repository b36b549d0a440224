"""Per-target answers of the vote-based certificates against independent computations:
Neyman-Pearson fills over every outcome of the changed bits / values (tiny budgets), the
downward closure of the pointwise certificates, the l2 naive certificate; attack parsing."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import norm

from graphcert.certificates import (
    BaseCertificate,
    kary_hamming_certified,
    sparse_smooth_certified,
)
from graphcert.certificates.collective import naive_certificate_l2
from graphcert.tasks.graph.attacks import attack_budget
from graphcert.tasks.graph.vote_certificates import (
    GaussianCertificate,
    KaryHammingCertificate,
    SparseSmoothCertificate,
)

P_LOWER = np.array([0.0, 0.52, 0.6, 0.75, 0.9, 0.97, 0.995, 0.99999])
PASSED = P_LOWER > 0.5


def worst_mass(p_lower: float, cells: list[tuple[float, float]]) -> float:
    """Neyman-Pearson: the least x'-mass of a set with x-mass p_lower, filled from the cells
    of smallest likelihood ratio Pr_x' / Pr_x."""
    mass = 0.0
    for px, px_prime in sorted(cells, key=lambda c: c[1] / c[0] if c[0] > 0 else np.inf):
        take = min(px, p_lower)
        mass += px_prime * take / px if px > 0 else 0.0
        p_lower -= take
        if p_lower <= 0:
            break
    return mass


def bit_cells(plus: float, minus: float, additions: int, deletions: int) -> list:
    """Probabilities under x and x' of every outcome of the changed bits: an added bit is 0 in
    x and 1 in x', a deleted bit the reverse; a 0 turns 1 with `plus`, a 1 stays with
    1 - `minus`."""
    cells = []
    for bits in itertools.product((0, 1), repeat=additions + deletions):
        px = px_prime = 1.0
        for i, bit in enumerate(bits):
            one_x, one_x_prime = (plus, 1 - minus) if i < additions else (1 - minus, plus)
            px *= one_x if bit else 1 - one_x
            px_prime *= one_x_prime if bit else 1 - one_x_prime
        cells.append((px, px_prime))
    return cells


def test_sparse_smooth_robust_matches_neyman_pearson_over_bit_outcomes():
    plus, minus = 0.05, 0.6
    cert = SparseSmoothCertificate(np.arange(8), np.zeros(8, int), np.where(PASSED, P_LOWER, 0),
                                   PASSED, {"edges": (plus, minus)})
    assert cert.attacks == ("edge_additions", "edge_deletions", "edges")
    for a, d in itertools.product(range(3), range(3)):
        expected = np.array([PASSED[t] and all(
            worst_mass(P_LOWER[t], bit_cells(plus, minus, a2, d2)) > 0.5 + 1e-12
            for a2 in range(a + 1) for d2 in range(d + 1)) for t in range(8)])
        assert np.array_equal(cert.robust("edges", (a, d)), expected), (a, d)
        assert np.array_equal(cert.robust("edge_additions", (a, d)), expected)
    assert np.array_equal(cert.robust("edge_deletions", 2), cert.robust("edges", (0, 2)))
    assert np.array_equal(cert.robust("edge_additions", 1), cert.robust("edges", (1, 0)))
    assert not cert.robust("edges", (0, 0))[0]  # abstains
    assert cert.robust("edge_deletions", 5).sum() < cert.robust("edge_deletions", 0).sum()


def test_sparse_smooth_joint_region_is_the_closure_of_the_pointwise_certificate():
    attributes, edges = (0.01, 0.6), (0.02, 0.4)
    cert = SparseSmoothCertificate(np.arange(8), np.zeros(8, int), np.where(PASSED, P_LOWER, 0),
                                   PASSED, {"attributes": attributes, "edges": edges})
    for budget in [((1, 2), (0, 1)), ((0, 3), (1, 1)), ((2, 0), (0, 0))]:
        (a, d), (sa, sd) = budget
        closure = np.ones(8, dtype=bool)
        for a2, d2, sa2, sd2 in itertools.product(*(range(v + 1) for v in (a, d, sa, sd))):
            closure &= sparse_smooth_certified(P_LOWER, *attributes, a2, d2,
                                               theta_plus_adj=edges[0], theta_minus_adj=edges[1],
                                               s_add=sa2, s_del=sd2)
        assert np.array_equal(cert.joint_region(*budget), closure & PASSED), budget
        assert np.array_equal(cert.robust("attributes_and_edges", budget), closure & PASSED)
    assert "attributes_and_edges" in cert.attacks
    # one kind alone is the joint region with nothing of the other
    assert np.array_equal(cert.robust("deletions", 3), cert.joint_region((0, 3), (0, 0)))
    assert np.array_equal(cert.robust("edges", (1, 1)), cert.joint_region((0, 0), (1, 1)))


def value_cells(keep: float, n_values: int, radius: int) -> list:
    """Probabilities under x and x' of every outcome of `radius` changed coordinates (x = 0,
    x' = 1 on each): a value is kept with `keep`, else redrawn uniformly."""
    def law(clean):
        return [keep * (v == clean) + (1 - keep) / n_values for v in range(n_values)]
    x, x_prime = law(0), law(1)
    return [(np.prod([x[v] for v in z]), np.prod([x_prime[v] for v in z]))
            for z in itertools.product(range(n_values), repeat=radius)]


def test_kary_hamming_robust_matches_neyman_pearson_over_value_outcomes():
    keep, n_values = 0.6, 3
    cert = KaryHammingCertificate(np.arange(8), np.zeros(8, int), np.where(PASSED, P_LOWER, 0),
                                  PASSED, keep, n_values)
    for r in range(4):
        expected = np.array([PASSED[t] and all(
            worst_mass(P_LOWER[t], value_cells(keep, n_values, r2)) > 0.5 + 1e-12
            for r2 in range(r + 1)) for t in range(8)])
        assert np.array_equal(cert.robust("hamming", r), expected), r
        pointwise = np.all([kary_hamming_certified(P_LOWER, keep, n_values, r2)
                            for r2 in range(r + 1)], axis=0)
        assert np.array_equal(cert.robust("hamming", r), pointwise & PASSED)
    assert cert.attacks == ("hamming",)


def test_gaussian_robust_is_the_naive_l2_certificate_per_target():
    rng = np.random.default_rng(0)
    p_lower = np.concatenate([[0.4, 0.5], rng.uniform(0.5, 1.0, 10)])
    eta = np.where(p_lower > 0.5, norm.ppf(np.maximum(p_lower, 0.5)) ** 2, -np.inf)
    group = rng.integers(0, 3, p_lower.size)
    weights = 1 / rng.uniform(0.2, 1.0, (3, 3)) ** 2
    cert = GaussianCertificate(np.arange(12), BaseCertificate(np.zeros(12, int), eta, group),
                               weights)
    assert np.array_equal(cert.prediction == -1, p_lower <= 0.5)
    for eps in (0.0, 0.1, 0.3, 0.7, 1.5):
        robust = cert.robust("l2", eps)
        one_by_one = [naive_certificate_l2(eta, group, weights, eps ** 2,
                                           targets=np.arange(12) == t) == 1 for t in range(12)]
        assert np.array_equal(robust, one_by_one), eps
        # independently: sigma_min of the target's row gives the largest certified radius
        radius = np.sqrt(np.maximum(eta, 0)) / np.sqrt(weights[group].max(1))
        assert np.array_equal(robust, (eta > 0) & (eps < radius - 1e-12) | (eta > 0) &
                              (eps == 0))
    assert cert.certified_accuracy(np.zeros(12, int), "l2", [0.0, 0.3]).tolist() == [
        cert.robust("l2", 0).mean(), cert.robust("l2", 0.3).mean()]


@pytest.mark.parametrize("attack, budget, message", [
    ("edges", 3, r"attack 'edges' takes an \(additions, deletions\) pair"),
    ("edge_additions", -1, r"budget == -1, must be >= 0"),
    ("edge_additions", (1, 2, 3), r"budget must be an \(additions, deletions\) pair"),
    ("edges", (1, -2), r"budget\[1\] \(deletions\) == -2"),
    ("additions", 1, "attack 'additions' is not covered by this certificate"),
    ("hamming", 1, "attack 'hamming' is not covered"),
    ("edge_insertions", 1, "attack must be one of"),
    ("edge_deletions", 1.5, "budget == 1.5, must be a whole number"),
    ("attributes_and_edges", ((1, 0), (0, 1)), "attack 'attributes_and_edges' is not covered"),
])
def test_attack_and_budget_errors(attack, budget, message):
    with pytest.raises(ValueError, match=message):
        attack_budget(attack, budget, ("edges",))


def test_budget_forms():
    assert attack_budget("edge_additions", 5, ("edges",)) == ("edges", (5, 0))
    assert attack_budget("edge_deletions", 2, ("edges",)) == ("edges", (0, 2))
    assert attack_budget("edge_additions", (5, 2), ("edges",)) == ("edges", (5, 2))
    assert attack_budget("attributes", np.array([1, 4]), ("attributes",)) == \
        ("attributes", (1, 4))
    assert attack_budget("l2", 0.5, ("l2",)) == ("l2", 0.5)
    assert attack_budget("hamming", np.int64(3), ("hamming",)) == ("hamming", 3)
    both = ("attributes", "edges")
    assert attack_budget("attributes_and_edges", ((1, 2), [3, 4]), both) == \
        ("joint", (1, 2, 3, 4))
    with pytest.raises(ValueError, match="takes two .additions, deletions. pairs"):
        attack_budget("attributes_and_edges", (1, 2, 3), both)
    with pytest.raises(ValueError, match=r"budget\[0\] must be an \(additions, deletions\)"):
        attack_budget("attributes_and_edges", (1, 2), both)
    with pytest.raises(ValueError, match=r"budget\[1\]\[0\] \(additions\) == -3"):
        attack_budget("attributes_and_edges", ((1, 2), (-3, 4)), both)
    with pytest.raises(ValueError, match=r"budget == -0.5, must be >= 0"):
        attack_budget("l2", -0.5, ("l2",))
