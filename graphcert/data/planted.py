"""A synthetic graph with categorical node attributes (docs/theory.md §9): a planted partition whose
classes prefer certain attribute values.

Nodes fall into ``n_classes`` equal classes. Two nodes are linked with probability ``p_in``
inside a class and ``p_out`` across (a stochastic block model). Every class prefers one value
per feature (drawn uniformly); a node takes its class's preferred value with probability
``signal`` and otherwise a uniform value, feature by feature. The attributes are stored
one-hot, ``x`` (N, F * K) float 0/1 as models take them, with ``n_values`` (F,) giving the
blocks (`graphcert.noise.kary` decodes them).

`load_graph` serves it by name: ``planted_categorical`` (no download).
"""
from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, to_undirected

from graphcert.utils.validation import check_int, check_real

__all__ = ["SYNTHETIC_GRAPHS", "planted_categorical_graph"]


def planted_categorical_graph(n_nodes: int = 600, n_classes: int = 4, n_features: int = 12,
                              n_values: int = 6, p_in: float = 0.04, p_out: float = 0.004,
                              signal: float = 0.5, seed: int = 0) -> Data:
    """The planted-partition graph described in the module docstring, as a torch_geometric
    `Data` with ``x`` (one-hot), ``edge_index`` (both directions, coalesced, no self loops),
    ``y``, ``num_classes``, ``n_values`` (F,) and ``name``. Deterministic for a seed.

    Args:
        n_nodes (int): number of nodes N >= 2.
        n_classes (int): number of classes.
        n_features (int): categorical features F.
        n_values (int): values per feature K >= 2.
        p_in (float): edge probability inside a class.
        p_out (float): edge probability between classes.
        signal (float): probability that a value is its class's preferred one.
        seed (int): seed.

    Returns:
        Data: ``x`` float32 (N, F * K).
    """
    n_nodes = check_int(n_nodes, "n_nodes", "[2, inf)")
    n_classes = check_int(n_classes, "n_classes", f"[1, {n_nodes}]")
    n_features = check_int(n_features, "n_features", "[1, inf)")
    n_values = check_int(n_values, "n_values", "[2, inf)")
    p_in, p_out, signal = (check_real(v, name, "[0, 1]") for v, name in
                           ((p_in, "p_in"), (p_out, "p_out"), (signal, "signal")))
    rng = np.random.default_rng(seed)
    y = np.arange(n_nodes) % n_classes
    src, dst = np.triu_indices(n_nodes, k=1)
    linked = rng.random(src.size) < np.where(y[src] == y[dst], p_in, p_out)
    edge_index = torch.from_numpy(np.stack([src[linked], dst[linked]]).astype(np.int64))
    edge_index = coalesce(to_undirected(edge_index, num_nodes=n_nodes), num_nodes=n_nodes)
    preferred = rng.integers(0, n_values, size=(n_classes, n_features))
    values = np.where(rng.random((n_nodes, n_features)) < signal, preferred[y],
                      rng.integers(0, n_values, size=(n_nodes, n_features)))
    x = np.zeros((n_nodes, n_features * n_values), dtype=np.float32)
    x[np.arange(n_nodes)[:, None], np.arange(n_features) * n_values + values] = 1.0
    return Data(x=torch.from_numpy(x), edge_index=edge_index, y=torch.from_numpy(y),
                num_classes=n_classes, n_values=torch.full((n_features,), n_values),
                name="planted_categorical")


SYNTHETIC_GRAPHS = {"planted_categorical": planted_categorical_graph}
