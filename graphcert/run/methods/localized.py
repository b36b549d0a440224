"""Localized smoothing of binary attributes with variance-constrained certificates (SPEC §2,
§3, §5): METIS clusters, deletion probabilities by affinity rank, naive and collective (MILP)
certificates over deletion and addition budgets."""
from __future__ import annotations

from graphcert.run.methods.base import CertificationInputs, SmoothingMethod

__all__ = ["Localized", "VarianceConstrained", "theta_samples"]

#: config fields of the variance-constrained certificates (localized and isotropic)
VARIANCE_FIELDS = frozenset({"theta_plus", "theta_minus_low", "score_temperature", "bounds",
                             "n_bins", "max_deletions", "max_additions", "local_budget",
                             "milp_bins", "relax"})


def theta_samples(noise) -> dict:
    """The flip probabilities of a `LocalizedNoise` (row = output cluster) as lists."""
    return {"theta_plus": noise.theta_plus.tolist(), "theta_minus": noise.theta_minus.tolist()}


class VarianceConstrained(SmoothingMethod):
    """Sparsity-aware noise, softmax(logits / T) scores, variance-constrained certificates."""

    features = "binary"

    def temperature(self, config) -> float:
        return config.score_temperature

    def needs_histogram(self, config) -> bool:
        return config.bounds == "dkw"  # only the DKW bounds read the histogram (SPEC §4)

    def certify(self, config, stats, noise, inputs: CertificationInputs):
        from graphcert.tasks.graph.evaluation import variance_constrained_result
        return variance_constrained_result(
            self.name, stats, inputs.y, inputs.targets, noise.theta_plus, noise.theta_minus,
            inputs.surface, alpha=config.alpha, bounds=config.bounds,
            max_deletions=config.max_deletions, max_additions=config.max_additions,
            n_bins=config.milp_bins, relax=config.relax)

    def describe_samples(self, noise) -> dict:
        return theta_samples(noise)


class Localized(VarianceConstrained):
    """One distribution per METIS cluster; theta_minus from theta_minus_low (own cluster) to
    theta_minus_high (least connected cluster) by affinity rank (SPEC §2)."""

    name = "localized"
    label = "localized smoothing (variance-constrained)"
    noise_name = "localized"
    fields = VARIANCE_FIELDS | {"n_clusters", "theta_minus_high"}

    def noise(self, config, data):
        from graphcert.noise.binary import (
            localized_sparse_noise,  # graphcert.localized_noise's
        )
        return localized_sparse_noise(data.edge_index, data.num_nodes, config.n_clusters,
                                      config.theta_plus,
                                      (config.theta_minus_low, config.theta_minus_high),
                                      seed=config.split_seed)
