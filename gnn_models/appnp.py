"""APPNP (Gasteiger et al. 2019): MLP D -> hidden -> C, then personalized-PageRank propagation."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import APPNP

from gnn_models.batching import fold, linear_input, node_count, propagation_matrix, unfold


class APPNPNet(torch.nn.Module):
    """APPNP with a two-layer MLP (hidden 64, dropout 0.5) and K = 10, alpha = 0.15."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 64,
                 dropout: float = 0.5, k: int = 10, alpha: float = 0.15):
        super().__init__()
        self.lin1 = torch.nn.Linear(in_features, hidden)
        self.lin2 = torch.nn.Linear(hidden, num_classes)
        self.prop = APPNP(K=k, alpha=alpha, normalize=False)
        self.dropout = dropout

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Logits (N, C) or (B, N, C); `edge_index` may be a precomputed
        `normalized_adjacency` for speed."""
        adjacency = propagation_matrix(edge_index, node_count(x))
        h = F.relu(linear_input(x, self.lin1.weight, self.lin1.bias))
        h = F.dropout(h, p=self.dropout, training=self.training)
        h = self.lin2(h)
        if h.dim() == 2:
            return self.prop(h, adjacency)
        return unfold(self.prop(fold(h), adjacency), h.shape[0])
