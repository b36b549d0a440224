"""Sparsity-aware localized noise for binary node attributes (docs/theory.md §2).

For an output cluster k, the 0-bits of nodes in input cluster j turn into 1 with probability
``theta_plus[k, j]`` and their 1-bits turn into 0 with probability ``theta_minus[k, j]``, all
bits independently. `LocalizedNoise` holds the distributions and `localized_sparse_noise`
builds them from METIS clusters; the copies are drawn by `graphcert.noise.sparse_sampler`
(numpy generator, on the CPU) or `graphcert.noise.sparse_sampler_torch` (torch generator, on
its device).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from graphcert.data.clustering import (
    affinity_ranks,
    cluster_affinity,
    metis_partition,
    noise_schedule,
)
from graphcert.noise.sparse_sampler import (
    BinaryGraph,
    PendingCopies,
    prepare_binary,
    sample_prepared,
    start_sample,
)
from graphcert.noise.sparse_sampler_torch import DeviceBinaryGraph, sample_on_device
from graphcert.utils.validation import (
    check_index_array,
    check_int,
    check_positive_int,
    check_probabilities,
)

__all__ = ["LocalizedNoise", "flip_bits", "localized_sparse_noise"]


@dataclass(frozen=True)
class LocalizedNoise:
    """Localized sparsity-aware smoothing distributions, one per output cluster
    (docs/theory.md §2).

    Args:
        labels: (N,) cluster of every node, in [0, C).
        theta_plus: (C, C) probability that a 0-bit of input cluster j turns 1 when smoothing
            the outputs of cluster k (row k = output, column j = input).
        theta_minus: (C, C) probability that a 1-bit turns 0, indexed as `theta_plus`.
    """

    labels: np.ndarray
    theta_plus: np.ndarray
    theta_minus: np.ndarray

    torch_sampling = True  # `sample` also draws on a device with a torch.Generator

    def __post_init__(self) -> None:
        plus = _check_matrix("theta_plus", self.theta_plus)
        minus = _check_matrix("theta_minus", self.theta_minus)
        if plus.shape != minus.shape:
            raise ValueError(f"theta_plus {plus.shape} and theta_minus {minus.shape} differ")
        object.__setattr__(self, "labels",
                           check_index_array(self.labels, "labels", plus.shape[0], ndim=1))
        object.__setattr__(self, "theta_plus", plus)
        object.__setattr__(self, "theta_minus", minus)

    @classmethod
    def isotropic(cls, n_nodes: int, theta_plus: float, theta_minus: float) -> "LocalizedNoise":
        """One cluster, the same probabilities everywhere (the baselines, docs/theory.md §2).

        Args:
            n_nodes (int): number of nodes N.
            theta_plus (float): probability that a 0-bit turns 1.
            theta_minus (float): probability that a 1-bit turns 0.

        Returns:
            LocalizedNoise: labels (N,) all 0 and (1, 1) probabilities.
        """
        return cls(np.zeros(n_nodes, dtype=np.int64), np.full((1, 1), theta_plus, dtype=float),
                   np.full((1, 1), theta_minus, dtype=float))

    @property
    def n_clusters(self) -> int:
        """Number of clusters C."""
        return self.theta_plus.shape[0]

    def prepare(self, x: Tensor | BinaryGraph | DeviceBinaryGraph
                ) -> BinaryGraph | DeviceBinaryGraph:
        """Index `x` once so repeated sampling skips it; prepared inputs pass through.

        Args:
            x (Tensor or BinaryGraph or DeviceBinaryGraph): binary attributes (N, D), or prepared.

        Returns:
            BinaryGraph or DeviceBinaryGraph: the indexed 1-bits.
        """
        if isinstance(x, (BinaryGraph, DeviceBinaryGraph)):
            labels = x.labels if isinstance(x, BinaryGraph) else x.labels.cpu().numpy()
            if x.n_clusters != self.n_clusters or not np.array_equal(labels, self.labels):
                raise ValueError("BinaryGraph was prepared with different cluster labels")
            return x
        return prepare_binary(x, self.labels, self.n_clusters)

    def sample(self, x: Tensor | BinaryGraph | DeviceBinaryGraph, output_cluster: int,
               batch_size: int, generator: np.random.Generator | torch.Generator) -> Tensor:
        """`batch_size` noisy copies of `x` from the distribution of `output_cluster`.

        Args:
            x: binary attributes (N, D), dense or sparse, or their `prepare`d form.
            output_cluster: k in [0, C).
            batch_size: number of copies B.
            generator: numpy generator (drawn on the CPU) or ``torch.Generator`` (drawn on
                its device).

        Returns:
            The copies stacked along the nodes: one (B * N, D) sparse CSR tensor of ones.
        """
        output_cluster = self._check_output_cluster(output_cluster)
        plus, minus = self.theta_plus[output_cluster], self.theta_minus[output_cluster]
        if not isinstance(generator, torch.Generator):
            return sample_prepared(self.prepare(x), plus, minus, batch_size, generator)
        graph = self.prepare(x).to(generator.device)
        return sample_on_device(graph, plus, minus, check_positive_int(batch_size, "batch_size"),
                                generator)

    def start_sample(self, x: Tensor | BinaryGraph, output_cluster: int, batch_size: int,
                     generator: np.random.Generator) -> PendingCopies:
        """`sample` in two steps: the random numbers are drawn now, and the copies are
        finished by every thread that calls ``work`` on the result (the same samples).

        Args:
            x (Tensor or BinaryGraph): binary attributes (N, D), or prepared.
            output_cluster (int): the distribution, that of the outputs of this cluster.
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            PendingCopies: the batch; ``result()`` gives the (B * N, D) sparse CSR copies.
        """
        output_cluster = self._check_output_cluster(output_cluster)
        return start_sample(self.prepare(x), self.theta_plus[output_cluster],
                            self.theta_minus[output_cluster], batch_size, generator)

    def _check_output_cluster(self, output_cluster: int) -> int:
        return check_int(output_cluster, "output_cluster", f"[0, {self.n_clusters - 1}]")

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution (used to validate resumed runs).

        Returns:
            dict: kind, theta matrices and a digest of the labels.
        """
        return {"kind": "localized_sparse", "theta_plus": self.theta_plus.tolist(),
                "theta_minus": self.theta_minus.tolist(),
                "labels_sha256": hashlib.sha256(self.labels.tobytes()).hexdigest()}


