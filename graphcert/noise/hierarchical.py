"""Hierarchical noise against adversarial nodes (docs/theory.md §14; Scholten et al. 2023).

Upper level: every node's row is selected independently with probability ``p_select``.
Lower level: selected rows get sparsity-aware flips (``theta_plus`` 0 -> 1, ``theta_minus``
1 -> 0) or Gaussian noise N(0, sigma^2); unselected rows stay clean. With node ``clusters``
the flip probabilities are (K,) arrays and a selected row of cluster j gets
``(theta_plus[j], theta_minus[j])`` (docs/theory.md §14.1). With ``indicator`` the
copies carry one more column, 1 on the selected rows, so that the model knows which rows are
noisy (the certificate holds with or without it).

Both noises follow the sampling engine's noise protocol (one output cluster, label 0 for every
node): ``sample(x, 0, B, rng)`` returns the B copies stacked along the node axis, (B * N, D)
or (B * N, D + 1) with the indicator; sparse CSR for binary attributes, dense for Gaussian.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from graphcert.noise.csr import stacked_csr
from graphcert.noise.sparse_sampler import BinaryGraph, prepare_binary, sample_prepared
from graphcert.utils.validation import (
    check_bool,
    check_index_array,
    check_int,
    check_positive_int,
    check_probabilities,
    check_probability,
    check_real,
)

__all__ = ["HierarchicalGaussianNoise", "HierarchicalSparseNoise", "hierarchical_noise"]


def _selected_rows(n_nodes: int, p_select: float, batch_size: int,
                   generator: np.random.Generator) -> np.ndarray:
    """(B * N,) bool: which rows of the stacked copies get lower-level noise."""
    return generator.random(batch_size * n_nodes) < p_select


def _clean_csr(graph: BinaryGraph) -> tuple[np.ndarray, np.ndarray]:
    """(N + 1,) row pointers and sorted columns of the clean 1-bits."""
    keys = np.sort(np.concatenate(graph.ones).astype(np.int64))
    counts = np.bincount(keys // graph.n_features, minlength=graph.n_nodes)
    return np.concatenate(([0], np.cumsum(counts))), keys % graph.n_features


def _merged_rows(noisy_crow: np.ndarray, noisy_col: np.ndarray, clean_crow: np.ndarray,
                 clean_col: np.ndarray, selected: np.ndarray, n_features: int,
                 indicator: bool) -> Tensor:
    """(B * N, D [+ 1]) CSR: row i is the noisy row where ``selected[i]``, else its node's
    clean row, then the indicator entry (column D) on selected rows; one gather, no sort."""
    n_nodes = clean_crow.size - 1
    node = np.arange(selected.size) % n_nodes
    noisy_len = np.diff(noisy_crow)
    data_len = np.where(selected, noisy_len, np.diff(clean_crow)[node])
    out_len = data_len + (selected if indicator else 0)
    out_crow = np.concatenate(([0], np.cumsum(out_len)))
    source = np.concatenate((noisy_col, clean_col))
    start = np.where(selected, noisy_crow[:-1], noisy_col.size + clean_crow[node])
    row = np.repeat(np.arange(selected.size), data_len)
    within = np.arange(row.size) - np.repeat(np.cumsum(data_len) - data_len, data_len)
    out_col = np.empty(out_crow[-1], dtype=np.int64)
    out_col[out_crow[row] + within] = source[start[row] + within]
    if indicator:
        out_col[out_crow[1:][selected] - 1] = n_features
    shape = (selected.size, n_features + int(indicator))
    return stacked_csr(torch.from_numpy(out_crow), torch.from_numpy(out_col), shape)


@dataclass(frozen=True)
class _Upper:
    n_nodes: int
    p_select: float
    indicator: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_nodes", check_positive_int(self.n_nodes, "n_nodes"))
        object.__setattr__(self, "p_select",
                           float(check_real(self.p_select, "p_select", "(0, 1]")))
        object.__setattr__(self, "indicator", check_bool(self.indicator, "indicator"))

    @property
    def labels(self) -> np.ndarray:
        """One output cluster: the engine smooths every node with the same distribution."""
        return np.zeros(self.n_nodes, dtype=np.int64)

    def _check_cluster(self, output_cluster: int) -> None:
        check_int(output_cluster, "output_cluster", "[0, 0]")


@dataclass(frozen=True)
class HierarchicalSparseNoise(_Upper):
    """Row selection + sparsity-aware flips on the selected rows of binary attributes.

    Args:
        n_nodes (int): number of nodes N.
        p_select (float): probability in (0, 1] that a row gets noise.
        indicator (bool): append a column that flags the selected rows.
        theta_plus (float or np.ndarray): probability that a 0-bit of a selected row turns 1;
            with ``clusters`` one per cluster, (K,).
        theta_minus (float or np.ndarray): probability that a 1-bit of a selected row turns 0,
            as ``theta_plus``.
        clusters (np.ndarray, optional): cluster in [0, K) of every node, (N,); None: one
            noise for every row.
    """

    theta_plus: float | np.ndarray = 0.0
    theta_minus: float | np.ndarray = 0.0
    clusters: np.ndarray | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.clusters is None:
            for name in ("theta_plus", "theta_minus"):
                object.__setattr__(self, name, check_probability(getattr(self, name), name))
            return
        thetas = [check_probabilities(getattr(self, name), name)
                  for name in ("theta_plus", "theta_minus")]
        for name, theta in zip(("theta_plus", "theta_minus"), thetas, strict=True):
            if theta.ndim != 1 or theta.shape != thetas[0].shape or theta.size == 0:
                raise ValueError(f"with clusters, theta_plus and theta_minus must be (K,) "
                                 f"arrays of one length, got {name} of shape {theta.shape} "
                                 f"and theta_plus of shape {thetas[0].shape}")
            object.__setattr__(self, name, theta)
        object.__setattr__(self, "clusters", check_index_array(
            self.clusters, "clusters", thetas[0].size, shape=(self.n_nodes,)))

    @property
    def n_row_clusters(self) -> int:
        """Number K of node clusters with their own lower-level noise (1 without clusters)."""
        return 1 if self.clusters is None else self.theta_plus.size

    @property
    def _row_labels(self) -> np.ndarray:
        return self.labels if self.clusters is None else self.clusters

    def prepare(self, x: Tensor | BinaryGraph) -> BinaryGraph:
        """Index the 1-bits of binary ``x`` (N, D) once; prepared inputs pass through.

        Args:
            x (Tensor or BinaryGraph): binary attributes (N, D), or prepared.

        Returns:
            BinaryGraph: one input cluster per node cluster (one without clusters).
        """
        n_nodes = x.n_nodes if isinstance(x, BinaryGraph) else int(np.shape(x)[0])
        if n_nodes != self.n_nodes:
            raise ValueError(f"x has {n_nodes} nodes, the noise was built for "
                             f"n_nodes={self.n_nodes}")
        if not isinstance(x, BinaryGraph):
            return prepare_binary(x, self._row_labels, self.n_row_clusters)
        if x.n_clusters != self.n_row_clusters or not np.array_equal(x.labels,
                                                                     self._row_labels):
            raise ValueError("BinaryGraph was prepared with other clusters than the noise's")
        return x

    def sample(self, x: Tensor | BinaryGraph, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> Tensor:
        """(B * N, D [+ 1]) sparse CSR copies: flipped bits on selected rows, clean bits on the
        others, and the indicator column last.

        Args:
            x (Tensor or BinaryGraph): binary attributes (N, D), or prepared.
            output_cluster (int): 0 (one distribution).
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            Tensor: sparse CSR (B * N, D), (B * N, D + 1) with the indicator.
        """
        self._check_cluster(output_cluster)
        graph = self.prepare(x)
        batch_size = check_positive_int(batch_size, "batch_size")
        noisy = sample_prepared(graph, np.atleast_1d(self.theta_plus),
                                np.atleast_1d(self.theta_minus), batch_size, generator)
        selected = _selected_rows(graph.n_nodes, self.p_select, batch_size, generator)
        crow, col = _clean_csr(graph)
        return _merged_rows(noisy.crow_indices().numpy(), noisy.col_indices().numpy(), crow,
                            col, selected, graph.n_features, self.indicator)

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution.

        Returns:
            dict: kind and parameters.
        """
        described = {"kind": "hierarchical_sparse", "p_select": self.p_select,
                     "theta_plus": self.theta_plus, "theta_minus": self.theta_minus,
                     "indicator": self.indicator, "n_nodes": self.n_nodes}
        if self.clusters is not None:
            described.update(theta_plus=self.theta_plus.tolist(),
                             theta_minus=self.theta_minus.tolist(),
                             clusters_sha256=hashlib.sha256(self.clusters.tobytes()).hexdigest())
        return described


