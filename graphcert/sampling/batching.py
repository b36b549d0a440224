"""How a batch of noisy copies reaches a model: the model contract of `graphcert.sampling`.

Any ``torch.nn.Module`` with ``forward(x, edge_index) -> logits (N, C)`` can be smoothed.
Graph noises hand over B copies at once (`graphcert.noise.base`): their attributes stacked
along the node axis, one (B * N, D) tensor (sparse CSR for binary attributes), with either the
clean graph shared by every copy or `NoisyGraphs`, the disjoint union of B noisy graphs.
Two optional attributes of the model say how it takes them:

``batching``
    ``"union"`` (default): the B copies as one graph, as torch_geometric batches graphs:
    ``x`` (B * N, D), ``edge_index`` block diagonal (copy b's nodes are b * N .. b * N + N - 1),
    logits (B * N, C).
    ``"folded"``: ``x`` (B, N, D) against the one shared graph, logits (B, N, C); the built-in
    `APPNPNet` and `GCN` propagate all copies with one sparse product. Copies with their own
    graphs reach such a model as one union graph, ``x`` of shape (1, B * N, D).
    ``"single"``: one copy at a time, ``x`` (N, D), logits (N, C).
``sparse_input``
    False (default): binary copies arrive as dense float32 tensors, densified in groups of at
    most `batch_for_memory` copies. True: as the noise draws them (sparse CSR; a folded model
    gets a `BatchedCSR`).

A folded model may define ``prepare_graph(edge_index, num_nodes)``; its result replaces the
shared ``edge_index`` (APPNP and GCN: the normalized adjacency, built once per chunk instead
of in every forward). Set the attributes on an instance to declare them for a model class you
do not own: ``model.batching = "single"``.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from gnn_models.batching import BatchedCSR
from graphcert.noise.base import NoisyGraphs

__all__ = ["BATCHINGS", "BatchedModel", "batch_for_memory", "disjoint_union", "folded_input",
           "model_device", "stacked_rows"]

BATCHINGS = ("union", "folded", "single")


def folded_input(x: Tensor, batch_size: int) -> Tensor | BatchedCSR:
    """(B * N, D) stacked copies as the (B, N, D) input of a folded model: a view of a dense
    tensor, or a `BatchedCSR` sharing the index tensors of a sparse CSR one.

    Args:
        x (Tensor): stacked copies, shape (B * N, D), dense or sparse CSR.
        batch_size (int): number of copies B.

    Returns:
        Tensor or BatchedCSR: shape (B, N, D).
    """
    rows, features = x.shape
    shape = torch.Size((batch_size, rows // batch_size, features))
    if x.layout == torch.sparse_csr:
        return BatchedCSR(x.crow_indices(), x.col_indices(), shape)
    return x.view(shape)


def batch_for_memory(batch_size: int, num_nodes: int, num_features: int,
                     max_bytes: int = 2**28) -> int:
    """The largest batch <= `batch_size` whose dense float32 (B, N, D) copies fit in
    `max_bytes` (at least 1): ogbn-arxiv's 169k x 128 features take 87 MB per copy.

    Args:
        batch_size (int): the wanted batch size.
        num_nodes (int): number of nodes N.
        num_features (int): feature dimension D.
        max_bytes (int): memory budget of a batch.

    Returns:
        int: the batch size, >= 1.
    """
    per_copy = 4 * num_nodes * num_features
    return int(max(1, min(batch_size, max_bytes // per_copy)))


def disjoint_union(edge_index: Tensor, num_nodes: int, copies: int) -> Tensor:
    """`copies` copies of one graph as one block-diagonal graph: (2, copies * E), copy b's
    edges shifted by b * num_nodes (torch_geometric's batching of graphs).

    Args:
        edge_index (Tensor): edges of one graph, shape (2, E).
        num_nodes (int): nodes of one graph N.
        copies (int): number of copies B.

    Returns:
        Tensor: edges, shape (2, B * E).
    """
    offsets = torch.arange(copies, device=edge_index.device) * num_nodes
    return (edge_index[:, None, :] + offsets[None, :, None]).reshape(2, -1)


def stacked_rows(x: Tensor, start: int, stop: int) -> Tensor:
    """Rows [start, stop) of a (rows, D) dense or sparse CSR tensor, in the same layout.

    Args:
        x (Tensor): rows, shape (rows, D), dense or sparse CSR.
        start (int): first row.
        stop (int): row after the last.

    Returns:
        Tensor: shape (stop - start, D), in ``x``'s layout.
    """
    if x.layout != torch.sparse_csr:
        return x[start:stop]
    crow = x.crow_indices()[start:stop + 1]
    first, last = int(crow[0]), int(crow[-1])
    return torch.sparse_csr_tensor(crow - first, x.col_indices()[first:last],
                                   x.values()[first:last], (stop - start, x.shape[1]),
                                   check_invariants=False)


def model_device(model: Callable) -> torch.device:
    """Where `model` runs: the device of its first parameter or buffer (CPU if it has none).

    Args:
        model (Callable): a ``torch.nn.Module`` or any callable.

    Returns:
        torch.device: the device.
    """
    if isinstance(model, torch.nn.Module):
        for tensor in (*model.parameters(), *model.buffers()):
            return tensor.device
    return torch.device("cpu")


class BatchedModel:
    """`model` with the batching it declares: ``self(z, batch_size)`` runs B noisy copies
    and returns their logits as one (B, N, C) tensor on the model's device.

    ``edge_index`` (2, E) is the clean graph that attribute noise leaves to every copy (a
    folded model also takes what its ``prepare_graph`` returns); ``num_nodes`` is N.

    Args:
        model (Callable): the base classifier, with optional ``batching`` and ``sparse_input``
            attributes (the model contract above).
        edge_index (Tensor, optional): the clean graph, shape (2, E).
        num_nodes (int): number of nodes N.
        max_bytes (int): memory budget of a batch of dense copies.
    """

    def __init__(self, model: Callable, edge_index: Any, num_nodes: int,
                 max_bytes: int = 2**28):
        self.model = model
        self.batching = getattr(model, "batching", "union")
        if self.batching not in BATCHINGS:
            raise ValueError(f"model.batching == {self.batching!r}, must be one of {BATCHINGS}")
        self.sparse_input = bool(getattr(model, "sparse_input", False))
        self.num_nodes = int(num_nodes)
        self.max_bytes = max_bytes
        self.device = model_device(model)
        self.edge_index = None if edge_index is None else edge_index.to(self.device)
        if self.batching == "folded" and self.edge_index is not None \
                and hasattr(model, "prepare_graph"):
            self.shared = model.prepare_graph(self.edge_index, self.num_nodes)
        else:
            self.shared = self.edge_index
        self._unions: dict[int, Tensor] = {}

    def __call__(self, z: Tensor | NoisyGraphs, batch_size: int) -> Tensor:
        graphs = z if isinstance(z, NoisyGraphs) else None
        x = _to_device(z.x if graphs else z, self.device)
        n = self.num_nodes
        if x.shape[0] != batch_size * n:
            raise ValueError(f"noise returned {x.shape[0]} rows, expected {batch_size} copies "
                             f"of {n} nodes")
        if self.batching == "folded":
            if not self.sparse_input and x.layout != torch.strided:
                x = x.to_dense()
            if graphs is None:
                return self._checked(self.model(folded_input(x, batch_size), self.shared),
                                     (batch_size, n))
            union = self.model(folded_input(x, 1), graphs.edge_index.to(self.device))
            return self._checked(union, (1, batch_size * n)).view(batch_size, n, -1)
        step = 1 if self.batching == "single" else batch_size
        if not (self.sparse_input or x.layout == torch.strided):
            step = min(step, batch_for_memory(batch_size, n, x.shape[1], self.max_bytes))
        parts = []
        for first in range(0, batch_size, step):
            copies = min(step, batch_size - first)
            rows = stacked_rows(x, first * n, (first + copies) * n)
            if not self.sparse_input and rows.layout != torch.strided:
                rows = rows.to_dense()
            edges = self._edges(graphs, first, copies)
            expected = (n,) if self.batching == "single" else (copies * n,)
            parts.append(self._checked(self.model(rows, edges), expected).view(copies, n, -1))
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _edges(self, graphs: NoisyGraphs | None, first: int, copies: int) -> Tensor:
        """The edges of copies first .. first + copies - 1, numbered from 0."""
        n = self.num_nodes
        if graphs is None:
            if self.edge_index is None or copies == 1:  # None: a model that ignores the graph
                return self.edge_index
            if self.edge_index.layout != torch.strided:
                raise ValueError(f"a model with batching {self.batching!r} needs edge_index as "
                                 "a (2, E) tensor, not a precomputed adjacency")
            if copies not in self._unions:
                self._unions[copies] = disjoint_union(self.edge_index, n, copies)
            return self._unions[copies]
        edges = graphs.edge_index.to(self.device)
        if first == 0 and copies == graphs.batch_size:
            return edges
        inside = (edges[0] >= first * n) & (edges[0] < (first + copies) * n)
        return edges[:, inside] - first * n

    def _checked(self, logits: Tensor, rows: tuple[int, ...]) -> Tensor:
        if not isinstance(logits, Tensor) or logits.dim() != len(rows) + 1 \
                or tuple(logits.shape[:-1]) != rows:
            shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise ValueError(f"model with batching {self.batching!r} returned {shape}, "
                             f"expected logits of shape {(*rows, 'n_classes')}")
        return logits


def _to_device(x: Tensor, device: torch.device) -> Tensor:
    return x if x.device == device else x.to(device, non_blocking=True)
