"""Grid-graph view of images for localized smoothing (docs/theory.md §7, LRS §7.1, App. C.2).

Pixels are the nodes (outputs), a ``rows x cols`` partition of the image into cells plays the
role of the METIS clusters and the Chebyshev distance between cells replaces graph affinity.
Outputs of cell k are smoothed with Gaussian noise whose standard deviation on cell u is

    sigma[k, u] = sigma_min + (sigma_max - sigma_min) * max(|i_k - i_u|, |j_k - j_u|) / D

with D the largest such distance in the grid (D = 0 for a 1 x 1 grid: isotropic smoothing).
For the collective certificate (docs/theory.md §5, continuous l2 data) the units are the cells: the
adversary spends ``b[u] = sum of squared changes in cell u`` with ``sum_u b[u] <= eps^2`` and
output n (group = its cell k) is broken iff ``sum_u b[u] / sigma[k, u]^2 >= eta_n``, so the
weight matrix is ``w = 1 / sigma^2`` and ``out_group`` is the cell of every pixel.
"""
from __future__ import annotations

import numpy as np
import torch

from graphcert.data.clustering import (
    affinity_ranks,
    cluster_affinity,
    metis_partition,
    rank_schedule,
)
from graphcert.data.grid import GridPartition, chebyshev_distances
from graphcert.utils.validation import check_index_array, check_real

__all__ = ["ClusterGaussian", "GraphGaussian", "GridGaussian", "localized_gaussian_noise",
           "sigma_schedule"]


def sigma_schedule(rows: int, cols: int, sigma_min: float, sigma_max: float) -> np.ndarray:
    """(C, C) noise levels ``sigma[k, u]`` (row = output cell k, column = input cell u),
    docs/theory.md §7.

    Linear in the Chebyshev distance, normalized by the largest distance D of the grid
    (not by C - 1 as the graph rank schedule); D = 0 gives ``sigma_min`` everywhere.

    Args:
        rows (int): cell rows of the grid.
        cols (int): cell columns of the grid.
        sigma_min (float): noise level at distance 0.
        sigma_max (float): noise level at the largest distance.

    Returns:
        np.ndarray: float64 (C, C), C = rows * cols.
    """
    sigma_min, sigma_max = _check_sigma_range(sigma_min, sigma_max)
    dist = chebyshev_distances(rows, cols)
    d_max = dist.max()
    if d_max == 0:
        return np.full(dist.shape, sigma_min)
    return sigma_min + (sigma_max - sigma_min) * dist / d_max


class ClusterGaussian:
    """Gaussian noise on sites (pixels, nodes) grouped into clusters (docs/theory.md §4, §5, §7).

    Outputs of cluster k see i.i.d. N(0, sigma[k, u]^2) noise on every value of the sites of
    cluster u; ``labels`` is the cluster of every site, which is also the output group.
    Subclasses define the data layout (`prepare`, `sample`, `describe`).

    Args:
        labels (array_like): cluster of every site, shape (n_sites,).
        sigma (array_like): noise levels sigma[k, u] > 0, shape (C, C).
    """

    def __init__(self, labels, sigma):
        sigma = np.asarray(check_real(sigma, "sigma", "(0, inf)"))
        if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1]:
            raise ValueError(f"sigma must be a square (C, C) matrix, got shape {sigma.shape}")
        self.sigma = sigma
        self._labels = check_index_array(labels, "labels", sigma.shape[0], ndim=1)

    @property
    def labels(self) -> np.ndarray:
        """Cluster of every site, int64 (n_sites,)."""
        return self._labels

    @property
    def n_clusters(self) -> int:
        """Number of clusters C."""
        return self.sigma.shape[0]

    def weights(self) -> np.ndarray:
        """(C, C) per-unit weights ``1 / sigma[k, u]^2`` of the collective l2 certificate.

        Returns:
            np.ndarray: float64 (C, C).
        """
        return 1.0 / self.sigma**2

    def site_sigma(self, cluster: int) -> np.ndarray:
        """Noise level of every site for the distribution of output cluster ``cluster``.

        Args:
            cluster (int): output cluster k.

        Returns:
            np.ndarray: float64 (n_sites,), ``sigma[k, labels]``.
        """
        if not 0 <= cluster < self.n_clusters:
            raise ValueError(f"cluster {cluster} out of range for {self.n_clusters} clusters")
        return self.sigma[cluster][self._labels]


