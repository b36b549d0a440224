"""Localized smoothing with the exact certificate (docs/theory.md §11): the localized
method's noise and statistics file (the same samples), another certificate.

``p_lower`` is the Clopper-Pearson lower bound on the predicted class's vote share with
Holm's correction over the targets (as SparseSmooth); each target's region is exact over
per-cluster allocations of added and deleted bits; naive and collective (branch and bound)
counts (`graphcert.tasks.graph.localized_exact`). Attribute threat model only.
"""
from __future__ import annotations

from graphcert.run.methods.base import CertificationInputs, SmoothingMethod
from graphcert.run.methods.localized import Localized

__all__ = ["LocalizedExact"]


class LocalizedExact(SmoothingMethod):
    name = "localized_exact"
    label = "localized smoothing (exact, Holm)"
    features = "binary"
    noise_name = Localized.noise_name  # one statistics file with the localized method
    fields = frozenset({"n_clusters", "theta_plus", "theta_minus_low", "theta_minus_high",
                        "score_temperature", "max_deletions", "max_additions",
                        "local_budget"})

    def noise(self, config, data):
        return Localized().noise(config, data)

    def temperature(self, config) -> float:
        # the localized method's temperature, so both read one file; votes are the argmax
        # of the logits at any temperature
        return Localized().temperature(config)

    def evaluate(self, config, stats, noise, inputs: CertificationInputs):
        from graphcert.tasks.graph.localized_exact import localized_exact_result
        return localized_exact_result(
            self.name, stats, inputs.y, inputs.targets, noise.theta_plus, noise.theta_minus,
            inputs.surface, alpha=config.alpha, max_deletions=config.max_deletions,
            max_additions=config.max_additions)

    def describe_samples(self, noise) -> dict:
        return {"theta_plus": noise.theta_plus.tolist(),
                "theta_minus": noise.theta_minus.tolist()}
