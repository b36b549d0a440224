"""Isotropic smoothing of binary attributes with variance-constrained certificates (the
baseline of SPEC §2: one distribution, theta_plus and theta_minus_low everywhere)."""
from __future__ import annotations

from graphcert.run.methods.localized import VARIANCE_FIELDS, VarianceConstrained

__all__ = ["Isotropic", "isotropic_noise"]


def isotropic_noise(config, data):
    """One cluster, theta_plus / theta_minus_low on every attribute (SPEC §2)."""
    from graphcert.noise.binary import LocalizedNoise
    return LocalizedNoise.isotropic(data.num_nodes, config.theta_plus, config.theta_minus_low)


class Isotropic(VarianceConstrained):
    name = "isotropic"
    label = "isotropic (variance-constrained)"
    noise_name = "isotropic"
    fields = VARIANCE_FIELDS

    def noise(self, config, data):
        return isotropic_noise(config, data)
