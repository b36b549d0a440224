"""SparseSmooth (Bojchevski et al. 2020; docs/theory.md §4, §8): isotropic sparsity-aware noise on
the attributes, the node pairs or both, Holm-corrected vote bounds and each target's exact
certified region.

It counts votes only, so it smooths one-hot scores (temperature 0) and shares its statistics
with the isotropic method at score_temperature 0.
"""
from __future__ import annotations

from graphcert.run.methods.base import CertificationInputs, SmoothingMethod
from graphcert.run.methods.isotropic import isotropic_run_noise
from graphcert.run.methods.threats import (
    STRUCTURE_FIELDS,
    THREAT_MODELS,
    noise_samples,
)

__all__ = ["SparseSmooth"]


class SparseSmooth(SmoothingMethod):
    name = "sparse_smooth"
    label = "SparseSmooth (isotropic, exact)"
    features = "binary"
    noise_name = "isotropic"
    threat_models = THREAT_MODELS
    fields = frozenset({"threat_model", "theta_plus", "theta_minus_low", "max_deletions",
                        "max_additions"}) | STRUCTURE_FIELDS - {"p_minus_high"}

    def noise(self, config, data):
        return isotropic_run_noise(config, data)

    def temperature(self, config) -> float:
        return 0.0  # votes: argmax of the logits, whatever the temperature

    def evaluate(self, config, stats, noise, inputs: CertificationInputs):
        from graphcert.tasks.graph.binary import sparse_smooth_result
        from graphcert.tasks.graph.noises import attribute_part, structure_part
        attributes, structure = attribute_part(noise) is not None, structure_part(noise)
        return sparse_smooth_result(
            stats, inputs.y, inputs.targets, config.theta_plus if attributes else None,
            config.theta_minus_low if attributes else None, alpha=config.alpha,
            max_deletions=config.max_deletions, max_additions=config.max_additions,
            p_plus=None if structure is None else config.p_plus,
            p_minus=None if structure is None else config.p_minus,
            max_edge_deletions=config.max_edge_deletions,
            max_edge_additions=config.max_edge_additions)

    def describe_samples(self, noise) -> dict:
        return noise_samples(noise)
