"""Pair-local edge filters and the law of the filtered noisy graph (docs/theory.md §13).

A pair-local filter decides every node pair {u, v} from that pair alone (here: the
similarity of the two nodes' features). For such a filter the structure bits stay
independent after filtering: with structure noise that flips every pair independently, the
filtered noisy graph keeps a pair

* never, where the filter drops it;
* always, where the filter forces it (``always`` pairs, e.g. "similarity above t2");
* with probability ``1 - p_minus`` where the filter keeps a clean edge;
* with probability ``p_plus`` where the filter keeps an absent pair.

`FilteredStructureNoise` draws that law directly: work proportional to the kept pairs
instead of the ~p_plus N^2 / 2 inserted pairs, the same base classifier and statistics
(tests/noise/test_pair_filter.py compares it with "noise, then filter" exactly).

Similarities (``measure``): ``"jaccard"`` on binary features (|u ∩ v| / |u ∪ v|, from exact
integer counts; 0 when both rows are empty) and ``"cosine"`` on any features (0 when a row is
zero). `pair_similarity` is the one definition; `similar_pairs` enumerates the pairs at or
above a threshold with chunked sparse products and then decides each candidate with
`pair_similarity`, so both give bit-identical decisions.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from graphcert.noise.bernoulli import bernoulli_positions
from graphcert.noise.structure import StructureNoise
from graphcert.utils.pairs import pair_column
from graphcert.utils.validation import check_choice, check_positive_int, check_real

__all__ = ["MEASURES", "FilteredStructureNoise", "PairFilter", "check_threshold",
           "feature_matrix", "pair_similarity", "similar_pairs"]

MEASURES = ("jaccard", "cosine")
_THRESHOLD_RANGE = {"jaccard": "(0, 1]", "cosine": "(0, 1]"}
_ROWS_PER_CHUNK = 1024  # rows of the similarity product per step of `similar_pairs`
_PAIRS_PER_BLOCK = 1 << 18  # pairs per step of `pair_similarity`
_SLACK = 1e-9  # candidates of `similar_pairs` within this of the threshold are re-decided


def check_threshold(threshold, measure: str, name: str = "threshold") -> float:
    """A similarity threshold in its measure's range: Jaccard and cosine in (0, 1] (0 or
    below would keep pairs of unrelated nodes, all N^2 / 2 of them).

    Args:
        threshold (float): the threshold.
        measure (str): ``"jaccard"`` or ``"cosine"``.
        name (str): argument name for the error message.

    Returns:
        float: the threshold.
    """
    measure = check_choice(measure, "measure", MEASURES)
    return float(check_real(threshold, name, _THRESHOLD_RANGE[measure]))


def feature_matrix(x, measure: str) -> sp.csr_matrix:
    """(N, D) features as a scipy CSR matrix (float64); Jaccard needs binary features.

    Args:
        x (Tensor or array_like): features, shape (N, D), dense or sparse.
        measure (str): ``"jaccard"`` or ``"cosine"``.

    Returns:
        sp.csr_matrix: float64 (N, D).
    """
    measure = check_choice(measure, "measure", MEASURES)
    if isinstance(x, Tensor):
        x = x.detach().cpu()
        if x.layout == torch.sparse_csr:
            x = sp.csr_matrix((x.values().double().numpy(), x.col_indices().numpy(),
                               x.crow_indices().numpy()), shape=tuple(x.shape))
        else:
            x = x.to_dense().double().numpy()
    matrix = sp.csr_matrix(x, dtype=np.float64)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    if measure == "jaccard" and np.any(matrix.data != 1.0):
        raise ValueError("measure 'jaccard' needs binary (0/1) features; use 'cosine' for "
                         "continuous ones")
    return matrix


def pair_similarity(features: sp.csr_matrix, u, v, measure: str) -> np.ndarray:
    """Similarity of the pairs (u[i], v[i]) of `features` (`feature_matrix`), float64 (E,).

    Jaccard: ``inter / (|u| + |v| - inter)`` with integer counts; cosine:
    ``<x_u, x_v> / (|x_u| |x_v|)``. Rows without features have similarity 0.

    Args:
        features (sp.csr_matrix): features, shape (N, D).
        u (array_like): first nodes, shape (E,).
        v (array_like): second nodes, shape (E,).
        measure (str): ``"jaccard"`` or ``"cosine"``.

    Returns:
        np.ndarray: float64 (E,).
    """
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    dots = np.concatenate([  # blocks of pairs bound the memory of the gathered rows
        np.asarray(features[u[s:s + _PAIRS_PER_BLOCK]].multiply(
            features[v[s:s + _PAIRS_PER_BLOCK]]).sum(axis=1)).ravel()
        for s in range(0, u.size, _PAIRS_PER_BLOCK)] or [np.zeros(0)])
    if measure == "jaccard":
        sizes = np.diff(features.indptr).astype(np.float64)
        union = sizes[u] + sizes[v] - dots
        return np.divide(dots, union, out=np.zeros_like(dots), where=union > 0)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    scale = norms[u] * norms[v]
    return np.divide(dots, scale, out=np.zeros_like(dots), where=scale > 0)


def similar_pairs(features: sp.csr_matrix, threshold: float, measure: str,
                  rows_per_chunk: int = _ROWS_PER_CHUNK) -> np.ndarray:
    """The pairs u < v with ``pair_similarity >= threshold``: (2, K) int64, sorted by (u, v).

    Candidates come from the sparse product ``X X^T``, `rows_per_chunk` rows at a time (a
    threshold above 0 needs a shared feature, so no pair outside the product qualifies);
    each candidate within 1e-9 of the threshold or above is then decided by
    `pair_similarity`, the function a filter applies to a single edge.

    Args:
        features (sp.csr_matrix): features, shape (N, D).
        threshold (float): smallest similarity.
        measure (str): ``"jaccard"`` or ``"cosine"``.
        rows_per_chunk (int): rows per sparse product.

    Returns:
        np.ndarray: int64 (2, K).
    """
    threshold = check_threshold(threshold, measure)
    rows_per_chunk = check_positive_int(rows_per_chunk, "rows_per_chunk")
    n = features.shape[0]
    sizes = np.diff(features.indptr).astype(np.float64)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    transposed = features.T.tocsc()
    parts = []
    for start in range(0, n, rows_per_chunk):
        block = (features[start:start + rows_per_chunk] @ transposed).tocoo()
        u, v, dots = block.row.astype(np.int64) + start, block.col.astype(np.int64), block.data
        upper = u < v
        u, v, dots = u[upper], v[upper], dots[upper]
        if measure == "jaccard":
            rough = dots / (sizes[u] + sizes[v] - dots)
        else:
            rough = dots / (norms[u] * norms[v])
        near = rough >= threshold - _SLACK
        u, v = u[near], v[near]
        keep = pair_similarity(features, u, v, measure) >= threshold
        parts.append(np.stack([u[keep], v[keep]]))
    pairs = np.concatenate(parts, axis=1) if parts else np.empty((2, 0), np.int64)
    order = np.lexsort((pairs[1], pairs[0]))
    return pairs[:, order]


@dataclass(frozen=True)
class PairFilter:
    """Keep a pair iff its similarity is at least `threshold`; with `always` set, pairs at or
    above it are present whatever the noise (a deterministic augmentation, as AuditVotes'
    feature-similarity filter adds its most similar pairs). Pair-local (docs/theory.md §13).

    Args:
        threshold (float): smallest similarity of a kept pair.
        measure (str): ``"jaccard"`` or ``"cosine"``.
        always (float, optional): pairs at or above this similarity are always present.
    """

    threshold: float
    measure: str = "jaccard"
    always: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", check_threshold(self.threshold, self.measure))
        if self.always is not None:
            always = check_threshold(self.always, self.measure, "always")
            if always < self.threshold:
                raise ValueError(f"always must be >= threshold ({self.threshold}), got {always}")
            object.__setattr__(self, "always", always)

    def describe(self) -> dict:
        """JSON-serializable identity of the filter.

        Returns:
            dict: kind, threshold, measure and always.
        """
        return {"kind": "similarity_filter", "threshold": self.threshold,
                "measure": self.measure, "always": self.always}

    def always_pairs(self, features: sp.csr_matrix) -> np.ndarray:
        """(2, K) pairs u < v present in every filtered graph (none without `always`).

        Args:
            features (sp.csr_matrix): features, shape (N, D) (`feature_matrix`).

        Returns:
            np.ndarray: int64 (2, K).
        """
        if self.always is None:
            return np.empty((2, 0), np.int64)
        return similar_pairs(features, self.always, self.measure)

    def apply(self, features: sp.csr_matrix, edge_index: np.ndarray, copies: int = 1,
              always_pairs: np.ndarray | None = None) -> np.ndarray:
        """The filtered union of `copies` graphs on the rows of `features` (each copy's nodes
        b * N .. b * N + N - 1): kept edges of `edge_index` (2, E), plus the ``always``
        pairs of every copy (`always_pairs`, computed if None); both directions, sorted by
        (source, target).

        Args:
            features (sp.csr_matrix): features, shape (N, D) (`feature_matrix`).
            edge_index (np.ndarray): edges of the union, shape (2, E).
            copies (int): number of copies B.
            always_pairs (np.ndarray, optional): (2, K), from `always_pairs`.

        Returns:
            np.ndarray: int64 (2, E').
        """
        n = features.shape[0]
        u, v = np.asarray(edge_index, dtype=np.int64)
        keep = pair_similarity(features, u % n, v % n, self.measure) >= self.threshold
        src, dst = u[keep], v[keep]
        lo, hi = self.always_pairs(features) if always_pairs is None else always_pairs
        if lo.size:
            offset = np.repeat(np.arange(copies) * n, lo.size)
            src = np.concatenate([src, np.tile(lo, copies) + offset, np.tile(hi, copies) + offset])
            dst = np.concatenate([dst, np.tile(hi, copies) + offset, np.tile(lo, copies) + offset])
        keys = np.unique(src * (copies * n) + dst)
        return np.stack([keys // (copies * n), keys % (copies * n)])


@dataclass(frozen=True, eq=False)
class FilteredStructureNoise:
    """The law of ``filter(noisy graph)`` for a pair-local `PairFilter`, drawn directly
    (docs/theory.md §13): kept clean edges survive with ``1 - p_minus``, kept absent pairs
    appear with ``p_plus`` (per output cluster and cluster pair, as in `StructureNoise`),
    ``always`` pairs are present in every copy, dropped pairs never appear.

    ``x`` is what the filter reads (the clean features or their embedding); `sample` tiles
    the features it is given. The noise protocol of `graphcert.sampling` (`labels`,
    `prepare`, `sample`, `describe`) as `StructureNoise`.

    Args:
        structure (StructureNoise): the noise before the filter.
        pair_filter (PairFilter): the filter.
        x (Tensor): what the filter reads, shape (N, D).
    """

    structure: StructureNoise
    pair_filter: PairFilter
    x: Tensor = field(repr=False)
    _tables: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.structure, StructureNoise):
            raise ValueError(f"structure must be a StructureNoise, got "
                             f"{type(self.structure).__name__}")
        if not isinstance(self.pair_filter, PairFilter):
            raise ValueError(f"pair_filter must be a PairFilter, got "
                             f"{type(self.pair_filter).__name__}")
        features = feature_matrix(self.x, self.pair_filter.measure)
        if features.shape[0] != self.structure.n_nodes:
            raise ValueError(f"x has {features.shape[0]} rows, the graph {self.structure.n_nodes}"
                             " nodes")
        object.__setattr__(self, "_tables", _kept_tables(self.structure, self.pair_filter,
                                                         features))

    @property
    def labels(self) -> np.ndarray:
        """Cluster of every node, int64 (N,)."""
        return self.structure.labels

    @property
    def n_nodes(self) -> int:
        """Number of nodes N."""
        return self.structure.n_nodes

    @property
    def n_clusters(self) -> int:
        """Number of clusters C."""
        return self.structure.n_clusters

    @property
    def kept_pairs(self) -> dict[str, int]:
        """How many pairs of each kind the filter leaves: clean edges, absent pairs, always."""
        t = self._tables
        return {"edges": int(t["edge_u"].size), "absent": int(t["absent_u"].size),
                "always": int(t["always_u"].size)}

    def prepare(self, x: Tensor) -> Tensor:
        """The clean features as sparse CSR, as `StructureNoise.prepare`.

        Args:
            x (Tensor): node features, shape (N, D).

        Returns:
            Tensor: sparse CSR (N, D).
        """
        return self.structure.prepare(x)

    #: `batch_size` copies with the clean features and `sample_edges`'s filtered structure
    sample = StructureNoise.sample

    def sample_edges(self, output_cluster: int, batch_size: int,
                     generator: np.random.Generator) -> Tensor:
        """Edge index (2, E) of the disjoint union of `batch_size` filtered noisy graphs, in
        the layout of `StructureNoise.sample_edges` (both directions, grouped by copy).

        Args:
            output_cluster (int): output cluster k.
            batch_size (int): number of copies B.
            generator (np.random.Generator): the chunk's generator.

        Returns:
            Tensor: int64 (2, E).
        """
        k = int(output_cluster)
        if not 0 <= k < self.n_clusters:
            raise ValueError(f"output_cluster must lie in [0, {self.n_clusters - 1}], got {k}")
        batch_size = check_positive_int(batch_size, "batch_size")
        t = self._tables
        parts = [_bernoulli_copies(1.0 - self.structure.p_minus[k][t["edge_block"]],
                                   batch_size, generator),
                 _bernoulli_copies(self.structure.p_plus[k][t["absent_block"]], batch_size,
                                   generator)]
        n_always = t["always_u"].size
        always = (np.repeat(np.arange(batch_size), n_always), np.tile(np.arange(n_always),
                                                                      batch_size))
        copies, us, vs = [], [], []
        for (copy, index), kind in zip([*parts, always], ("edge", "absent", "always"), strict=True):
            copies.append(copy)
            us.append(t[f"{kind}_u"][index])
            vs.append(t[f"{kind}_v"][index])
        copy, u, v = np.concatenate(copies), np.concatenate(us), np.concatenate(vs)
        both = np.concatenate([copy, copy])
        order = np.argsort(both, kind="stable")
        offset = both[order] * self.n_nodes
        src = np.concatenate([u, v])[order] + offset
        dst = np.concatenate([v, u])[order] + offset
        return torch.from_numpy(np.stack([src, dst]))

    def describe(self) -> dict:
        """Identity of the filtered law: the structure noise, the filter and the features.

        Returns:
            dict: kind, the structure noise's and the filter's identities, a digest of ``x``.
        """
        x = self.x.detach().cpu()
        dense = x.to_dense() if x.layout != torch.strided else x
        digest = hashlib.sha256(dense.contiguous().numpy().tobytes()).hexdigest()
        return {"kind": "filtered_structure", "structure": self.structure.describe(),
                "filter": self.pair_filter.describe(), "features_sha256": digest}


def _kept_tables(structure: StructureNoise, pair_filter: PairFilter,
                 features: sp.csr_matrix) -> dict[str, np.ndarray]:
    """The pairs the filter leaves to the noise, by kind, with their cluster-pair column."""
    n, labels = structure.n_nodes, structure.labels
    kept = similar_pairs(features, pair_filter.threshold, pair_filter.measure)
    kept_keys = kept[0] * n + kept[1]
    edges = structure.edge_index  # unique, row 0 < row 1 (`undirected_edges`)
    edge_keys = np.sort(np.minimum(edges[0], edges[1]) * n + np.maximum(edges[0], edges[1]))
    lo, hi = pair_filter.always_pairs(features)
    always_keys = lo * n + hi
    noisy = np.setdiff1d(kept_keys, always_keys, assume_unique=True)
    is_edge = np.isin(noisy, edge_keys, assume_unique=True)
    tables = {}
    for kind, keys in (("edge", noisy[is_edge]), ("absent", noisy[~is_edge]),
                       ("always", always_keys)):
        u, v = keys // n, keys % n
        tables[f"{kind}_u"], tables[f"{kind}_v"] = u, v
        tables[f"{kind}_block"] = pair_column(labels[u], labels[v], structure.n_clusters)
    return tables


def _bernoulli_copies(probabilities: np.ndarray, batch_size: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(copy, item) of independent Bernoulli(probabilities[item]) successes in each of
    `batch_size` copies: positions at the largest probability, thinned to each item's own
    (exact: accepted with probability p / top)."""
    size = probabilities.size
    if size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    top = float(probabilities.max())
    picked = bernoulli_positions(batch_size * size, top, rng)
    if top > 0 and np.any(probabilities != top):
        picked = picked[rng.random(picked.size) * top < probabilities[picked % size]]
    return picked // size, picked % size
