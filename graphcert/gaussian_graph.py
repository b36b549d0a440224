"""Localized Gaussian smoothing of graphs with continuous features (SPEC §2, §4, §5, §6).

The graph counterpart of the grid adapter (`graphcert.grid`, `graphcert.segmentation`):
METIS clusters play the role of the cells, and the noise level for outputs of cluster k on
the features of cluster u follows the affinity rank (SPEC §2 with sigma in place of theta):

    sigma[k, u] = sigma_min + (sigma_max - sigma_min) * ranks[k, u] / (C - 1).

Base certificates are vote-based anisotropic Gaussian certificates (SPEC §4):
``eta_n = Phi^{-1}(p_lower)^2``, certified iff ``sum_u ||delta_u||^2 / sigma[k(n), u]^2 < eta_n``
where ``delta_u`` is the change of the features of cluster u. The collective certificate
(SPEC §5) has one continuous unit per cluster, weights ``1 / sigma^2`` and budget ``eps^2``.
"""
from __future__ import annotations

import numpy as np
import torch

from graphcert.certificates import BaseCertificate, gaussian_l2_radius
from graphcert.clustering import affinity_ranks, cluster_affinity, metis_partition, rank_schedule
from graphcert.evaluation import Curve, MethodResult
from graphcert.grid import ClusterGaussian
from graphcert.montecarlo import SmoothingStats
from graphcert.segmentation import certified_pixels
from graphcert.stats import bonferroni_lower_bounds, holm_lower_bounds

__all__ = ["GraphGaussian", "batch_for_memory", "gaussian_certificate", "gaussian_result",
           "l2_budget_grid", "localized_graph_gaussian"]

CORRECTIONS = {"bonferroni": bonferroni_lower_bounds, "holm": holm_lower_bounds}


class GraphGaussian(ClusterGaussian):
    """Localized Gaussian noise on node features; a `montecarlo.SmoothingNoise`.

    ``sample(x, k, B, rng)`` returns B noisy copies (B, N, D) of the float features x (N, D)
    for the outputs of cluster k: node m gets i.i.d. N(0, sigma[k, labels[m]]^2) on every
    feature. The noise is dense (continuous features all change): `batch_for_memory` sizes
    batches so that one batch stays within a memory budget.
    """

    def prepare(self, x) -> torch.Tensor:
        """The features as a float32 (N, D) tensor matching the labels."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() != 2 or x.shape[0] != len(self.labels):
            raise ValueError(f"features must be ({len(self.labels)}, D), got {tuple(x.shape)}")
        return x

    def sample(self, x, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> torch.Tensor:
        x = self.prepare(x)
        noisy = generator.standard_normal((batch_size, *x.shape), dtype=np.float32)
        noisy *= self.site_sigma(output_cluster).astype(np.float32)[:, None]
        noisy += x.numpy()  # in place: one (B, N, D) array at a time
        return torch.from_numpy(noisy)

    def describe(self) -> dict:
        return {"kind": "graph_gaussian", "sigma": self.sigma.tolist()}


def batch_for_memory(batch_size: int, num_nodes: int, num_features: int,
                     max_bytes: int = 2**28) -> int:
    """The largest batch <= `batch_size` whose dense float32 (B, N, D) copies fit in
    `max_bytes` (at least 1): ogbn-arxiv's 169k x 128 features take 87 MB per copy."""
    per_copy = 4 * num_nodes * num_features
    return int(max(1, min(batch_size, max_bytes // per_copy)))


def localized_graph_gaussian(edge_index, num_nodes: int, n_clusters: int, sigma_min: float,
                             sigma_max: float, seed: int = 0) -> GraphGaussian:
    """METIS clusters and the sigma schedule by affinity rank (SPEC §2); C = 1 is isotropic."""
    sigma_min, sigma_max = float(sigma_min), float(sigma_max)
    if not (np.isfinite(sigma_max) and 0 < sigma_min <= sigma_max):
        raise ValueError(f"need 0 < sigma_min <= sigma_max < inf, got {sigma_min}, {sigma_max}")
    labels = metis_partition(edge_index, num_nodes, n_clusters, seed=seed)
    ranks = affinity_ranks(cluster_affinity(edge_index, labels, n_clusters))
    return GraphGaussian(labels, rank_schedule(ranks, sigma_min, sigma_max))


def gaussian_certificate(stats: SmoothingStats, targets: np.ndarray, alpha: float,
                         correction: str = "bonferroni") -> BaseCertificate:
    """Anisotropic Gaussian base certificates of the target nodes (SPEC §4).

    The candidate is the pre-sample's vote argmax; ``p_lower`` is the Clopper-Pearson bound on
    its main-sample votes, corrected over the targets (Bonferroni: simultaneous bounds, as the
    collective certificate uses the radii jointly; Holm: SPEC §4's decision procedure).
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {correction!r}")
    targets = np.asarray(targets, dtype=np.int64)
    predicted = stats.candidate_vote[targets]
    if np.any(predicted < 0) or np.any(stats.n[targets] == 0):
        raise ValueError("the statistics are incomplete for some targets (no candidate or "
                         "no main samples)")
    votes = stats.votes[targets, predicted]
    p_lower, passed = CORRECTIONS[correction](votes, stats.n[targets], alpha)
    eta = np.where(passed, gaussian_l2_radius(np.where(passed, p_lower, 0.5)), -np.inf)
    return BaseCertificate(predicted, eta, stats.labels[targets])


def l2_budget_grid(cert: BaseCertificate, w: np.ndarray, step: float) -> np.ndarray:
    """Radii 0, step, 2 step, ... up to the first one at which nothing can stay certified.

    Putting the whole budget eps^2 on one unit breaks output n once eps^2 * w[k(n), u] >= eta_n,
    so nothing is certified (naive or collective) from eps^2 >= max eta / min w on.
    """
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    finite = cert.eta[np.isfinite(cert.eta) & (cert.eta > 0)]
    limit = np.sqrt(finite.max() / np.min(w)) if finite.size else 0.0
    return step * np.arange(int(np.floor(limit / step)) + 2)


def gaussian_result(stats: SmoothingStats, noise: GraphGaussian, y: np.ndarray,
                    targets: np.ndarray, *, alpha: float, step: float = 0.05,
                    relax: bool = True, n_bins: int | None = 64, collective: bool = True,
                    correction: str = "bonferroni") -> MethodResult:
    """Naive and collective certified accuracy over l2 radii (curve ``"l2"``, SPEC §5, §6)."""
    cert = gaussian_certificate(stats, targets, alpha, correction)
    w = noise.weights()
    eps = l2_budget_grid(cert, w, step)
    truth = np.asarray(y)[targets]
    naive = certified_pixels(cert, truth, w, eps, collective=False, n_bins=n_bins)
    ratio = certified_pixels(cert, cert.predicted, w, eps, collective=False, n_bins=n_bins)
    coll = certified_pixels(cert, truth, w, eps, relax=relax, n_bins=n_bins) \
        if collective else None
    correct = cert.predicted == truth
    result = MethodResult("gaussian", cert.predicted, correct, cert.abstained,
                          extra={"eta": cert.eta.tolist(), "correction": correction})
    result.curves["l2"] = Curve(eps.tolist(), naive.tolist(),
                                None if coll is None else coll.tolist(), ratio.tolist(),
                                len(targets))
    return result
