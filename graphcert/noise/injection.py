"""Node-aware bi-smoothing against injected nodes (docs/theory.md §15; Lai et al. 2023).

Every undirected edge is deleted with probability ``p_edge`` and every node with probability
``p_node``, all independently; a deleted node loses all its edges and keeps its features (its
own prediction is made from them alone). The noise follows the sampling engine's protocol
(one output cluster) and returns `graphcert.noise.base.NoisyGraphs`: the clean features
tiled B times and the disjoint union of the B noisy graphs.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from graphcert.data.clustering import undirected_edges
from graphcert.noise.base import NoisyGraphs
from graphcert.noise.structure import tile_features
from graphcert.utils.validation import check_int, check_positive_int, check_real

__all__ = ["NodeEdgeDeletionNoise", "injection_noise", "require_edge_input"]


@dataclass(frozen=True)
class NodeEdgeDeletionNoise:
    """Edge deletion with ``p_edge`` and node deletion with ``p_node``, both in [0, 1);
    ``edge_index`` (2, E) the clean graph (either direction; duplicates and self-loops
    dropped).

    Args:
        edge_index (np.ndarray): the clean graph, shape (2, E).
        n_nodes (int): number of nodes N.
        p_node (float): node deletion probability.
        p_edge (float): edge deletion probability.
    """

    edge_index: np.ndarray
    n_nodes: int
    p_node: float
    p_edge: float

    def __post_init__(self) -> None:
        n_nodes = check_positive_int(self.n_nodes, "n_nodes")
        object.__setattr__(self, "n_nodes", n_nodes)
        for name in ("p_node", "p_edge"):
            value = check_real(getattr(self, name), name, "[0, 1)")
            if np.ndim(value) != 0:
                raise ValueError(f"{name} must be a scalar in [0, 1)")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "edge_index", undirected_edges(self.edge_index, n_nodes))

    @property
    def labels(self) -> np.ndarray:
        """One output cluster: int64 zeros (N,)."""
        return np.zeros(self.n_nodes, dtype=np.int64)

    def prepare(self, x: Tensor) -> Tensor:
        """Check the features: (N, D), kept as they are.

        Args:
            x (Tensor): node features, shape (N, D).

        Returns:
            Tensor: ``x``.
        """
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[0] != self.n_nodes:
            raise ValueError(f"x must be an ({self.n_nodes}, D) torch tensor, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        return x

    def sample(self, x: Tensor, output_cluster: int, batch_size: int,
               generator: np.random.Generator) -> NoisyGraphs:
        """`batch_size` copies: clean features, the edges that survive their own coin and
        both endpoints' coins.

        Args:
            x (Tensor): node features, shape (N, D).
            output_cluster (int): 0 (one distribution).
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            NoisyGraphs: features (B * N, D) and edges (2, E').
        """
        check_int(output_cluster, "output_cluster", "[0, 0]")
        edges = self.sample_edges(batch_size, generator)
        return NoisyGraphs(tile_features(self.prepare(x), batch_size), edges, batch_size)

    def sample_edges(self, batch_size: int, generator: np.random.Generator) -> Tensor:
        """(2, E') both directions of every surviving edge of the B copies, grouped by copy;
        copy b's nodes are b * N .. b * N + N - 1.

        Args:
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            Tensor: int64 (2, E').
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        if not isinstance(generator, np.random.Generator):
            raise ValueError("generator must be a numpy.random.Generator")
        u, v = self.edge_index
        node_kept = generator.random((batch_size, self.n_nodes)) >= self.p_node
        edge_kept = generator.random((batch_size, u.size)) >= self.p_edge
        alive = edge_kept & node_kept[:, u] & node_kept[:, v]
        copy, edge = np.nonzero(alive)
        offset = np.repeat(copy * self.n_nodes, 2)
        src = np.stack([u[edge], v[edge]], axis=1).ravel() + offset
        dst = np.stack([v[edge], u[edge]], axis=1).ravel() + offset
        return torch.from_numpy(np.stack([src, dst]))

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution.

        Returns:
            dict: kind, probabilities and a digest of the edges.
        """
        return {"kind": "node_edge_deletion", "p_node": self.p_node, "p_edge": self.p_edge,
                "edges_sha256": hashlib.sha256(self.edge_index.tobytes()).hexdigest()}


def injection_noise(edge_index, num_nodes: int, p_node: float, p_edge: float
                    ) -> NodeEdgeDeletionNoise:
    """Node-aware bi-smoothing (§15): node deletion ``p_node``, edge deletion ``p_edge``.

    Args:
        edge_index (array_like): the clean graph, shape (2, E).
        num_nodes (int): number of nodes N.
        p_node (float): node deletion probability in [0, 1).
        p_edge (float): edge deletion probability in [0, 1).

    Returns:
        NodeEdgeDeletionNoise: the noise.
    """
    return NodeEdgeDeletionNoise(edge_index, num_nodes, p_node, p_edge)


def require_edge_input(model) -> None:
    """Reject a model whose ``forward`` takes no graph: injected nodes act only through
    edges, so the injection threat model has nothing to certify for it.

    Args:
        model (torch.nn.Module or callable): the base classifier.
    """
    forward = getattr(model, "forward", model)
    try:
        params = inspect.signature(forward).parameters
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot read the inputs of model {type(model).__name__}") from exc
    if "edge_index" not in params:
        raise ValueError(f"the injection threat model needs a model with an edge input "
                         f"(forward(x, edge_index)); {type(model).__name__}.forward takes "
                         f"{tuple(params)}")
