"""Localized smoothing of binary attributes with variance-constrained certificates
(docs/theory.md §2, §3, §5): METIS clusters, deletion probabilities by affinity rank, naive and
collective (MILP) certificates over deletion and addition budgets; with the structure threat models
(docs/theory.md §8) the node pairs are smoothed and certified too
(`graphcert.run.methods.threats`)."""
from __future__ import annotations

from graphcert.run.methods.base import CertificationInputs, SmoothingMethod
from graphcert.run.methods.threats import (
    STRUCTURE_FIELDS,
    THREAT_MODELS,
    noise_samples,
    threat_noise,
)

__all__ = ["Localized", "VarianceConstrained"]

#: config fields of the variance-constrained certificates (localized and isotropic)
VARIANCE_FIELDS = frozenset({"threat_model", "theta_plus", "theta_minus_low",
                             "score_temperature", "bounds", "n_bins", "max_deletions",
                             "max_additions", "local_budget", "milp_bins", "relax"}
                            | STRUCTURE_FIELDS - {"p_minus_high"})


class VarianceConstrained(SmoothingMethod):
    """Sparsity-aware noise, softmax(logits / T) scores, variance-constrained certificates."""

    features = "binary"

    def temperature(self, config) -> float:
        return config.score_temperature

    def needs_histogram(self, config) -> bool:
        return config.bounds == "dkw"  # only the DKW bounds read the histogram (docs/theory.md §4)

    def evaluate(self, config, stats, noise, inputs: CertificationInputs):
        from graphcert.tasks.graph.binary import variance_constrained_result
        from graphcert.tasks.graph.noises import attribute_part, pair_units, structure_part
        from graphcert.tasks.graph.surface import AttackSurface
        attributes, structure = attribute_part(noise), structure_part(noise)
        theta_plus, theta_minus, surface = (attributes.theta_plus, attributes.theta_minus,
                                            inputs.surface) if attributes is not None else \
            (None, None, AttackSurface.fixed(len(inputs.y)))
        return variance_constrained_result(
            self.name, stats, inputs.y, inputs.targets, theta_plus, theta_minus, surface,
            alpha=config.alpha, bounds=config.bounds, max_deletions=config.max_deletions,
            max_additions=config.max_additions, milp_bins=config.milp_bins, relax=config.relax,
            structure=None if structure is None else pair_units(structure),
            max_edge_deletions=config.max_edge_deletions,
            max_edge_additions=config.max_edge_additions)

    def describe_samples(self, noise) -> dict:
        return noise_samples(noise)


class Localized(VarianceConstrained):
    """One distribution per METIS cluster; theta_minus from theta_minus_low (own cluster) to
    theta_minus_high (least connected cluster) by affinity rank (docs/theory.md §2)."""

    name = "localized"
    label = "localized smoothing (variance-constrained)"
    noise_name = "localized"
    threat_models = THREAT_MODELS
    fields = VARIANCE_FIELDS | {"n_clusters", "theta_minus_high", "p_minus_high"}

    def noise(self, config, data):
        from graphcert.noise.binary import (
            localized_sparse_noise,  # graphcert.localized_noise's
        )
        attributes = localized_sparse_noise(data.edge_index, data.num_nodes, config.n_clusters,
                                            config.theta_plus,
                                            (config.theta_minus_low, config.theta_minus_high),
                                            seed=config.split_seed)
        return threat_noise(config, data, attributes, localized=True)