@dataclass(frozen=True)
class HierarchicalGaussianNoise(_Upper):
    """Row selection + N(0, sigma^2) on every feature of the selected rows.

    Args:
        n_nodes (int): number of nodes N.
        p_select (float): probability in (0, 1] that a row gets noise.
        indicator (bool): append a column that flags the selected rows.
        sigma (float): standard deviation of the noise.
    """

    sigma: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "sigma", float(check_real(self.sigma, "sigma", "(0, inf)")))

    def prepare(self, x) -> Tensor:
        """The features as a dense float32 (N, D) tensor.

        Args:
            x (array_like): node features, shape (N, D).

        Returns:
            Tensor: float32 (N, D).
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.layout != torch.strided:
            x = x.to_dense()
        if x.dim() != 2 or x.shape[0] != self.n_nodes:
            raise ValueError(f"x must be ({self.n_nodes}, D), got {tuple(x.shape)}")
        return x

    def sample(self, x, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> Tensor:
        """(B * N, D [+ 1]) dense copies.

        Args:
            x (array_like): node features, shape (N, D).
            output_cluster (int): 0 (one distribution).
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            Tensor: float32 (B * N, D), (B * N, D + 1) with the indicator.
        """
        self._check_cluster(output_cluster)
        x = self.prepare(x)
        batch_size = check_positive_int(batch_size, "batch_size")
        noise = generator.standard_normal((batch_size * self.n_nodes, x.shape[1]),
                                          dtype=np.float32)
        selected = _selected_rows(self.n_nodes, self.p_select, batch_size, generator)
        noise *= (self.sigma * selected).astype(np.float32)[:, None]
        copies = torch.from_numpy(noise).add_(x.repeat(batch_size, 1))
        if self.indicator:
            flag = torch.from_numpy(selected.astype(np.float32))[:, None]
            copies = torch.cat([copies, flag], dim=1)
        return copies

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution.

        Returns:
            dict: kind and parameters.
        """
        return {"kind": "hierarchical_gaussian", "p_select": self.p_select,
                "sigma": self.sigma, "indicator": self.indicator, "n_nodes": self.n_nodes}


