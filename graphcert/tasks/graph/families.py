"""The certificate families of `graphcert.certify` and the noises they fit
(docs/theory.md §3, §4, §8, §9).

=========================== =============================== ===================================
``certificate=``            noise                           certificate
=========================== =============================== ===================================
``"variance_constrained"``  attribute, structure or joint   variance-constrained radius (§3,
                            noise (localized or isotropic); §8), Bonferroni over the targets;
                            K-ary noise                     naive and collective counts (§5)
``"sparse_smooth"``         isotropic attribute, structure  exact SparseSmooth region (§4,
                            or joint noise                  §8), Holm over the targets
``"kary_hamming"``          isotropic K-ary noise           exact Hamming certificate (Lee et
                                                            al. 2019, §9), Holm
``"gaussian"``              Gaussian noise                  anisotropic l2 radius (§4),
                                                            Bonferroni
``"hierarchical"``          hierarchical noise, sparsity-   r controlled nodes (§14),
                            aware lower level               Bonferroni; naive and collective
``"injection"``             node / edge deletion noise      rho injected nodes with tau edges
                                                            (§15), Bonferroni; naive and
                                                            collective
=========================== =============================== ===================================

The default is the first family that fits in this order: the exact certificate where the
noise is isotropic ("sparse_smooth", "kary_hamming"), else "variance_constrained" (the one
that handles localized noise); "gaussian" for Gaussian noise; "hierarchical" and "injection"
for the node-level noises (`graphcert.tasks.graph.node_certificates`). ``graphcert
certify``'s methods smooth the same scores (the same statistics for the same seed) and build
their results from the same certificates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphcert.certificates.bounds import check_bounds
from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.gaussian import GraphGaussian
from graphcert.noise.hierarchical import HierarchicalGaussianNoise, HierarchicalSparseNoise
from graphcert.noise.injection import NodeEdgeDeletionNoise
from graphcert.noise.kary import KaryNoise
from graphcert.noise.structure import ProductNoise, StructureNoise
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.certificate import Certificate
from graphcert.tasks.graph.kary import kary_variance_certificate
from graphcert.tasks.graph.node_certificates import NodeThreatCertificate
from graphcert.tasks.graph.noises import attribute_part, pair_units, structure_part
from graphcert.tasks.graph.surface import AttackSurface
from graphcert.tasks.graph.vote_certificates import (
    GaussianCertificate,
    KaryHammingCertificate,
    SparseSmoothCertificate,
)
from graphcert.utils.validation import check_choice, check_real

__all__ = ["CERTIFICATES", "ScoreSettings", "certificate_from_statistics",
           "choose_certificate", "fitting_certificates", "noise_kinds", "score_settings"]

CERTIFICATES = ("variance_constrained", "sparse_smooth", "kary_hamming", "gaussian",
                "hierarchical", "injection")
#: the family of each node-level threat's attack kind (docs/theory.md §14, §15)
NODE_FAMILIES = {"nodes": "hierarchical", "injection": "injection"}

_NOISES = ("graphcert.localized_noise, graphcert.isotropic_noise, graphcert.structure_noise, "
           "graphcert.joint_noise, graphcert.kary_noise, graphcert.gaussian_noise, "
           "graphcert.hierarchical_noise or graphcert.injection_noise")


def noise_kinds(noise) -> tuple[str, ...]:
    """The attack kinds `noise` smooths (`graphcert.tasks.graph.attacks`).

    Args:
        noise: the smoothing noise.

    Returns:
        tuple[str, ...]: e.g. ("attributes", "edges").
    """
    if isinstance(noise, ProductNoise):
        return ("attributes", "edges")
    if isinstance(noise, HierarchicalGaussianNoise):
        raise ValueError("graphcert.certify certifies hierarchical noise with a sparsity-aware "
                         "lower level (theta_plus, theta_minus); for sigma use "
                         "graphcert.certificates.hierarchical_gaussian_certified")
    kinds = {HierarchicalSparseNoise: ("nodes",), NodeEdgeDeletionNoise: ("injection",),
             LocalizedNoise: ("attributes",), StructureNoise: ("edges",),
             KaryNoise: ("hamming",), GraphGaussian: ("l2",)}
    for kind, covered in kinds.items():
        if isinstance(noise, kind):
            return covered
    raise ValueError(f"noise must come from {_NOISES}, got {type(noise).__name__}")


def fitting_certificates(noise) -> tuple[str, ...]:
    """The families that certify `noise`, its default first.

    Args:
        noise: the smoothing noise.

    Returns:
        tuple[str, ...]: family names.
    """
    kinds = noise_kinds(noise)
    if kinds[0] in NODE_FAMILIES:
        return (NODE_FAMILIES[kinds[0]],)
    isotropic = noise.n_clusters == 1
    if kinds == ("l2",):
        return ("gaussian",)
    exact = "kary_hamming" if kinds == ("hamming",) else "sparse_smooth"
    return (exact, "variance_constrained") if isotropic else ("variance_constrained",)


def choose_certificate(noise, certificate: str | None = None) -> str:
    """`certificate` if it fits `noise` (None: the default of `fitting_certificates`), else
    an error that says which families do.

    Args:
        noise: the smoothing noise.
        certificate (str, optional): the wanted family.

    Returns:
        str: the family.
    """
    fits = fitting_certificates(noise)
    if certificate is None:
        return fits[0]
    check_choice(certificate, "certificate", CERTIFICATES)
    if certificate not in fits:
        kinds = " and ".join(noise_kinds(noise))
        clusters = getattr(noise, "n_clusters", 1)
        shape = "isotropic" if clusters == 1 else f"localized ({clusters} clusters)"
        why = {"sparse_smooth": "it needs isotropic binary noise on attributes and/or edges "
                                "(n_clusters=None)",
               "kary_hamming": "it needs isotropic K-ary noise (graphcert.kary_noise with "
                               "n_clusters=None)",
               "gaussian": "it needs Gaussian noise (graphcert.gaussian_noise)",
               "variance_constrained": "it needs binary or K-ary noise",
               "hierarchical": "it needs graphcert.hierarchical_noise (theta_plus, "
                               "theta_minus)",
               "injection": "it needs graphcert.injection_noise"}[certificate]
        raise ValueError(f"certificate == {certificate!r} does not fit the noise "
                         f"({type(noise).__name__}, {shape}, smoothing {kinds}): {why}; "
                         f"certificates for this noise: {', '.join(fits)}")
    return certificate


@dataclass(frozen=True)
class ScoreSettings:
    """How the base classifier's scores are smoothed for a family: softmax(logits / T)
    (``temperature`` 0: one-hot votes; None: softmax(logits)), the confidence bounds of the
    variance-constrained family and whether they read the score histogram.

    Args:
        temperature (float, optional): softmax temperature T (0: one-hot votes).
        bounds (str, optional): ``"binary"``, ``"dkw"`` or ``"bernstein"``.
    """

    temperature: float | None
    bounds: str | None = None

    @property
    def histogram(self) -> bool:
        """Whether the bounds read the score histogram (DKW only)."""
        return self.bounds == "dkw"  # only the DKW bounds read it (docs/theory.md §3.2)


def score_settings(certificate: str, bounds: str | None = None,
                   temperature: float | None = None) -> ScoreSettings:
    """The scores `certificate` smooths. Variance-constrained: `bounds` (default "clopper_pearson",
    one-hot votes) or "dkw" / "bernstein" on softmax(logits / `temperature`), default 1. The
    vote-based families count one-hot votes (the Gaussian one the argmax of the softmax,
    the same votes) and take neither setting.

    Args:
        certificate (str): the family.
        bounds (str, optional): variance-constrained confidence bounds.
        temperature (float, optional): softmax temperature.

    Returns:
        ScoreSettings: the settings.
    """
    check_choice(certificate, "certificate", CERTIFICATES)
    if certificate != "variance_constrained":
        for name, value in (("bounds", bounds), ("temperature", temperature)):
            if value is not None:
                raise ValueError(f"{name} == {value!r} applies to certificate "
                                 f"'variance_constrained' only; {certificate!r} counts votes")
        return ScoreSettings(None if certificate == "gaussian" else 0.0)
    bounds = check_bounds("clopper_pearson" if bounds is None else bounds)
    if temperature is None:
        return ScoreSettings(0.0 if bounds == "clopper_pearson" else 1.0, bounds)
    temperature = check_real(temperature, "temperature", "[0, inf)")
    if bounds == "clopper_pearson" and temperature != 0:
        raise ValueError(f"temperature == {temperature}: bounds 'clopper_pearson' need one-hot "
                         "scores (temperature 0); use bounds 'dkw' or 'bernstein' for softmax "
                         "scores")
    return ScoreSettings(temperature, bounds)


def certificate_from_statistics(certificate: str, stats: SmoothingStats, noise, targets, *,
                                alpha: float, bounds: str | None = None, x=None,
                                local_budget: int | None = None, edge_index=None,
                                node_budget: dict | None = None, hops: int | None = None):
    """The per-target certificates of family `certificate` (fitting `noise`) from the
    statistics of `noise`, for the nodes `targets`, at level `alpha` over all targets.

    Variance-constrained: `bounds` (`score_settings`), the clean features `x` (a tensor
    (N, D); what the adversary can flip: the attribute bits, or the F values of each node
    under K-ary noise) and `local_budget` (changed bits or values per node, None: no limit).
    Hierarchical and injection: the clean graph `edge_index` (2, E) and `node_budget`, the
    keywords of `NodeThreatCertificate.from_statistics` (additions_per_node,
    deletions_per_node, tau), and `hops`, the model's receptive field.

    Args:
        certificate (str): the family (`CERTIFICATES`).
        stats (SmoothingStats): the Monte Carlo statistics of `noise`.
        noise: the smoothing noise.
        targets (array_like): target node ids, (T,).
        alpha (float): significance level shared by the targets.
        bounds (str, optional): variance-constrained confidence bounds.
        x (Tensor, optional): clean features (N, D), variance-constrained.
        local_budget (int, optional): changed bits or values per node.
        edge_index (array_like, optional): the clean graph (2, E), node threats.
        node_budget (dict, optional): additions_per_node, deletions_per_node, tau.
        hops (int, optional): the model's receptive field, node threats.

    Returns:
        `Certificate` (variance-constrained), `SparseSmoothCertificate`,
        `KaryHammingCertificate`, `GaussianCertificate` or `NodeThreatCertificate`; all answer
        ``robust``.
    """
    targets = np.asarray(targets, dtype=np.int64)
    if certificate in NODE_FAMILIES.values():
        return NodeThreatCertificate.from_statistics(stats, noise, targets, alpha=alpha,
                                                     edge_index=edge_index, hops=hops,
                                                     **(node_budget or {}))
    if certificate == "gaussian":
        return GaussianCertificate.from_statistics(stats, targets, alpha=alpha,
                                                   weights=noise.weights())
    if isinstance(noise, KaryNoise):
        if certificate == "kary_hamming":
            return KaryHammingCertificate.from_statistics(
                stats, targets, alpha=alpha, keep=float(noise.keep[0, 0]),
                n_values=noise.n_values)
        n_values = noise.prepare(x).n_values  # (F,): every node can change its F values
        return kary_variance_certificate(stats, targets, noise.keep, n_values, alpha=alpha,
                                         bounds=bounds, local_budget=local_budget)
    attributes, structure = attribute_part(noise), structure_part(noise)
    if certificate == "sparse_smooth":
        return SparseSmoothCertificate.from_statistics(
            stats, targets, alpha=alpha,
            attributes=None if attributes is None else (attributes.theta_plus[0, 0],
                                                        attributes.theta_minus[0, 0]),
            edges=None if structure is None else (structure.p_plus[0, 0],
                                                  structure.p_minus[0, 0]))
    if attributes is None:
        theta_plus = theta_minus = None
        surface = AttackSurface.fixed(stats.labels.size)
    else:
        theta_plus, theta_minus = attributes.theta_plus, attributes.theta_minus
        dense = x.to_dense() if x.is_sparse else x
        surface = AttackSurface.from_attributes(dense.numpy(), local_budget)
    return Certificate.from_statistics(
        stats, theta_plus, theta_minus, surface, targets, alpha=alpha, bounds=bounds,
        structure=None if structure is None else pair_units(structure))
