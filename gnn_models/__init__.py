"""Graph neural networks for node classification, built from torch_geometric layers.

Every model maps `(x, edge_index)` to logits. `x` is either one graph's attributes (N, D) or
a batch of B noisy copies of the same graph (B, N, D) that share `edge_index` (N nodes); both
dense tensors and torch sparse COO tensors are accepted. APPNP and GCN propagate batched
copies in a single sparse product by folding the batch into the feature dimension, which is
what makes Monte Carlo smoothing with thousands of forward passes affordable; in place of
`edge_index` they accept `normalized_adjacency(edge_index, N)`, computed once, to skip the
per-call normalization. GAT's attention differs from copy to copy: it runs the copies as one
disjoint union graph.
"""
from __future__ import annotations

import torch

from gnn_models.appnp import APPNPNet
from gnn_models.batching import model_input, normalized_adjacency
from gnn_models.gat import GAT
from gnn_models.gcn import GCN
from gnn_models.temperature import ScaledLogits

MODELS = {"appnp": APPNPNet, "gat": GAT, "gcn": GCN}


def get_model(name: str, in_features: int, num_classes: int, **params) -> torch.nn.Module:
    """Instantiate a registered model by name ("appnp", "gat" or "gcn").

    Args:
        name (str): a key of `MODELS`, any case.
        in_features (int): feature dimension D.
        num_classes (int): number of classes C.
        **params: keyword arguments of the model (hidden, dropout, ...).

    Returns:
        torch.nn.Module: the new model.
    """
    key = name.lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[key](in_features, num_classes, **params)


__all__ = ["APPNPNet", "GAT", "GCN", "MODELS", "ScaledLogits", "get_model", "model_input",
           "normalized_adjacency"]
