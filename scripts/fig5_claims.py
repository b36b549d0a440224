"""Curves the LRS reference code's formulas would claim for a finished fig5 run.

NOT CERTIFICATES (see `fig5_overclaim`). Each method of the run is re-evaluated on the SAME
Monte Carlo statistics the sound certificate used (the run's `stats_*.npz`), the same targets,
predictions, weights, capacities and collective program; only the base certificate changes:

* variance-constrained methods (localized, isotropic): the reference's mean and variance
  estimates and radius ``ln(1 + (mean - 1/2)^2 / var^2)``, per-node confidence, no abstention;
* SparseSmooth: Clopper-Pearson at alpha for every node alone (the reference's
  `p_lower_from_votes`, localized_smoothing/graph/utils.py line 438, has no correction across
  nodes; graphcert uses Holm).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from fig5_overclaim import (
    REFERENCE_CONFIDENCE,
    reference_claimed_radius,
    reference_mean_variance,
    score_distribution,
)

from graphcert.certificates import localized_weight_matrices, sparse_smooth_region
from graphcert.certificates.bounds import clopper_pearson_lower
from graphcert.certificates.collective import CollectiveCertifier
from graphcert.data.datasets import graph_split, load_graph
from graphcert.run.config import RunConfig
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.results import Curve
from graphcert.tasks.graph.surface import AttackSurface

ATTACKS = ("deletions", "additions")


def method_claims(run_dir: Path, config: RunConfig, results: dict) -> dict[str, dict]:
    """{method: claimed accuracy, ACRs and diagnostics} for every method of the run, each
    from the statistics file its results name."""
    data = load_graph(config.dataset)
    _, idx_val, idx_test = graph_split(data, config.n_per_class, config.split_seed)
    targets = idx_val if config.targets == "val" else idx_test
    y = data.y.numpy()
    surface = AttackSurface.from_attributes(data.x.numpy(), config.local_budget)
    claims = {}
    for method, entry in results["methods"].items():
        stats = SmoothingStats.load(run_dir / entry["samples"]["statistics"])
        if method == "sparse_smooth":
            claims[method] = uncorrected_sparse_smooth(stats, y, targets, config)
        else:
            claims[method] = reference_formula_claims(stats, y, targets, entry, surface,
                                                      config, collective=method == "localized")
    return claims


def _budgets(attack: str, config: RunConfig) -> tuple[np.ndarray, np.ndarray]:
    """(additions, deletions) along one attack direction."""
    budgets = np.arange((config.max_deletions if attack == "deletions"
                         else config.max_additions) + 1)
    return (0 * budgets, budgets) if attack == "deletions" else (budgets, 0 * budgets)


def _naive_counts(certifier: CollectiveCertifier, plus, minus) -> list[int]:
    return [certifier.naive(p, m) for p, m in zip(plus, minus, strict=True)]


def _summary(curves: dict[str, Curve], accuracy: float, **extra) -> dict:
    out = {"accuracy": accuracy, **extra}
    for attack, curve in curves.items():
        out[f"acr_{attack}_naive"] = curve.acr("naive")
        out[f"acr_{attack}_collective"] = None if curve.collective is None else \
            curve.acr("collective")
        out[f"{attack}_reaches_zero"] = curve.reaches_zero("naive")
    return out


def reference_formula_claims(stats: SmoothingStats, y: np.ndarray, targets: np.ndarray,
                             entry: dict, surface: AttackSurface, config: RunConfig, *,
                             collective: bool) -> dict:
    """Naive (and collective) curves with the reference's radii on the run's statistics."""
    n = stats.n[targets]
    values, counts = score_distribution(stats.hist[targets], stats.score_sum[targets],
                                        stats.score_sq_sum[targets], n)
    mean_ref, var_ref = reference_mean_variance(values, counts, REFERENCE_CONFIDENCE)
    eta = reference_claimed_radius(mean_ref, var_ref)
    correct = stats.candidate_score[targets] == y[targets]
    w_plus, w_minus = localized_weight_matrices(np.asarray(entry["samples"]["theta_plus"]),
                                                np.asarray(entry["samples"]["theta_minus"]))
    args = (eta, stats.labels[targets], w_plus, w_minus, surface.cap_plus, surface.cap_minus)
    common = dict(unit_group=stats.labels, local_budget=surface.local_budget,
                  milp_bins=config.milp_bins)
    certifier = CollectiveCertifier(*args, targets=correct, relax=config.relax, **common)
    everyone = CollectiveCertifier(*args, targets=np.ones_like(correct), **common)
    curves = {}
    for attack in ATTACKS:
        plus, minus = _budgets(attack, config)
        curves[attack] = Curve(
            minus.tolist() if attack == "deletions" else plus.tolist(),
            _naive_counts(certifier, plus, minus),
            certifier.sweep(plus, minus).astype(int).tolist() if collective else None,
            _naive_counts(everyone, plus, minus), len(targets))
    eta_sound = np.asarray(entry["eta"], dtype=float)
    mean = stats.score_sum[targets] / n
    variance = stats.score_sq_sum[targets] / n - mean**2
    return _summary(curves, float(np.mean(correct & (eta > 0))),
                    claimed_above_sound=float(np.mean(eta > eta_sound)),
                    var_below_variance=float(np.mean(var_ref < variance)),
                    eta_sound_median=float(np.median(eta_sound[correct])) if correct.any()
                    else None,
                    eta_claimed_median=float(np.median(eta[correct])) if correct.any()
                    else None)


def uncorrected_sparse_smooth(stats: SmoothingStats, y: np.ndarray, targets: np.ndarray,
                              config: RunConfig) -> dict:
    """SparseSmooth curves with a Clopper-Pearson bound at alpha for each node alone."""
    predicted = stats.candidate_vote[targets]
    p_lower = clopper_pearson_lower(stats.votes[targets, predicted], stats.n[targets],
                                    config.alpha)
    region = sparse_smooth_region(p_lower, config.theta_plus, config.theta_minus_low,
                                  config.max_additions, config.max_deletions)
    correct = predicted == y[targets]
    curves = {}
    for attack, certified in (("deletions", region[:, 0, :]), ("additions", region[:, :, 0])):
        curves[attack] = Curve(list(range(certified.shape[1])),
                               (certified & correct[:, None]).sum(0).astype(int).tolist(),
                               None, certified.sum(0).astype(int).tolist(), len(targets))
    return _summary(curves, float(np.mean(correct & (p_lower > 0.5))),
                    claimed_above_sound=None, var_below_variance=None)