class GridGaussian(ClusterGaussian):
    """Localized Gaussian smoothing of images on a grid (docs/theory.md §7); a `SmoothingNoise`.

    ``sample(x, k, B, rng)`` returns B noisy copies of x (a (channels, H, W) tensor) for the
    outputs of cell k: pixels of cell u get i.i.d. N(0, sigma[k, u]^2) noise on every channel.
    Random numbers come from the numpy generator (seeded per chunk by
    `graphcert.sampling.streams.chunk_generator`).

    Args:
        partition (GridPartition): the cells of the grid.
        sigma_min (float): noise level of a pixel's own cell.
        sigma_max (float, optional): noise level at the largest Chebyshev distance; default
            ``sigma_min`` (isotropic).
    """

    def __init__(self, partition: GridPartition, sigma_min: float, sigma_max: float | None = None):
        self.partition = partition
        self.sigma_min = float(sigma_min)
        self.sigma_max = self.sigma_min if sigma_max is None else float(sigma_max)
        super().__init__(partition.labels, sigma_schedule(partition.rows, partition.cols,
                                                          self.sigma_min, self.sigma_max))

    @classmethod
    def isotropic(cls, height: int, width: int, sigma: float) -> "GridGaussian":
        """One cell, one noise level: standard Gaussian smoothing.

        Args:
            height (int): image height H.
            width (int): image width W.
            sigma (float): noise level.

        Returns:
            GridGaussian: one cell of H x W pixels.
        """
        return cls(GridPartition(height, width), sigma)

    def pixel_sigma(self, cell: int) -> np.ndarray:
        """(H, W) noise level of every pixel for the distribution of output cell ``cell``.

        Args:
            cell (int): output cell k.

        Returns:
            np.ndarray: float64 (H, W).
        """
        if not 0 <= cell < self.n_clusters:
            raise ValueError(f"cell {cell} out of range for {self.n_clusters} cells")
        return self.site_sigma(cell).reshape(self.partition.shape)

    def prepare(self, x) -> torch.Tensor:
        """The image as a float32 (channels, H, W) tensor matching the grid.

        Args:
            x (array_like): image, shape (channels, H, W) or (H, W).

        Returns:
            Tensor: float32 (channels, H, W).
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() == 2:
            x = x[None]
        if x.dim() != 3 or tuple(x.shape[1:]) != self.partition.shape:
            raise ValueError(f"image must be (channels, {self.partition.height}, "
                             f"{self.partition.width}), got {tuple(x.shape)}")
        return x

    def sample(self, x, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> torch.Tensor:
        """(B, channels, H, W) noisy copies for the outputs of cell ``output_cluster``.

        Args:
            x (array_like): image, shape (channels, H, W) or (H, W).
            output_cluster (int): output cell k.
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            Tensor: float32 (B, channels, H, W).
        """
        x = self.prepare(x)
        scale = torch.from_numpy(self.pixel_sigma(output_cluster).astype(np.float32))
        noise = generator.standard_normal((batch_size, *x.shape), dtype=np.float32)
        return x + torch.from_numpy(noise) * scale

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution.

        Returns:
            dict: kind, grid shape and sigma range.
        """
        p = self.partition
        return {"kind": "localized_gaussian", "height": p.height, "width": p.width,
                "rows": p.rows, "cols": p.cols, "sigma_min": self.sigma_min,
                "sigma_max": self.sigma_max}