def localized_sparse_noise(edge_index, num_nodes: int, n_clusters: int,
                           theta_plus: float | tuple[float, float],
                           theta_minus: float | tuple[float, float],
                           seed: int = 0) -> LocalizedNoise:
    """METIS clusters and flip probabilities by affinity rank (docs/theory.md §2).

    Args:
        edge_index: (2, E) edges of the graph.
        num_nodes: number of nodes N.
        n_clusters: number of METIS clusters C.
        theta_plus, theta_minus: each one probability for every cluster pair, or (low, high):
            low on a cluster's own attributes up to high on its least connected cluster's.
        seed: METIS seed.

    Returns:
        `LocalizedNoise` with labels (N,) and (C, C) probabilities.
    """
    labels = metis_partition(edge_index, num_nodes, n_clusters, seed=seed)
    ranks = affinity_ranks(cluster_affinity(edge_index, labels, n_clusters))
    schedule = {}
    for name, value in (("theta_plus", theta_plus), ("theta_minus", theta_minus)):
        ends = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if ends.shape not in ((1,), (2,)):
            raise ValueError(f"{name} must be a probability or a (low, high) pair, got {value!r}")
        schedule[name] = noise_schedule(ranks, ends[0], ends[-1])
    return LocalizedNoise(labels, schedule["theta_plus"], schedule["theta_minus"])



def flip_bits(x: Tensor, theta_plus, theta_minus, generator: torch.Generator | None = None
              ) -> Tensor:
    """One dense noisy copy of binary `x` (N, D): 0 -> 1 w.p. theta_plus, 1 -> 0 w.p.
    theta_minus, every bit independently (the distribution of `LocalizedNoise`, drawn densely
    with torch's generator: the noise of training, `graphcert.tasks.graph.training`).

    Args:
        x: dense binary attributes (N, D).
        theta_plus, theta_minus: scalars or tensors broadcastable to `x` (e.g. one value per
            node, (N, 1), for localized noise).
        generator: torch generator of the uniforms (one per bit, in `x`'s order).

    Returns:
        The noisy copy, (N, D), of `x`'s dtype.
    """
    theta_plus = torch.as_tensor(theta_plus, dtype=x.dtype)
    theta_minus = torch.as_tensor(theta_minus, dtype=x.dtype)
    for name, theta in (("theta_plus", theta_plus), ("theta_minus", theta_minus)):
        if torch.isnan(theta).any() or (theta < 0).any() or (theta > 1).any():
            raise ValueError(f"{name} must be probabilities in [0, 1]")
    flip_prob = torch.where(x > 0, theta_minus, theta_plus)
    flip = torch.rand(x.shape, generator=generator) < flip_prob
    return torch.where(flip, 1 - x, x)


def _check_matrix(name: str, matrix) -> np.ndarray:
    matrix = check_probabilities(matrix, name)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 1:
        raise ValueError(f"{name} must be a non-empty C x C matrix, got shape {matrix.shape}")
    return matrix
