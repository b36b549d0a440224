"""Denoising and abstaining base classifiers: deterministic steps composed with any model
under the model contract (`graphcert.sampling.batching`; docs/theory.md §10, §13).

A certificate is about the base classifier the noisy copies go through. A deterministic
step applied to each copy (drop dissimilar edges, keep each node's most similar neighbours,
abstain when unsure) is part of that classifier, so every certificate stays sound; it only
changes which smoothed classifier is certified.

* `similarity_filter(model, threshold, measure)`: drop every edge whose endpoints'
  feature similarity is below `threshold` (`graphcert.noise.pair_filter.PairFilter`).
  Pair-local, so under structure noise `SimilarityFilter.direct` gives the inner model and
  the law of the filtered copies to draw directly (the same statistics, far fewer pairs).
* `top_k_neighbours(model, k, measure)`: keep an edge iff it is among the k most similar
  edges of one of its endpoints. Not pair-local (it compares a node's edges), still one
  deterministic step per copy.
* `abstain_below(model, confidence)`: a copy's output abstains where its top softmax
  probability is below `confidence` (docs/theory.md §10): its logits become a row of -inf,
  which the vote counting treats as "no class" (`graphcert.sampling.abstention`).
"""
from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from gnn_models.batching import BatchedCSR
from graphcert.noise.pair_filter import (
    MEASURES,
    FilteredStructureNoise,
    PairFilter,
    feature_matrix,
    pair_similarity,
    similar_pairs,
)
from graphcert.noise.structure import StructureNoise
from graphcert.sampling.abstention import ABSTAIN
from graphcert.utils.validation import check_choice, check_positive_int, check_real

__all__ = ["AbstainBelow", "SimilarityFilter", "TopKNeighbours", "abstain_below",
           "direct_path", "similarity_filter", "top_k_neighbours"]


