"""APPNP (Gasteiger et al. 2019): MLP D -> hidden -> C, then personalized-PageRank propagation."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import APPNP

from gnn_models.batching import (
    BatchedCSR,
    fold,
    folded_mlp,
    linear_input,
    node_count,
    propagation_matrix,
    unfold,
)


class APPNPNet(torch.nn.Module):
    """APPNP with a two-layer MLP (hidden 64, dropout 0.5) and K = 10, alpha = 0.15.

    The propagation computes what PyG's `APPNP` layer (`self.prop`, which holds K and alpha)
    computes. In eval mode with gradients off (Monte Carlo inference) it runs in
    `ppr_propagate`, without allocating a new (N, F) tensor per step, and a batch of binary
    copies goes through `folded_mlp`; with gradients in `ppr_propagate_differentiable`.

    Args:
        in_features (int): feature dimension D.
        num_classes (int): number of classes C.
        hidden (int): hidden units of the MLP.
        dropout (float): dropout probability of the MLP.
        k (int): propagation steps K.
        alpha (float): teleport probability.

    Shapes:
        - ``forward(x, edge_index)``: node features x (N, D), or B copies (B, N, D) (dense,
          sparse COO or `BatchedCSR`); edges (2, E) or the (N, N) sparse CSR matrix of
          ``prepare_graph``; returns logits (N, C), or (B, N, C).
        - ``prepare_graph(edge_index, num_nodes)``: edges (2, E) -> the normalized adjacency
          with self loops, sparse CSR (N, N) (`normalized_adjacency`).

    The docstrings of `forward` and `prepare_graph` stay as they are: the code fingerprint of
    every statistics file sampled from this model hashes them
    (`graphcert.sampling.code_fingerprint`); the class docstring is not hashed.
    """

    #: Monte Carlo batching (`graphcert.sampling.batching`): B copies as (B, N, D) against one
    #: graph, propagated together by one sparse product; binary copies may stay sparse
    batching = "folded"
    sparse_input = True

    def __init__(self, in_features: int, num_classes: int, hidden: int = 64,
                 dropout: float = 0.5, k: int = 10, alpha: float = 0.15):
        super().__init__()
        self.lin1 = torch.nn.Linear(in_features, hidden)
        self.lin2 = torch.nn.Linear(hidden, num_classes)
        self.prop = APPNP(K=k, alpha=alpha, normalize=False)
        self.dropout = dropout

    @staticmethod
    def prepare_graph(edge_index: Tensor, num_nodes: int) -> Tensor:
        """The `normalized_adjacency` that `forward` accepts in place of `edge_index`, so that
        a batch of copies sharing the graph skips the normalization.

        Args:
            edge_index (LongTensor): edges, shape (2, E).
            num_nodes (int): N.

        Returns:
            Tensor: sparse CSR (N, N), target x source.
        """
        return propagation_matrix(edge_index, num_nodes)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Logits of every node.

        Args:
            x (Tensor): features (N, D), or a batch of copies (B, N, D) (dense, sparse COO or
                `gnn_models.batching.BatchedCSR`).
            edge_index (LongTensor or Tensor): edges (2, E), or a precomputed
                `normalized_adjacency` (N, N) for speed.

        Returns:
            Tensor: logits (N, C) or (B, N, C).
        """
        adjacency = propagation_matrix(edge_index, node_count(x))
        inference = not (torch.is_grad_enabled() or self.training)
        if inference and isinstance(x, BatchedCSR):  # Monte Carlo: cache-sized blocks
            h = ppr_propagate(folded_mlp(x, self.lin1, self.lin2), adjacency, self.prop.K,
                              self.prop.alpha)
            return unfold(h, x.shape[0])
        h = linear_input(x, self.lin1.weight, self.lin1.bias)
        h = F.relu_(h) if not torch.is_grad_enabled() else F.relu(h)
        h = F.dropout(h, p=self.dropout, training=self.training)
        h = self.lin2(h)
        batch = h.shape[0] if h.dim() == 3 else None
        h = h if batch is None else fold(h)
        propagate = ppr_propagate if inference else ppr_propagate_differentiable
        h = propagate(h, adjacency, self.prop.K, self.prop.alpha)
        return h if batch is None else unfold(h, batch)


def ppr_propagate(h: Tensor, adjacency: Tensor, k: int, alpha: float) -> Tensor:
    """K steps of x <- (1 - alpha) A x + alpha h from x = h (PyG's `APPNP` without dropout).

    Inference only (no autograd): each step is one fused ``addmm`` into one of two reused
    buffers, so the memory traffic per step is one sparse product instead of a product and
    three (N, F) temporaries.
    """
    if k == 0:
        return h
    buffers = (torch.empty_like(h), torch.empty_like(h) if k > 1 else None)
    x = h
    for step in range(k):
        out = buffers[step % 2]
        torch.addmm(h, adjacency, x, beta=alpha, alpha=1 - alpha, out=out)
        x = out
    return x


def ppr_propagate_differentiable(h: Tensor, adjacency: Tensor, k: int, alpha: float) -> Tensor:
    """`ppr_propagate` for training: the same K steps under autograd.

    torch's backward of a sparse CSR product transposes the matrix, a sort of all its entries,
    on every one of the K steps; here the transpose is built once per call and reused
    (docs/benchmarks.md has the timings).
    """
    if k == 0:
        return h
    adjacency_t = adjacency.t().to_sparse_csr()
    x = h
    for _ in range(k):
        x = torch.add(alpha * h, _SparseProduct.apply(adjacency, adjacency_t, x), alpha=1 - alpha)
    return x


class _SparseProduct(torch.autograd.Function):
    """adjacency @ x with the gradient adjacency_t @ grad (x only; the matrix is constant)."""

    @staticmethod
    def forward(ctx, adjacency: Tensor, adjacency_t: Tensor, x: Tensor) -> Tensor:
        ctx.adjacency_t = adjacency_t
        return adjacency @ x

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, None, Tensor]:
        return None, None, ctx.adjacency_t @ grad
