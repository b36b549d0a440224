"""Sparsity-aware localized noise drawn by torch on any device, for accelerators
(docs/theory.md §2).

The same distribution as `graphcert.noise.sparse_sampler` (every 0-bit of input cluster j turns 1
with probability ``theta_plus[j]``, every 1-bit turns 0 with probability ``theta_minus[j]``,
all bits independent), drawn for a whole batch at once with vectorized torch operations and
a ``torch.Generator`` on the device, so that nothing leaves the device and no Python loop
runs over copies. The draws differ from the numpy sampler's, which the CPU keeps.

Construction, for B copies of N x D attributes with the 1-bits ``ones`` (sorted flat keys
``node * D + feature``):

* additions: one Bernoulli(top) process over all B * N * D positions (top = the largest
  theta_plus of a cluster that holds nodes), as geometric gaps from float64 uniforms, each
  copy a row; thinned to theta_plus[j] / top where theta_plus differs between clusters.
  Positions that hold a 1 in the clean graph are dropped: the 1-bits get their own draws;
* the 1-bits: each kept with probability 1 - theta_minus[j], one uniform per (copy, 1-bit);
* the two sorted, disjoint sets of batch keys ``copy * N * D + key`` are merged and cut into
  CSR rows. Work and memory: O(B * (N * D * top + nnz)) plus an N * D bitmap of the clean
  1-bits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from graphcert.noise.bernoulli import first_draws, gap_law
from graphcert.noise.csr import stacked_csr

__all__ = ["DeviceBinaryGraph", "bernoulli_rows", "ones_csr", "sample_on_device"]


@dataclass(frozen=True)
class DeviceBinaryGraph:
    """Clean binary attributes on one device, ready for `sample_on_device`.

    ``labels`` (N,) input cluster of every node; ``ones`` (nnz,) sorted flat keys of the
    1-bits and ``ones_cluster`` (nnz,) their input clusters; ``is_one`` (N * D,) the same
    set as a bitmap; ``present`` the clusters that hold a node.

    Args:
        n_nodes (int): number of nodes N.
        n_features (int): attribute dimension D.
        n_clusters (int): number of input clusters C.
        labels (Tensor): int64 (N,).
        ones (Tensor): int64 (nnz,).
        ones_cluster (Tensor): int64 (nnz,).
        is_one (Tensor): bool (N * D,).
        present (np.ndarray): int64 ids of the non-empty clusters.
    """

    n_nodes: int
    n_features: int
    n_clusters: int
    labels: Tensor
    ones: Tensor
    ones_cluster: Tensor
    is_one: Tensor
    present: np.ndarray

    @classmethod
    def build(cls, n_nodes: int, n_features: int, labels: np.ndarray,
              ones: tuple[np.ndarray, ...], device: torch.device | str) -> "DeviceBinaryGraph":
        """From the per-cluster sorted keys ``ones[j]`` of a `BinaryGraph`.

        Args:
            n_nodes (int): number of nodes N.
            n_features (int): attribute dimension D.
            labels (np.ndarray): input cluster of every node, int64 (N,).
            ones (tuple[np.ndarray, ...]): per input cluster the sorted flat keys of its 1-bits.
            device (torch.device or str): the device.

        Returns:
            DeviceBinaryGraph: the attributes on ``device``.
        """
        keys = np.concatenate(ones).astype(np.int64)
        cluster = np.repeat(np.arange(len(ones)), [len(o) for o in ones])
        order = np.argsort(keys, kind="stable")
        keys_t = torch.from_numpy(keys[order]).to(device)
        is_one = torch.zeros(n_nodes * n_features, dtype=torch.bool, device=device)
        is_one[keys_t] = True
        present = np.flatnonzero(np.bincount(labels, minlength=len(ones)))
        return cls(n_nodes, n_features, len(ones), torch.from_numpy(labels).to(device),
                   keys_t, torch.from_numpy(cluster[order]).to(device), is_one, present)

    @property
    def device(self) -> torch.device:
        """The device of the tensors."""
        return self.ones.device

    def to(self, device: torch.device | str) -> "DeviceBinaryGraph":
        """The same attributes on `device` (itself if already there).

        Args:
            device (torch.device or str): the device.

        Returns:
            DeviceBinaryGraph: the attributes on ``device``.
        """
        if torch.device(device) == self.device:
            return self
        moved = {name: getattr(self, name).to(device)
                 for name in ("labels", "ones", "ones_cluster", "is_one")}
        return DeviceBinaryGraph(self.n_nodes, self.n_features, self.n_clusters,
                                 present=self.present, **moved)


def sample_on_device(graph: DeviceBinaryGraph, theta_plus_row: np.ndarray,
                     theta_minus_row: np.ndarray, batch_size: int,
                     generator: torch.Generator) -> Tensor:
    """`batch_size` noisy copies as a (B * N, D) sparse CSR tensor of ones on the generator's
    device; ``theta_*_row[j]`` (validated probabilities) apply to input cluster j.

    Args:
        graph (DeviceBinaryGraph): the prepared attributes.
        theta_plus_row (np.ndarray): 0 -> 1 probability per input cluster, shape (C,).
        theta_minus_row (np.ndarray): 1 -> 0 probability per input cluster, shape (C,).
        batch_size (int): number of copies B.
        generator (torch.Generator): the generator, on the graph's device.

    Returns:
        Tensor: sparse CSR (B * N, D).
    """
    if generator.device != graph.device:
        raise ValueError(f"generator on {generator.device}, graph on {graph.device}")
    length = graph.n_nodes * graph.n_features
    plus = torch.as_tensor(theta_plus_row, dtype=torch.float64, device=graph.device)
    minus = torch.as_tensor(theta_minus_row, dtype=torch.float64, device=graph.device)
    present_plus = np.asarray(theta_plus_row, dtype=np.float64)[graph.present]
    top = float(present_plus.max())
    added = bernoulli_rows(batch_size, length, top, generator)
    if top > 0 and np.any(present_plus != top):
        node = (added % length) // graph.n_features
        thin = plus[graph.labels[node]] / top
        added = added[torch.rand(added.numel(), generator=generator, dtype=torch.float64,
                                 device=graph.device) < thin]
    added = added[~graph.is_one[added % length]]
    keep = 1.0 - minus[graph.ones_cluster]  # (nnz,)
    uniforms = torch.rand((batch_size, graph.ones.numel()), generator=generator,
                          dtype=torch.float64, device=graph.device)
    copy, index = torch.nonzero(uniforms < keep, as_tuple=True)
    kept = copy * length + graph.ones[index]
    return ones_csr(_merge_disjoint(added, kept), batch_size * graph.n_nodes,
                    graph.n_features)


def bernoulli_rows(rows: int, length: int, p: float, generator: torch.Generator) -> Tensor:
    """Sorted keys ``row * length + position`` of `rows` independent Bernoulli(p) processes
    over [0, length) (int64, on the generator's device).

    The gaps between successes are Geometric(p): ``floor(log(U) / log(1 - p)) + 1`` from
    float64 uniforms U (exact up to float64 rounding, as `graphcert.noise.bernoulli.
    bernoulli_positions`). Each row draws its expected count plus six standard deviations
    (plus 16) at once, and all rows draw more together in the rare case that one falls short.

    Args:
        rows (int): number of processes.
        length (int): positions per process.
        p (float): success probability.
        generator (torch.Generator): source of the uniforms.

    Returns:
        Tensor: int64 (K,), sorted.
    """
    device = generator.device
    if p <= 0.0 or length == 0 or rows == 0:
        return torch.empty(0, dtype=torch.int64, device=device)
    if p >= 1.0:
        return torch.arange(rows * length, device=device)
    scale, cap, mean = gap_law(length, p)  # cap: U == 0 (probability 2^-53), overlong gaps
    draws = first_draws(mean)
    positions = None
    while positions is None or bool(torch.any(positions[:, -1] < length - 1)):
        uniforms = torch.rand((rows, draws), generator=generator, dtype=torch.float64,
                              device=device)
        steps = uniforms.log_().mul_(scale).clamp_(max=cap).long().add_(1)  # floor: gaps >= 0
        start = -1 if positions is None else positions[:, -1:]
        part = torch.cumsum(steps, 1).add_(start)
        positions = part if positions is None else torch.cat([positions, part], 1)
        draws = int(6.0 * math.sqrt(mean) + 16)
    inside = positions < length
    return positions.add_(torch.arange(rows, device=device)[:, None] * length)[inside]


def _merge_disjoint(a: Tensor, b: Tensor) -> Tensor:
    """The sorted union of two sorted tensors with no common element."""
    out = torch.empty(a.numel() + b.numel(), dtype=a.dtype, device=a.device)
    out[torch.arange(a.numel(), device=a.device) + torch.searchsorted(b, a)] = a
    out[torch.arange(b.numel(), device=b.device) + torch.searchsorted(a, b)] = b
    return out


def ones_csr(keys: Tensor, rows: int, n_features: int) -> Tensor:
    """The (rows, n_features) sparse CSR tensor of ones at the sorted flat `keys`
    (``row * n_features + column``), indices int32 when they fit.

    Args:
        keys (Tensor): sorted flat keys, shape (nnz,).
        rows (int): number of rows.
        n_features (int): number of columns D.

    Returns:
        Tensor: sparse CSR (rows, D).
    """
    crow = torch.searchsorted(keys, torch.arange(rows + 1, device=keys.device) * n_features)
    col = keys % n_features
    if max(keys.numel(), rows, n_features) < 2**31:
        crow, col = crow.int(), col.int()
    return stacked_csr(crow, col, (rows, n_features))
