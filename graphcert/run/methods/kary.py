"""K-ary smoothing of categorical node attributes (docs/theory.md §9), certified over
Hamming budgets (`graphcert.tasks.graph.kary`):

* ``kary``: Lee et al.'s isotropic noise (every value kept with probability ``keep``, else
  redrawn uniformly), one-hot votes and the exact Hamming certificate;
* ``kary_localized``: ``keep`` by affinity rank of the METIS clusters, from ``keep`` (own
  cluster) to ``keep_far`` (least connected cluster) as in docs/theory.md §2, variance-constrained
  certificates with naive and collective counts.

Both need categorical attributes: ``x`` one-hot with ``data.n_values`` (F,) giving the
blocks, as ``--dataset planted_categorical`` (`graphcert.data.planted`) provides.
"""
from __future__ import annotations

import numpy as np

from graphcert.run.methods.base import CertificationInputs, SmoothingMethod
from graphcert.run.methods.localized import VarianceConstrained

__all__ = ["Kary", "KaryLocalized", "required_n_values"]


def required_n_values(data) -> np.ndarray:
    """The alphabet size of every feature, (F,); a clear error for non-categorical data.

    Args:
        data (Data): the graph.

    Returns:
        np.ndarray: (F,).
    """
    from graphcert.noise.kary import categorical_n_values
    n_values = categorical_n_values(data)
    if n_values is None:
        raise ValueError(f"{getattr(data, 'name', 'the dataset')} has no categorical "
                         "attributes (one-hot x with data.n_values); the kary methods need "
                         "them, e.g. --dataset planted_categorical")
    return n_values


def kary_samples(noise) -> dict:
    """The keep probabilities (row = output cluster) and alphabet sizes, as lists."""
    return {"keep": noise.keep.tolist(), "n_values": noise.n_values.tolist()}


class Kary(SmoothingMethod):
    """Isotropic K-ary noise, vote bounds, exact Hamming certificate (Lee et al. 2019)."""

    name = "kary"
    label = "K-ary (isotropic, exact Hamming)"
    features = "binary"  # one-hot categorical attributes
    noise_name = "kary"
    fields = frozenset({"keep", "max_hamming"})

    def noise(self, config, data):
        from graphcert.noise.kary import KaryNoise
        return KaryNoise.isotropic(data.num_nodes, config.keep, required_n_values(data))

    def temperature(self, config) -> float:
        return 0.0  # votes

    def evaluate(self, config, stats, noise, inputs: CertificationInputs):
        from graphcert.tasks.graph.kary import kary_vote_result
        return kary_vote_result(self.name, stats, inputs.y, inputs.targets,
                                float(noise.keep[0, 0]), noise.n_values, alpha=config.alpha,
                                max_hamming=config.max_hamming)

    def describe_samples(self, noise) -> dict:
        return kary_samples(noise)


class KaryLocalized(VarianceConstrained):
    """K-ary noise with keep by cluster affinity, variance-constrained certificates."""

    name = "kary_localized"
    label = "K-ary localized (variance-constrained)"
    noise_name = "kary_localized"
    fields = frozenset({"n_clusters", "keep", "keep_far", "score_temperature", "bounds",
                        "n_bins", "max_hamming", "local_budget", "milp_bins", "relax"})

    def noise(self, config, data):
        from graphcert.noise.kary import localized_kary_noise
        return localized_kary_noise(data.edge_index, data.num_nodes, config.n_clusters,
                                    config.keep, config.keep_far, required_n_values(data),
                                    seed=config.split_seed)

    def evaluate(self, config, stats, noise, inputs: CertificationInputs):
        from graphcert.tasks.graph.kary import kary_variance_result
        return kary_variance_result(
            self.name, stats, inputs.y, inputs.targets, noise.keep, noise.n_values,
            alpha=config.alpha, bounds=config.bounds, max_hamming=config.max_hamming,
            local_budget=config.local_budget, milp_bins=config.milp_bins, relax=config.relax)

    def describe_samples(self, noise) -> dict:
        return kary_samples(noise)
