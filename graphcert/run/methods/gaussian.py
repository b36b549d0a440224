"""Localized Gaussian smoothing of continuous features (docs/theory.md §2, §4, §5): sigma by
affinity rank of the METIS clusters, vote-based anisotropic certificates, naive and collective
certified accuracy over l2 radii (`graphcert.tasks.graph.gaussian`)."""
from __future__ import annotations

from graphcert.run.methods.base import CertificationInputs, SmoothingMethod

__all__ = ["Gaussian"]

DEFAULT_MILP_BINS = 64  # radii quantized per cluster for the collective LP/MILP


class Gaussian(SmoothingMethod):
    name = "gaussian"
    label = "localized Gaussian (continuous features, l2)"
    features = "continuous"
    noise_name = "gaussian"
    fields = frozenset({"n_clusters", "sigma_min", "sigma_max", "l2_step", "milp_bins",
                        "relax"})

    def noise(self, config, data):
        from graphcert.noise.gaussian import localized_gaussian_noise
        return localized_gaussian_noise(data.edge_index, data.num_nodes, config.n_clusters,
                                        config.sigma_min, config.sigma_max,
                                        seed=config.split_seed)

    def batch_size(self, config, data) -> int:
        from graphcert.sampling.batching import batch_for_memory
        return batch_for_memory(config.batch_size, data.num_nodes, data.x.shape[1])

    def evaluate(self, config, stats, noise, inputs: CertificationInputs):
        from graphcert.tasks.graph.gaussian import gaussian_result
        return gaussian_result(stats, noise, inputs.y, inputs.targets, alpha=config.alpha,
                               step=config.l2_step, relax=config.relax,
                               milp_bins=config.milp_bins or DEFAULT_MILP_BINS)

    def describe_samples(self, noise) -> dict:
        return {"sigma": noise.sigma.tolist()}