class _Wrapper(torch.nn.Module):
    """A deterministic step around `model`, which keeps its parameters (state dict keys
    ``model.*``). Receives copies as a union graph: x (B * N, D), edges of the union."""

    batching = "union"

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        if getattr(model, "batching", "union") == "single":
            raise ValueError("denoising wrappers need a model that takes a union of copies "
                             "(batching 'union' or 'folded'), not 'single'")
        self.model = model

    @property
    def sparse_input(self) -> bool:
        return bool(getattr(self.model, "sparse_input", False))

    def _inner(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The wrapped model on the union graph: (B * N, C) logits."""
        if isinstance(x, BatchedCSR) or x.dim() != 2:
            raise ValueError("a denoising wrapper takes x of shape (B * N, D)")
        return self.model(x, edge_index)


class SimilarityFilter(_Wrapper):
    """`model` on the graph whose dissimilar edges are dropped (`PairFilter`), docs/theory.md
    §13. The similarity reads the node features, or their `embedding` (a fixed module, e.g.
    `graphcert.tasks.graph.edge_embedding.EdgeEmbedding`, cosine only). With ``always``
    set, pairs at or above it are added to every copy; that needs `num_nodes` (the pairs are
    found inside each copy of the union).

    Args:
        model (torch.nn.Module): the base classifier.
        pair_filter (PairFilter): the filter.
        num_nodes (int, optional): nodes per copy N, needed with ``always`` pairs.
        embedding (torch.nn.Module, optional): features -> what the cosine compares.
    """

    def __init__(self, model: torch.nn.Module, pair_filter: PairFilter,
                 num_nodes: int | None = None, embedding: torch.nn.Module | None = None):
        super().__init__(model)
        if pair_filter.always is not None and num_nodes is None:
            raise ValueError("a filter with 'always' pairs needs num_nodes")
        if embedding is not None and pair_filter.measure != "cosine":
            raise ValueError(f"a filter on an embedding needs measure 'cosine', got "
                             f"{pair_filter.measure!r}")
        # plain settings, so that the model's fingerprint holds them
        self.threshold, self.measure = pair_filter.threshold, pair_filter.measure
        self.always = pair_filter.always
        self.num_nodes = None if num_nodes is None else check_positive_int(num_nodes,
                                                                             "num_nodes")
        self.embedding = embedding
        self._always: dict[str, np.ndarray] = {}

    @property
    def pair_filter(self) -> PairFilter:
        """The filter, built from the plain settings."""
        return PairFilter(self.threshold, self.measure, self.always)

    def read(self, x: Tensor) -> Tensor:
        """What the similarity compares: `x`, or its embedding (no gradient: the filter's
        decisions are hard).

        Args:
            x (Tensor): node features, shape (N, D).

        Returns:
            Tensor: ``x`` or its embedding, (N, hidden).
        """
        if self.embedding is None:
            return x
        with torch.no_grad():
            return self.embedding(x)

    def filtered_edges(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The edges of the union that the filter keeps, plus the ``always`` pairs of every
        copy: (2, E') in both directions.

        Args:
            x (Tensor): node features of the union, shape (B * N, D).
            edge_index (LongTensor): edges of the union, shape (2, E).

        Returns:
            LongTensor: edges, shape (2, E'), on ``edge_index``'s device.
        """
        features = feature_matrix(self.read(x), self.pair_filter.measure)
        u, v = edge_index.detach().cpu().numpy().astype(np.int64)
        keep = pair_similarity(features, u, v, self.pair_filter.measure) \
            >= self.pair_filter.threshold
        src, dst = [u[keep]], [v[keep]]
        if self.pair_filter.always is not None:
            n = self.num_nodes
            for start in range(0, features.shape[0], n):
                lo, hi = self._always_pairs(features[start:start + n])
                src += [lo + start, hi + start]
                dst += [hi + start, lo + start]
            total = features.shape[0]
            keys = np.unique(np.concatenate(src) * total + np.concatenate(dst))
            src, dst = [keys // total], [keys % total]
        edges = torch.from_numpy(np.stack([np.concatenate(src), np.concatenate(dst)]))
        return edges.to(edge_index.device)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The model on the filtered edges.

        Args:
            x (Tensor): node features, shape (N, D).
            edge_index (LongTensor): edges, shape (2, E).

        Returns:
            Tensor: logits, shape (N, C).
        """
        return self._inner(x, self.filtered_edges(x, edge_index))

    def direct(self, structure: StructureNoise, x: Tensor
               ) -> tuple[torch.nn.Module, FilteredStructureNoise]:
        """(inner model, law of the filtered copies): smoothing the inner model under the
        returned noise gives the statistics of this filter under `structure`, drawing only
        the kept pairs (docs/theory.md §13; tests/noise/test_pair_filter.py).

        Args:
            structure (StructureNoise): the structure noise.
            x (Tensor): clean node features, shape (N, D).

        Returns:
            tuple[torch.nn.Module, FilteredStructureNoise]: the inner model and the filtered law.
        """
        return self.model, FilteredStructureNoise(structure, self.pair_filter, self.read(x))

    def _always_pairs(self, features: sp.csr_matrix) -> np.ndarray:
        digest = hashlib.sha256(features.indptr.tobytes() + features.indices.tobytes()
                                + features.data.tobytes()).hexdigest()
        if digest not in self._always:
            if len(self._always) > 8:
                self._always.clear()
            self._always[digest] = similar_pairs(features, self.pair_filter.always,
                                                 self.pair_filter.measure)
        return self._always[digest]


class TopKNeighbours(_Wrapper):
    """`model` on the graph where each edge is kept iff it is among the `k` most similar
    edges of one of its endpoints (ties: the lower neighbour index first). Deterministic per
    copy, not pair-local (docs/theory.md §13).

    Args:
        model (torch.nn.Module): the base classifier.
        k (int): edges kept per endpoint, >= 1.
        measure (str): ``"jaccard"`` or ``"cosine"``.
    """

    def __init__(self, model: torch.nn.Module, k: int, measure: str = "jaccard"):
        super().__init__(model)
        self.k = check_positive_int(k, "k")
        self.measure = check_choice(measure, "measure", MEASURES)

    def kept_edges(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """(2, E') the kept edges, both directions.

        Args:
            x (Tensor): node features, shape (N, D).
            edge_index (LongTensor): edges, shape (2, E).

        Returns:
            LongTensor: edges, shape (2, E'), on ``edge_index``'s device.
        """
        u, v = edge_index.detach().cpu().numpy().astype(np.int64)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        n = x.shape[0]
        keys = np.unique(lo[lo != hi] * n + hi[lo != hi])
        lo, hi = keys // n, keys % n
        sims = pair_similarity(feature_matrix(x, self.measure), lo, hi, self.measure)
        chosen = np.zeros(keys.size, dtype=bool)
        for node, other in ((lo, hi), (hi, lo)):  # rank each node's edges
            order = np.lexsort((other, -sims, node))
            first = np.searchsorted(node[order], node[order], side="left")
            chosen[order[np.arange(order.size) - first < self.k]] = True
        lo, hi = lo[chosen], hi[chosen]
        edges = torch.from_numpy(np.stack([np.concatenate([lo, hi]), np.concatenate([hi, lo])]))
        return edges.to(edge_index.device)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The model on the kept edges.

        Args:
            x (Tensor): node features, shape (N, D).
            edge_index (LongTensor): edges, shape (2, E).

        Returns:
            Tensor: logits, shape (N, C).
        """
        return self._inner(x, self.kept_edges(x, edge_index))


class AbstainBelow(torch.nn.Module):
    """`model` whose outputs abstain where the top softmax probability is below
    `confidence` (in evaluation mode; training trains `model` as it is). Abstaining rows
    are all -inf (`graphcert.sampling.abstention.ABSTAIN`); docs/theory.md §10.

    Args:
        model (torch.nn.Module): the base classifier.
        confidence (float): the threshold in (0, 1); must exceed 1/C.
    """

    def __init__(self, model: torch.nn.Module, confidence: float):
        super().__init__()
        self.model = model
        self.confidence = float(check_real(confidence, "confidence", "(0, 1)"))

    @property
    def batching(self) -> str:
        """The wrapped model's batching (`graphcert.sampling.batching`)."""
        return getattr(self.model, "batching", "union")

    @property
    def sparse_input(self) -> bool:
        """Whether the wrapped model takes sparse CSR features."""
        return bool(getattr(self.model, "sparse_input", False))

    @property
    def prepare_graph(self):
        """The wrapped model's ``prepare_graph`` hook (folded batching)."""
        return self.model.prepare_graph  # AttributeError (no such hook) if the model has none

    def check_classes(self, n_classes: int) -> None:
        """Raise ValueError unless 1 / n_classes < confidence (else no copy could abstain
        or every one would be forced to: the top probability is at least 1 / C).

        Args:
            n_classes (int): number of classes C.
        """
        if not self.confidence > 1.0 / n_classes:
            raise ValueError(f"confidence must lie in (1/C, 1) = (1/{n_classes}, 1) for "
                             f"{n_classes} classes, got {self.confidence}")

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Logits of the wrapped model, all -inf on abstaining rows (eval mode).

        Args:
            x (Tensor): node features, shape (N, D).
            edge_index (LongTensor): edges, shape (2, E).

        Returns:
            Tensor: logits, shape (N, C).
        """
        logits = self.model(x, edge_index)
        if self.training:
            return logits
        self.check_classes(logits.shape[-1])
        top = torch.softmax(logits.float(), dim=-1).amax(-1, keepdim=True)
        return torch.where(top < self.confidence, torch.full_like(logits, ABSTAIN), logits)


def similarity_filter(model: torch.nn.Module, threshold: float, measure: str = "jaccard", *,
                      always: float | None = None, num_nodes: int | None = None,
                      embedding: torch.nn.Module | None = None) -> SimilarityFilter:
    """`model` behind a feature-similarity edge filter: Jaccard (binary features) or cosine
    similarity at least `threshold` in (0, 1], of the features or of their `embedding`;
    `always`: add the pairs at or above it (needs `num_nodes`).

    Args:
        model (torch.nn.Module): the base classifier.
        threshold (float): smallest similarity of a kept edge, in (0, 1].
        measure (str): ``"jaccard"`` or ``"cosine"``.
        always (float, optional): pairs at or above it are added to every copy.
        num_nodes (int, optional): nodes per copy N, needed with `always`.
        embedding (torch.nn.Module, optional): features -> what the cosine compares.

    Returns:
        SimilarityFilter: the wrapped model.
    """
    return SimilarityFilter(model, PairFilter(threshold, measure, always), num_nodes, embedding)


def top_k_neighbours(model: torch.nn.Module, k: int, measure: str = "jaccard"
                     ) -> TopKNeighbours:
    """`model` on each node's `k` most similar noisy edges (`TopKNeighbours`).

    Args:
        model (torch.nn.Module): the base classifier.
        k (int): edges kept per endpoint.
        measure (str): ``"jaccard"`` or ``"cosine"``.

    Returns:
        TopKNeighbours: the wrapped model.
    """
    return TopKNeighbours(model, k, measure)


def abstain_below(model: torch.nn.Module, confidence: float) -> AbstainBelow:
    """`model` whose copies abstain where their top softmax probability is below
    `confidence` in (1/C, 1) (`AbstainBelow`; 1/C is checked on the first output).

    Args:
        model (torch.nn.Module): the base classifier.
        confidence (float): the threshold in (1/C, 1).

    Returns:
        AbstainBelow: the wrapped model.
    """
    return AbstainBelow(model, confidence)


def direct_path(model: torch.nn.Module, noise, x: Tensor) -> tuple[torch.nn.Module, object]:
    """(model, noise) to smooth: for a `SimilarityFilter` (under `AbstainBelow` or not) and
    structure noise alone, its inner model and the law of the filtered copies
    (`SimilarityFilter.direct`: the same statistics, docs/theory.md §13); else unchanged.

    Args:
        model (torch.nn.Module): the base classifier.
        noise: the smoothing noise.
        x (Tensor): clean node features, shape (N, D).

    Returns:
        tuple[torch.nn.Module, object]: the model and the noise to smooth.
    """
    abstain = model if isinstance(model, AbstainBelow) else None
    inner = model.model if abstain is not None else model
    if not (isinstance(inner, SimilarityFilter) and isinstance(noise, StructureNoise)):
        return model, noise
    inner, filtered = inner.direct(noise, x)
    if abstain is not None:
        inner = AbstainBelow(inner, abstain.confidence).eval()
    return inner, filtered
