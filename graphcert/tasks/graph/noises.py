"""The smoothing noises of the one-call API, built from a graph (docs/theory.md §2, §8, §9).

Every factory follows one pattern::

    <what>_noise(data, <levels>, n_clusters=None, <level far away>=None, seed=0)

Isotropic when ``n_clusters`` is None: one distribution for every node. Otherwise localized:
METIS clusters of ``data`` (``seed``) and, per output cluster, the noise level of every input
cluster by affinity rank, from the given level (own cluster) to the "far" level (least
connected cluster; default: the same level). ``graphcert certify`` builds its noises through
these functions (`graphcert.run.methods`), so a noise here and the command line's with the
same settings draw the same samples.

* `structure_noise`: node pairs (edge insertions and deletions, §8); features stay as they are
  (binary or continuous);
* `joint_noise`: attribute and structure noise at once, one product distribution (§8);
* `kary_noise`: categorical attributes, each value kept or redrawn uniformly (§9);
* `gaussian_noise`: continuous features, Gaussian noise (§2, §4).

The attribute noise of binary attributes is ``graphcert.localized_noise`` /
``graphcert.isotropic_noise`` (`graphcert.tasks.graph.api`). `attribute_part`,
`structure_part` and `pair_units` take a noise apart again for the certificates.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from graphcert.certificates import pair_weight_matrices
from graphcert.certificates.collective import PairUnits
from graphcert.data.clustering import metis_partition
from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.gaussian import GraphGaussian, localized_gaussian_noise
from graphcert.noise.kary import KaryNoise, categorical_n_values, localized_kary_noise
from graphcert.noise.structure import (
    ProductNoise,
    StructureNoise,
    localized_structure_noise,
)
from graphcert.utils.validation import check_int, check_integers, check_real

__all__ = ["attribute_part", "gaussian_noise", "joint_noise", "kary_noise", "pair_units",
           "structure_noise", "structure_part"]


def structure_noise(data, p_plus: float, p_minus: float, n_clusters: int | None = None,
                    p_minus_high: float | None = None, seed: int = 0) -> StructureNoise:
    """Sparsity-aware noise on the node pairs of ``data.edge_index`` (docs/theory.md §8): an
    absent pair becomes an edge with probability `p_plus`, an edge disappears with `p_minus`.

    Isotropic when `n_clusters` is None (SparseSmooth's graph noise). Localized otherwise:
    METIS clusters (`seed`), `p_plus` on every pair, and the deletion probability of a pair
    for the outputs of cluster k from `p_minus` (a pair touching k's own cluster) up to
    `p_minus_high` (default `p_minus`) by the affinity rank of the pair's nearer endpoint.
    The node features are left as they are: binary or continuous.

    Args:
        data: a torch_geometric ``Data`` with ``edge_index`` and ``num_nodes``.
        p_plus, p_minus: probabilities in [0, 1].
        n_clusters: METIS clusters, >= 1; None: isotropic.
        p_minus_high: deletion probability at the least connected cluster, in
            [p_minus, 1]; only with `n_clusters`.
        seed: seed of METIS.

    Returns:
        `StructureNoise` with ``labels`` (N,) and ``p_plus`` / ``p_minus`` (C, C (C + 1) / 2),
        row = output cluster, column = cluster pair (C = 1: isotropic).
    """
    p_plus = check_real(p_plus, "p_plus", "[0, 1]")
    p_minus = check_real(p_minus, "p_minus", "[0, 1]")
    high = _far_level(p_minus_high, "p_minus_high", p_minus, "p_minus", n_clusters, "[0, 1]")
    if n_clusters is None:
        return StructureNoise.isotropic(data.edge_index, data.num_nodes, p_plus, p_minus)
    n_clusters = check_int(n_clusters, "n_clusters", "[1, inf)")
    labels = metis_partition(data.edge_index, data.num_nodes, n_clusters, seed=seed)
    return localized_structure_noise(data.edge_index, labels, n_clusters, p_plus,
                                     (p_minus, high))


def joint_noise(attribute_noise: LocalizedNoise, structure_noise: StructureNoise
                ) -> ProductNoise:
    """Attribute and structure noise drawn independently: one product distribution whose
    certificates cover attribute bits and edges (docs/theory.md §8).

    Args:
        attribute_noise: from ``graphcert.localized_noise`` or ``graphcert.isotropic_noise``.
        structure_noise: from `structure_noise`, with the same clusters: build both with the
            same ``n_clusters`` and ``seed`` (or both isotropic).

    Returns:
        `ProductNoise`: each copy draws its attributes, then its structure.
    """
    if not isinstance(attribute_noise, LocalizedNoise):
        raise ValueError(f"attribute_noise must be a LocalizedNoise (graphcert.localized_noise "
                         f"or graphcert.isotropic_noise), got {type(attribute_noise).__name__}")
    if not isinstance(structure_noise, StructureNoise):
        raise ValueError(f"structure_noise must be a StructureNoise (graphcert.structure_noise)"
                         f", got {type(structure_noise).__name__}")
    if not np.array_equal(attribute_noise.labels, structure_noise.labels):
        raise ValueError(f"attribute_noise ({attribute_noise.n_clusters} clusters) and "
                         f"structure_noise ({structure_noise.n_clusters} clusters) must use the "
                         "same node clusters: build both with the same n_clusters and seed, or "
                         "both isotropic")
    return ProductNoise(attribute_noise, structure_noise)


def kary_noise(data, keep: float, n_clusters: int | None = None, keep_far: float | None = None,
               seed: int = 0, n_values=None) -> KaryNoise:
    """K-ary noise on categorical attributes (docs/theory.md §9): each value is kept with
    probability `keep`, else redrawn uniformly from its K values (possibly itself).

    Isotropic when `n_clusters` is None (Lee et al.'s noise); localized otherwise, `keep` on
    a cluster's own attributes down to `keep_far` (default `keep`) on its least connected
    cluster's.

    Args:
        data: a torch_geometric ``Data`` with ``edge_index``, ``num_nodes`` N and ``x``
            one-hot with ``data.n_values`` (F,) giving the alphabet size of every feature (as
            ``graphcert.datasets.load_graph("planted_categorical")``).
        keep: probability of keeping a value, in [0, 1].
        n_clusters: METIS clusters, >= 1; None: isotropic.
        keep_far: keep probability at the least connected cluster, in [0, keep]; only with
            `n_clusters`.
        seed: seed of METIS.
        n_values: alphabet sizes (an int or one per feature) if `data` has none.

    Returns:
        `KaryNoise` with ``labels`` (N,) and ``keep`` (C, C), row = output cluster.
    """
    keep = check_real(keep, "keep", "[0, 1]")
    far = _far_level(keep_far, "keep_far", keep, "keep", n_clusters, "[0, 1]")
    if n_values is None:
        n_values = categorical_n_values(data)
        if n_values is None:
            raise ValueError("data has no n_values (the alphabet size of every categorical "
                             "feature): pass n_values, an int or one per feature")
    n_values = check_integers(n_values, "n_values", "[2, inf)")
    if n_clusters is None:
        return KaryNoise.isotropic(data.num_nodes, keep, n_values)
    n_clusters = check_int(n_clusters, "n_clusters", "[1, inf)")
    return localized_kary_noise(data.edge_index, data.num_nodes, n_clusters, keep, far,
                                n_values, seed=seed)


def gaussian_noise(data, sigma: float, n_clusters: int | None = None,
                   sigma_max: float | None = None, seed: int = 0) -> GraphGaussian:
    """Gaussian noise N(0, sigma^2) on every continuous feature (docs/theory.md §2, §4).

    Isotropic when `n_clusters` is None; localized otherwise, `sigma` on a cluster's own
    features up to `sigma_max` (default `sigma`) on its least connected cluster's.

    Args:
        data: a torch_geometric ``Data`` with ``edge_index`` and ``num_nodes`` N.
        sigma: noise level, > 0.
        n_clusters: METIS clusters, >= 1; None: isotropic.
        sigma_max: noise level at the least connected cluster, >= sigma; only with
            `n_clusters`.
        seed: seed of METIS.

    Returns:
        `GraphGaussian` with ``labels`` (N,) and ``sigma`` (C, C), row = output cluster.
    """
    sigma = check_real(sigma, "sigma", "(0, inf)")
    high = _far_level(sigma_max, "sigma_max", sigma, "sigma", n_clusters, "(0, inf)")
    if n_clusters is None:
        return GraphGaussian(np.zeros(data.num_nodes, dtype=np.int64), np.full((1, 1), sigma))
    n_clusters = check_int(n_clusters, "n_clusters", "[1, inf)")
    return localized_gaussian_noise(data.edge_index, data.num_nodes, n_clusters, sigma, high,
                                    seed=seed)


def attribute_part(noise) -> LocalizedNoise | None:
    """The binary attribute noise inside `noise`, None if it has none.

    Args:
        noise: the smoothing noise.

    Returns:
        LocalizedNoise or None: the attribute noise.
    """
    if isinstance(noise, ProductNoise):
        return noise.attributes
    return noise if isinstance(noise, LocalizedNoise) else None


def structure_part(noise) -> StructureNoise | None:
    """The structure noise inside `noise`, None if it has none.

    Args:
        noise: the smoothing noise.

    Returns:
        StructureNoise or None: the structure noise.
    """
    if isinstance(noise, ProductNoise):
        return noise.structure
    return noise if isinstance(noise, StructureNoise) else None


def pair_units(structure: StructureNoise) -> PairUnits:
    """The node pairs as units of the collective certificate (docs/theory.md §8): one unit per
    cluster pair, with the weights of `structure`'s probabilities per output cluster.

    Args:
        structure (StructureNoise): the structure noise.

    Returns:
        PairUnits: the units.
    """
    return PairUnits.from_graph(structure.edge_index, structure.labels,
                                *pair_weight_matrices(structure.p_plus, structure.p_minus))


# ----------------------------------------------------------------------------- internals
def _far_level(value, name: str, low: float, low_name: str, n_clusters, interval: str) -> Any:
    """The level at the least connected cluster: `low` if None; only with clusters, and on the
    side of `low` that gives less connected clusters more noise."""
    if value is None:
        return low
    if n_clusters is None:
        raise ValueError(f"{name} == {value!r} needs n_clusters (localized noise); isotropic "
                         f"noise has one level, {low_name}")
    value = check_real(value, name, interval)
    more_noise = value <= low if name == "keep_far" else value >= low
    if not more_noise:
        side = "<=" if name == "keep_far" else ">="
        raise ValueError(f"{name} == {value} must be {side} {low_name} == {low}: the least "
                         "connected cluster gets the most noise")
    return value