class GraphGaussian(ClusterGaussian):
    """Localized Gaussian noise on node features; a `graphcert.noise.base.SmoothingNoise`.

    ``sample(x, k, B, rng)`` returns B noisy copies of the float features x (N, D), stacked
    along the nodes as one (B * N, D) tensor, for the outputs of cluster k: node m gets
    i.i.d. N(0, sigma[k, labels[m]]^2) on every feature. The noise is dense (continuous
    features all change): `batch_for_memory` sizes batches so that one batch stays within a
    memory budget. With a ``torch.Generator`` the copies are drawn on its device.

    Args:
        labels (array_like): cluster of every node, shape (N,).
        sigma (array_like): noise levels sigma[k, u] > 0, shape (C, C).
    """

    def prepare(self, x) -> torch.Tensor:
        """The features as a float32 (N, D) tensor matching the labels.

        Args:
            x (array_like): node features, shape (N, D).

        Returns:
            Tensor: float32 (N, D).
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() != 2 or x.shape[0] != len(self.labels):
            raise ValueError(f"features must be ({len(self.labels)}, D), got {tuple(x.shape)}")
        return x

    torch_sampling = True  # `sample` also draws on a device with a torch.Generator

    def sample(self, x, output_cluster: int, batch_size: int,
               generator: np.random.Generator | torch.Generator) -> torch.Tensor:
        """B noisy copies of the features for the outputs of `output_cluster`.

        Args:
            x (array_like): node features, shape (N, D).
            output_cluster (int): output cluster k.
            batch_size (int): number of copies B.
            generator (np.random.Generator or torch.Generator): the chunk's generator; a torch
                generator draws on its device.

        Returns:
            Tensor: float32 (B * N, D).
        """
        x = self.prepare(x)
        if isinstance(generator, torch.Generator):  # drawn where the generator is
            x = x.to(generator.device)
            sigma = torch.from_numpy(self.site_sigma(output_cluster).astype(np.float32))
            noisy = torch.randn((batch_size, *x.shape), generator=generator, device=x.device)
            noisy.mul_(sigma.to(x.device)[:, None]).add_(x)
            return noisy.view(-1, x.shape[1])
        noisy = generator.standard_normal((batch_size, *x.shape), dtype=np.float32)
        noisy *= self.site_sigma(output_cluster).astype(np.float32)[:, None]
        noisy += x.numpy()  # in place: one (B, N, D) array at a time
        return torch.from_numpy(noisy).view(-1, x.shape[1])

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution.

        Returns:
            dict: kind and sigma (C, C).
        """
        return {"kind": "graph_gaussian", "sigma": self.sigma.tolist()}


def localized_gaussian_noise(edge_index, num_nodes: int, n_clusters: int, sigma_min: float,
                             sigma_max: float, seed: int = 0) -> GraphGaussian:
    """METIS clusters and the sigma schedule by affinity rank (docs/theory.md §2); C = 1 is
    isotropic.

    Args:
        edge_index: (2, E) edges of the graph.
        num_nodes: number of nodes N.
        n_clusters: number of METIS clusters C.
        sigma_min, sigma_max: noise level on a cluster's own features up to the level on its
            least connected cluster's.
        seed: METIS seed.

    Returns:
        `GraphGaussian` with labels (N,) and sigma (C, C), row = output cluster.
    """
    sigma_min, sigma_max = _check_sigma_range(sigma_min, sigma_max)
    labels = metis_partition(edge_index, num_nodes, n_clusters, seed=seed)
    ranks = affinity_ranks(cluster_affinity(edge_index, labels, n_clusters))
    return GraphGaussian(labels, rank_schedule(ranks, sigma_min, sigma_max))


def _check_sigma_range(sigma_min: float, sigma_max: float) -> tuple[float, float]:
    """``0 < sigma_min <= sigma_max < inf`` as floats."""
    sigma_min = check_real(sigma_min, "sigma_min", "(0, inf)")
    sigma_max = check_real(sigma_max, "sigma_max", "(0, inf)")
    if sigma_max < sigma_min:
        raise ValueError(f"sigma_max == {sigma_max} < sigma_min == {sigma_min}, must be >= "
                         "sigma_min")
    return sigma_min, sigma_max
