"""Isotropic smoothing of binary attributes with variance-constrained certificates (the
baseline of docs/theory.md §2: one distribution, theta_plus and theta_minus_low everywhere; with the
structure threat models p_plus and p_minus on every node pair, docs/theory.md §8)."""
from __future__ import annotations

from graphcert.run.methods.localized import VARIANCE_FIELDS, VarianceConstrained
from graphcert.run.methods.threats import THREAT_MODELS, threat_noise

__all__ = ["Isotropic", "isotropic_run_noise"]


def isotropic_run_noise(config, data):
    """One cluster, theta_plus / theta_minus_low on every attribute (docs/theory.md §2) and, with a
    structure threat model, p_plus / p_minus on every node pair (docs/theory.md §8).

    Args:
        config (RunConfig): the run's settings.
        data (Data): the graph.

    Returns:
        LocalizedNoise or StructureNoise or ProductNoise: the noise of the threat model.
    """
    from graphcert.noise.binary import LocalizedNoise
    attributes = LocalizedNoise.isotropic(data.num_nodes, config.theta_plus,
                                          config.theta_minus_low)
    return threat_noise(config, data, attributes)


class Isotropic(VarianceConstrained):
    name = "isotropic"
    label = "isotropic (variance-constrained)"
    noise_name = "isotropic"
    threat_models = THREAT_MODELS
    fields = VARIANCE_FIELDS

    def noise(self, config, data):
        return isotropic_run_noise(config, data)
