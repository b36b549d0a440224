"""What every graph noise hands to the sampling engine (the noise protocol of SPEC §2, §8).

A graph noise draws B noisy copies for one output cluster at a time. Attribute noise returns
the copies' attributes stacked along the node axis, one (B * N, D) tensor, and the copies
share the clean graph. Noise that changes the structure (SPEC §8) returns `NoisyGraphs`: the
stacked attributes and the disjoint union of the B noisy graphs, as torch_geometric batches
graphs (copy b's nodes are b * N .. b * N + N - 1).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

__all__ = ["NoisyGraphs"]


@dataclass(frozen=True)
class NoisyGraphs:
    """B noisy copies of one graph: ``x`` (B * N, D) stacked attributes (dense or sparse CSR)
    and ``edge_index`` (2, E) the disjoint union of their edges, both directions of every
    undirected edge present."""

    x: Tensor
    edge_index: Tensor
    batch_size: int
