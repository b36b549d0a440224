"""Denoising and abstaining base classifiers, the public face of
`graphcert.tasks.graph.denoise` (docs/theory.md §10, §13).

``graphcert.denoise.similarity_filter(model, threshold, measure="jaccard")`` drops the edges
whose endpoints' features are dissimilar before `model` sees a noisy graph;
``top_k_neighbours(model, k)`` keeps each node's k most similar edges;
``abstain_below(model, confidence)`` (also ``graphcert.abstain_below``) lets copies abstain.
``fit_edge_embedding`` learns a feature similarity that predicts edges, for
``similarity_filter(..., measure="cosine", embedding=...)``.
"""
from __future__ import annotations

from graphcert.tasks.graph.denoise import (
    AbstainBelow,
    SimilarityFilter,
    TopKNeighbours,
    abstain_below,
    similarity_filter,
    top_k_neighbours,
)
from graphcert.tasks.graph.edge_embedding import EdgeEmbedding, fit_edge_embedding

__all__ = ["AbstainBelow", "EdgeEmbedding", "SimilarityFilter", "TopKNeighbours",
           "abstain_below", "fit_edge_embedding", "similarity_filter", "top_k_neighbours"]
