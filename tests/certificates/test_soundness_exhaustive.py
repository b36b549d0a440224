"""Exhaustive soundness checks of the variance-constrained certificate (docs/theory.md §3).

Tiny binary inputs x in {0,1}^d (d = 4..8), per-bit sparsity-aware noise with random
theta_plus / theta_minus in (0.05, 0.95), and a random base classifier g given as a table of
softmax scores over all 2^d noisy inputs z. Every smoothed quantity is computed EXACTLY by
enumerating z with the product-Bernoulli likelihood; nothing here uses the Monte Carlo bounds.
For every centre x and every x' in {0,1}^d we check that a certified x' really keeps the
prediction (mu' > 1/2), the chi-square identity rho = exp(total weight), and the bound
mu' >= mu - sqrt(zeta (rho - 1)).
"""
from __future__ import annotations

import numpy as np
import pytest

from graphcert.certificates import sparsity_aware_weights, variance_constrained_radius

N_INSTANCES = 200


def _instance(rng: np.random.Generator) -> dict:
    d, n_classes = int(rng.integers(4, 9)), int(rng.integers(2, 4))
    bits = ((np.arange(2**d)[:, None] >> np.arange(d)) & 1).astype(float)  # (2^d, d)
    tp, tm = rng.uniform(0.05, 0.95, d), rng.uniform(0.05, 0.95, d)
    # P[x, z] = prod_b Pr[z_b | x_b]; Pr[z_b = 1 | x_b = 0] = tp_b, Pr[z_b = 1 | x_b = 1] = 1 - tm_b
    p_one = np.where(bits == 1, 1 - tm, tp)
    noise = np.prod(np.where(bits[None] == 1, p_one[:, None], 1 - p_one[:, None]), axis=2)
    if rng.integers(2):  # confident near-constant classifier
        logits = rng.normal(size=(2**d, n_classes))
        logits[:, 0] += rng.uniform(1, 5)
    else:  # input-dependent classifier: the smoothed prediction changes across x
        logits = rng.uniform(1, 6) * bits @ rng.normal(size=(d, n_classes))
        logits += 0.3 * rng.normal(size=(2**d, n_classes))
    scores = np.exp(logits)
    scores /= scores.sum(axis=1, keepdims=True)
    return dict(bits=bits, tp=tp, tm=tm, noise=noise, scores=scores)


def _exact(inst: dict, nu_mode: str, rng: np.random.Generator) -> dict:
    """Exact mu, zeta (for the chosen nu) and mu'[x, x'] = E_x'[g_{y(x)}] for all pairs."""
    noise, scores = inst["noise"], inst["scores"]
    expect, expect_sq = noise @ scores, noise @ scores**2  # (2^d, classes), exact expectations
    rows = np.arange(noise.shape[0])
    pred = expect.argmax(axis=1)
    mu = expect[rows, pred]
    nu = mu if nu_mode == "mean" else rng.uniform(0, 1, size=mu.shape)
    zeta = expect_sq[rows, pred] - 2 * nu * mu + nu**2  # E[(g - nu)^2]
    return dict(pred=pred, mu=mu, zeta=zeta, mu_shift=expect[:, pred].T,
                argmax=expect.argmax(axis=1))


def _total_weight(inst: dict, gamma_plus: np.ndarray, gamma_minus: np.ndarray) -> np.ndarray:
    """W[x, x'] = sum over bits added from x to x' of gamma_plus + deleted of gamma_minus."""
    bits = inst["bits"]
    added = (bits[:, None] == 0) & (bits[None] == 1)
    deleted = (bits[:, None] == 1) & (bits[None] == 0)
    return (added * gamma_plus).sum(axis=2) + (deleted * gamma_minus).sum(axis=2)


@pytest.fixture(scope="module")
def instances() -> list[dict]:
    rng = np.random.default_rng(20240601)
    return [_instance(rng) for _ in range(N_INSTANCES)]


def test_rho_factorizes_into_bit_weights(instances):
    for inst in instances:
        noise = inst["noise"]
        rho = (1.0 / noise) @ (noise**2).T  # rho[x, x'] = sum_z pi_x'(z)^2 / pi_x(z)
        weight = _total_weight(inst, *sparsity_aware_weights(inst["tp"], inst["tm"]))
        np.testing.assert_allclose(rho, np.exp(weight), rtol=1e-9)


@pytest.mark.parametrize("nu_mode", ["mean", "random"])
def test_chi_square_lower_bound_holds_for_every_pair(instances, nu_mode):
    rng = np.random.default_rng(7)
    for inst in instances:
        ex = _exact(inst, nu_mode, rng)
        noise = inst["noise"]
        rho = (1.0 / noise) @ (noise**2).T
        bound = ex["mu"][:, None] - np.sqrt(ex["zeta"][:, None] * np.maximum(rho - 1, 0))
        assert np.all(ex["mu_shift"] >= bound - 1e-12)


@pytest.mark.parametrize("nu_mode", ["mean", "random"])
def test_certified_pairs_keep_the_exact_smoothed_prediction(instances, nu_mode):
    rng = np.random.default_rng(11)
    covered = 0
    for inst in instances:
        ex = _exact(inst, nu_mode, rng)
        eta = variance_constrained_radius(ex["mu"], ex["zeta"])
        weight = _total_weight(inst, *sparsity_aware_weights(inst["tp"], inst["tm"]))
        certified = weight < eta[:, None]
        assert np.all(ex["mu_shift"][certified] > 0.5)
        x_idx, xp_idx = np.nonzero(certified)
        assert np.array_equal(ex["argmax"][xp_idx], ex["pred"][x_idx])
        covered += int(np.sum(certified & (weight > 0)))
    assert covered > 1000, "the certificate should be non-vacuous on these instances"


@pytest.mark.parametrize("mutant", ["zeta_squared", "weights_swapped"])
def test_harness_catches_known_wrong_formulas(instances, mutant):
    """The checks above can fail: plausible wrong formulas over-certify on these instances."""
    rng = np.random.default_rng(3)
    violations = 0
    for inst in instances:
        ex = _exact(inst, "mean", rng)
        gamma_plus, gamma_minus = sparsity_aware_weights(inst["tp"], inst["tm"])
        if mutant == "zeta_squared":
            with np.errstate(divide="ignore"):
                eta = np.where(ex["mu"] > 0.5, np.log1p((ex["mu"] - 0.5) ** 2 / ex["zeta"] ** 2),
                               -np.inf)
        else:
            eta = variance_constrained_radius(ex["mu"], ex["zeta"])
            gamma_plus, gamma_minus = gamma_minus, gamma_plus
        weight = _total_weight(inst, gamma_plus, gamma_minus)
        violations += int(np.sum((weight < eta[:, None]) & (ex["mu_shift"] <= 0.5)))
    assert violations > 0