def hierarchical_noise(num_nodes: int, p_select: float, *,
                       theta_plus: float | np.ndarray | None = None,
                       theta_minus: float | np.ndarray | None = None, sigma: float | None = None,
                       indicator: bool = True, clusters=None
                       ) -> HierarchicalSparseNoise | HierarchicalGaussianNoise:
    """Hierarchical smoothing (§14): sparsity-aware lower level when ``theta_plus`` and
    ``theta_minus`` are given, Gaussian when ``sigma`` is; exactly one of the two.

    Args:
        num_nodes (int): number of nodes N.
        p_select (float): probability in (0, 1] that a row gets lower-level noise.
        theta_plus (float or array_like, optional): lower-level 0 -> 1 flip probability
            (binary attributes); with ``clusters`` one per cluster, (K,).
        theta_minus (float or array_like, optional): lower-level 1 -> 0 flip probability, as
            ``theta_plus``.
        sigma (float, optional): lower-level Gaussian standard deviation (continuous attributes).
        indicator (bool): append a column that flags the selected rows.
        clusters (array_like, optional): (N,) cluster of every node, in [0, K), for
            cluster-wise sparsity-aware noise (§14.1).

    Returns:
        HierarchicalSparseNoise or HierarchicalGaussianNoise: the noise.
    """
    sparse = theta_plus is not None or theta_minus is not None
    if sparse == (sigma is not None):
        raise ValueError("hierarchical_noise needs either theta_plus and theta_minus "
                         "(binary attributes) or sigma (continuous attributes), not both")
    if sparse:
        if theta_plus is None or theta_minus is None:
            raise ValueError("hierarchical_noise: pass both theta_plus and theta_minus")
        return HierarchicalSparseNoise(num_nodes, p_select, indicator, theta_plus, theta_minus,
                                       clusters)
    if clusters is not None:
        raise ValueError("hierarchical_noise: clusters need the sparsity-aware lower level "
                         "(theta_plus, theta_minus), not sigma")
    return HierarchicalGaussianNoise(num_nodes, p_select, indicator, sigma)
