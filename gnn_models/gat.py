"""GAT (Veličković et al. 2018) from torch_geometric's GATConv, in the configuration of
hierarchical smoothing's graph experiments (Scholten et al. 2023)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import GATConv

from gnn_models.batching import BatchedCSR


class GAT(torch.nn.Module):
    """Two GATConv layers: `heads` heads of `hidden` units (concatenated, ELU), then one head
    to the classes; dropout `dropout` on the hidden features and `attention_dropout` on the
    attention coefficients (the reference configuration: 8 x 8, 0.5, 0.2; Veličković et al.
    use 0.6 for both). Self loops are added by GATConv, so isolated nodes keep their own
    features.

    Attention depends on each copy's features, so copies cannot share one propagation as in
    GCN and APPNP: B copies run as one disjoint union graph (``batching = "union"``). A
    (B, N, D) input sharing `edge_index` is run the same way and returns (B, N, C).

    Args:
        in_features (int): feature dimension D.
        num_classes (int): number of classes C.
        hidden (int): hidden units per head.
        heads (int): attention heads of the first layer.
        dropout (float): dropout on the hidden features, in [0, 1).
        attention_dropout (float): dropout on the attention coefficients, in [0, 1).
    """

    #: Monte Carlo batching (`graphcert.sampling.batching`): B copies as one (B * N, D) input
    #: with the block-diagonal union of their graphs; sparse (CSR or COO) binary copies
    #: go straight into the first layer's product
    batching = "union"
    sparse_input = True

    def __init__(self, in_features: int, num_classes: int, hidden: int = 8, heads: int = 8,
                 dropout: float = 0.5, attention_dropout: float = 0.2):
        super().__init__()
        if hidden < 1 or heads < 1:
            raise ValueError(f"hidden and heads must be >= 1, got hidden={hidden}, "
                             f"heads={heads}")
        for name, value in (("dropout", dropout), ("attention_dropout", attention_dropout)):
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        self.convs = torch.nn.ModuleList([
            GATConv(in_features, hidden, heads=heads, dropout=attention_dropout),
            GATConv(heads * hidden, num_classes, heads=1, dropout=attention_dropout)])
        self.dropout = dropout

    def forward(self, x: Tensor | BatchedCSR, edge_index: Tensor) -> Tensor:
        """Logits (N, C), or (B, N, C) for a (B, N, D) `x` of copies sharing `edge_index`.

        Args:
            x: attributes (N, D) or (B, N, D), dense, sparse CSR / COO, or a `BatchedCSR`.
            edge_index: (2, E) edges ``source -> target`` of one graph of N nodes.

        Returns:
            Tensor: logits (N, C) or (B, N, C).
        """
        if len(x.shape) == 2:
            return self._layers(x, edge_index)
        batch, nodes, _ = x.shape
        stacked = _stacked(x)
        offsets = torch.arange(batch, device=edge_index.device) * nodes
        union = (edge_index[:, None, :] + offsets[None, :, None]).reshape(2, -1)
        return self._layers(stacked, union).view(batch, nodes, -1)

    def _layers(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = F.elu(self.convs[0](x, edge_index))
        h = F.dropout(h, p=self.dropout, training=self.training)
        return self.convs[1](h, edge_index)


def _stacked(x: Tensor | BatchedCSR) -> Tensor:
    """(B, N, D) copies as one (B * N, D) tensor in a layout GATConv's first product takes."""
    batch, nodes, features = x.shape
    if isinstance(x, BatchedCSR):
        return x.to_sparse_csr()
    if x.layout == torch.strided:
        return x.reshape(batch * nodes, features)
    x = x.coalesce()
    index = x.indices()
    return torch.sparse_coo_tensor(torch.stack([index[0] * nodes + index[1], index[2]]),
                                   x.values(), (batch * nodes, features), is_coalesced=True)
