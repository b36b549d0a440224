"""Localized smoothing of binary attributes with variance-constrained certificates (SPEC §2,
§3, §5): METIS clusters, deletion probabilities by affinity rank, naive and collective (MILP)
certificates over deletion and addition budgets."""
from __future__ import annotations

import numpy as np

from graphcert.run.methods.base import CertificationInputs, SmoothingMethod

__all__ = ["Localized", "VarianceConstrained", "metis_clusters", "theta_samples"]

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
        from graphcert.data.clustering import noise_schedule
        from graphcert.noise.binary import LocalizedNoise
        labels, ranks = metis_clusters(config, data)
        theta_minus = noise_schedule(ranks, config.theta_minus_low, config.theta_minus_high)
        return LocalizedNoise(labels, np.full_like(theta_minus, config.theta_plus), theta_minus)


def metis_clusters(config, data) -> tuple[np.ndarray, np.ndarray]:
    """(labels, ranks): config.n_clusters METIS clusters of the graph and their affinity
    ranks (SPEC §2), shared by the localized methods."""
    from graphcert.data.clustering import affinity_ranks, cluster_affinity, metis_partition
    labels = metis_partition(data.edge_index, data.num_nodes, config.n_clusters,
                             seed=config.split_seed)
    return labels, affinity_ranks(cluster_affinity(data.edge_index, labels, config.n_clusters))
