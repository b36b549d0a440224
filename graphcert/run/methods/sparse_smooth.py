"""SparseSmooth (Bojchevski et al. 2020; SPEC §4): isotropic sparsity-aware noise, Holm-
corrected vote bounds and each target's exact certified region.

It counts votes only, so it smooths one-hot scores (temperature 0) and shares its statistics
with the isotropic method at score_temperature 0.
"""
from __future__ import annotations

from graphcert.run.methods.base import CertificationInputs, SmoothingMethod
from graphcert.run.methods.isotropic import isotropic_noise
from graphcert.run.methods.localized import theta_samples

__all__ = ["SparseSmooth"]


class SparseSmooth(SmoothingMethod):
    name = "sparse_smooth"
    label = "SparseSmooth (isotropic, exact)"
    features = "binary"
    noise_name = "isotropic"
    fields = frozenset({"theta_plus", "theta_minus_low", "max_deletions", "max_additions"})

    def noise(self, config, data):
        return isotropic_noise(config, data)

    def temperature(self, config) -> float:
        return 0.0  # votes: argmax of the logits, whatever the temperature

    def certify(self, config, stats, noise, inputs: CertificationInputs):
        from graphcert.tasks.graph.evaluation import sparse_smooth_result
        return sparse_smooth_result(stats, inputs.y, inputs.targets, config.theta_plus,
                                    config.theta_minus_low, alpha=config.alpha,
                                    max_deletions=config.max_deletions,
                                    max_additions=config.max_additions)

    def describe_samples(self, noise) -> dict:
        return theta_samples(noise)
