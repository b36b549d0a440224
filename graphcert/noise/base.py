"""The noise protocol: what every graph noise offers the sampling engine (docs/theory.md §2, §8).

`SmoothingNoise` is the contract (prepare, sample, describe, the output cluster of every
node). A graph noise draws B noisy copies for one output cluster at a time. Attribute noise returns
the copies' attributes stacked along the node axis, one (B * N, D) tensor, and the copies
share the clean graph. Noise that changes the structure (docs/theory.md §8) returns `NoisyGraphs`:
the stacked attributes and the disjoint union of the B noisy graphs, as torch_geometric batches
graphs (copy b's nodes are b * N .. b * N + N - 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

__all__ = ["NoisyGraphs", "SmoothingNoise"]


class SmoothingNoise(Protocol):
    """What the engine needs from a smoothing distribution (e.g. `LocalizedNoise`).

    A noise with ``torch_sampling = True`` also takes a ``torch.Generator`` in `sample` and
    then draws on the generator's device; its prepared input has a ``to(device)`` method.
    A noise may also offer ``start_sample`` (same arguments, numpy generator), returning a
    drawn batch whose copies any thread finishes
    (`graphcert.noise.sparse_sampler.PendingCopies`).
    """

    labels: np.ndarray  # output cluster of every node

    def prepare(self, x: Any) -> Any:
        """Index the clean input once so that repeated sampling skips it.

        Args:
            x (Any): the clean input.

        Returns:
            Any: the prepared input `sample` takes.
        """

    def sample(self, x: Any, output_cluster: int, batch_size: int,
               generator: np.random.Generator | torch.Generator) -> Any:
        """`batch_size` noisy copies of `x` from the distribution of `output_cluster`.

        Args:
            x (Any): the clean input or its prepared form.
            output_cluster (int): the distribution, that of the outputs of this cluster.
            batch_size (int): number of copies B.
            generator (np.random.Generator or torch.Generator): the chunk's generator.

        Returns:
            Any: the B copies, in the form the model contract takes (`graphcert.sampling.batching`).
        """

    def describe(self) -> dict:
        """JSON-serializable identity of the distribution.

        Returns:
            dict: kind and parameters, compared when a run resumes.
        """


@dataclass(frozen=True)
class NoisyGraphs:
    """B noisy copies of one graph: ``x`` (B * N, D) stacked attributes (dense or sparse CSR)
    and ``edge_index`` (2, E) the disjoint union of their edges, both directions of every
    undirected edge present.

    Args:
        x (Tensor): stacked attributes, shape (B * N, D).
        edge_index (Tensor): edges of the disjoint union, shape (2, E).
        batch_size (int): number of copies B.
    """

    x: Tensor
    edge_index: Tensor
    batch_size: int
