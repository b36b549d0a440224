"""How a batch of noisy copies reaches a model (the model contract of `graphcert.sampling`).

Graph noises return B copies stacked along the node axis, one (B * N, D) tensor (dense, or
sparse CSR for binary attributes). Models that declare the folded batching of `gnn_models`
take them as (B, N, D) against the shared graph: :func:`folded_input`.
"""
from __future__ import annotations

import torch
from torch import Tensor

from gnn_models.batching import BatchedCSR

__all__ = ["batch_for_memory", "folded_input"]


def folded_input(x: Tensor, batch_size: int) -> Tensor | BatchedCSR:
    """(B * N, D) stacked copies as the (B, N, D) input of a folded model: a view of a dense
    tensor, or a `BatchedCSR` sharing the index tensors of a sparse CSR one."""
    rows, features = x.shape
    shape = torch.Size((batch_size, rows // batch_size, features))
    if x.layout == torch.sparse_csr:
        return BatchedCSR(x.crow_indices(), x.col_indices(), shape)
    return x.view(shape)


def batch_for_memory(batch_size: int, num_nodes: int, num_features: int,
                     max_bytes: int = 2**28) -> int:
    """The largest batch <= `batch_size` whose dense float32 (B, N, D) copies fit in
    `max_bytes` (at least 1): ogbn-arxiv's 169k x 128 features take 87 MB per copy."""
    per_copy = 4 * num_nodes * num_features
    return int(max(1, min(batch_size, max_bytes // per_copy)))
