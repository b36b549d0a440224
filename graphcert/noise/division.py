"""Hash divisions of a graph into T subgraphs for voting certificates (docs/theory.md §12).

Three divisions, each a deterministic function of the graph and a key derived from the seed:

* ``"edge"``: the undirected pair {u, v} goes to group ``h(min(u, v), max(u, v)) mod T``; both
  directions of an edge share the group. Subgraph t keeps every node and the edges of group t.
  One inserted or deleted edge changes exactly one subgraph: it moves at most **1** vote of
  every node. An attribute change of one node reaches every subgraph: up to **T** votes.
* ``"node"``: the directed edge u -> v (a message to v) goes to the group ``h(v) mod T`` of its
  target, so subgraph t holds the incoming edges of the nodes of group t. Changing the pair
  {u, v} changes u -> v (group of v) and v -> u (group of u): at most **2** votes per edge
  change; attributes: up to **T**.
* ``"feature"``: attribute dimension d goes to group ``h(d) mod T``; subgraph t keeps the whole
  graph and the attribute columns of group t (the others set to 0). One flipped attribute bit
  changes exactly one subgraph: at most **1** vote per attribute change; an edge change
  reaches every subgraph: up to **T** votes.

The hash is the 64-bit finalizer of splitmix64 (Steele, Lea and Flood 2014; a bijection of the
64-bit integers with full avalanche), applied to the ids xor a 64-bit key that blake2b derives
from the seed and the division. It is not a cryptographic hash and need not be: the
certificates hold for every fixed division, also against an adversary who knows the key.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from graphcert.utils.validation import check_choice, check_index_array, check_int

__all__ = ["DIVISIONS", "Division", "divide", "edge_groups", "feature_groups", "hash_key",
           "mix64", "node_groups"]

DIVISIONS = ("edge", "node", "feature")

_MASK = (1 << 64) - 1


def hash_key(seed: int, division: str) -> np.uint64:
    """The 64-bit key of `division` for `seed`: the first 8 bytes of blake2b of both.

    Args:
        seed (int): hash seed.
        division (str): ``"edge"``, ``"node"`` or ``"feature"``.

    Returns:
        np.uint64: the key.
    """
    digest = hashlib.blake2b(f"graphcert.voting:{division}:{int(seed)}".encode(),
                             digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little") & _MASK)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on uint64 `x` (wrapping arithmetic), elementwise.

    Args:
        x (array_like): values, converted to uint64.

    Returns:
        np.ndarray: uint64 of ``x``'s shape.
    """
    x = np.asarray(x, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def edge_groups(edge_index: np.ndarray, n_groups: int, seed: int = 0) -> np.ndarray:
    """Group of every edge of `edge_index` (2, E) under edge hashing: one hash of the ordered
    pair (min, max), so (u, v) and (v, u) agree. Returns int64 (E,) in [0, n_groups).

    Args:
        edge_index (np.ndarray): edges, shape (2, E).
        n_groups (int): number of subgraphs T.
        seed (int): hash seed.

    Returns:
        np.ndarray: int64 (E,) in [0, T).
    """
    edge_index = np.asarray(edge_index, dtype=np.int64)
    low = np.minimum(edge_index[0], edge_index[1]).astype(np.uint64)
    high = np.maximum(edge_index[0], edge_index[1]).astype(np.uint64)
    key = hash_key(seed, "edge")
    pair = mix64(low ^ key) ^ high  # chained: no collisions between (a, b) and (b, a)
    return (mix64(pair) % np.uint64(n_groups)).astype(np.int64)


def node_groups(n_nodes: int, n_groups: int, seed: int = 0) -> np.ndarray:
    """Group of every node under node hashing: int64 (n_nodes,) in [0, n_groups).

    Args:
        n_nodes (int): number of nodes N.
        n_groups (int): number of subgraphs T.
        seed (int): hash seed.

    Returns:
        np.ndarray: int64 (N,) in [0, T).
    """
    ids = np.arange(n_nodes, dtype=np.uint64)
    return (mix64(ids ^ hash_key(seed, "node")) % np.uint64(n_groups)).astype(np.int64)


def feature_groups(n_features: int, n_groups: int, seed: int = 0) -> np.ndarray:
    """Group of every attribute dimension: int64 (n_features,) in [0, n_groups).

    Args:
        n_features (int): attribute dimension D.
        n_groups (int): number of subgraphs T.
        seed (int): hash seed.

    Returns:
        np.ndarray: int64 (D,) in [0, T).
    """
    ids = np.arange(n_features, dtype=np.uint64)
    return (mix64(ids ^ hash_key(seed, "feature")) % np.uint64(n_groups)).astype(np.int64)


@dataclass(frozen=True)
class Division:
    """A graph divided into `n_groups` subgraphs that all keep every node.

    Args:
        kind (str): ``"edge"``, ``"node"`` or ``"feature"``.
        n_groups (int): T.
        n_nodes (int): N.
        edge_index (np.ndarray): (2, E) the graph's edges (int64).
        edge_group (np.ndarray, optional): (E,) the subgraph of each edge, or None
            (``"feature"``: every subgraph has every edge).
        feature_group (np.ndarray, optional): (D,) the subgraph of each attribute dimension
            (``"feature"``), or None (every subgraph keeps every attribute).
    """
    kind: str
    n_groups: int
    n_nodes: int
    edge_index: np.ndarray
    edge_group: np.ndarray | None = None
    feature_group: np.ndarray | None = None

    @property
    def votes_per_edge_change(self) -> int:
        """How many votes of a node one edge insertion or deletion can move."""
        return {"edge": 1, "node": 2, "feature": self.n_groups}[self.kind]

    @property
    def votes_per_attribute_change(self) -> int:
        """How many votes of a node one flipped attribute bit can move."""
        return 1 if self.kind == "feature" else self.n_groups

    def subgraph_edges(self, group: int) -> np.ndarray:
        """(2, E_t) the edges of subgraph `group`.

        Args:
            group (int): the subgraph t.

        Returns:
            np.ndarray: int64 (2, E_t).
        """
        if self.edge_group is None:
            return self.edge_index
        return self.edge_index[:, self.edge_group == group]

    def group_sizes(self) -> np.ndarray:
        """(T,) edges per subgraph (directed entries of edge_index).

        Returns:
            np.ndarray: int64 (T,).
        """
        if self.edge_group is None:
            return np.full(self.n_groups, self.edge_index.shape[1])
        return np.bincount(self.edge_group, minlength=self.n_groups)


def divide(edge_index, n_nodes: int, n_groups: int, division: str = "edge", seed: int = 0,
           n_features: int | None = None) -> Division:
    """Divide the graph `edge_index` (2, E) on `n_nodes` nodes into `n_groups` subgraphs
    (docs/theory.md §12); ``"feature"`` needs `n_features`. The result depends only on the
    graph, `n_groups`, `division` and `seed`.

    Args:
        edge_index (array_like): edges, shape (2, E).
        n_nodes (int): number of nodes N, < 2**32.
        n_groups (int): number of subgraphs T >= 2.
        division (str): ``"edge"``, ``"node"`` or ``"feature"`` hashing.
        seed (int): hash seed.
        n_features (int, optional): attribute dimension D, needed by ``"feature"``.

    Returns:
        Division: the subgraphs.
    """
    n_groups = check_int(n_groups, "n_groups", "[2, inf)")
    check_choice(division, "division", DIVISIONS)
    n_nodes = check_int(n_nodes, "n_nodes", "[1, inf)")
    if n_nodes >= 1 << 32:
        raise ValueError(f"n_nodes == {n_nodes}, must be < 2**32 for the pair hash")
    edge_index = np.asarray(edge_index)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {edge_index.shape}")
    edge_index = check_index_array(edge_index, "edge_index", n_nodes).astype(np.int64)
    if division == "edge":
        return Division("edge", n_groups, n_nodes, edge_index,
                        edge_group=edge_groups(edge_index, n_groups, seed))
    if division == "node":
        return Division("node", n_groups, n_nodes, edge_index,
                        edge_group=node_groups(n_nodes, n_groups, seed)[edge_index[1]])
    if n_features is None:
        raise ValueError("division 'feature' needs n_features (the attribute dimension)")
    n_features = check_int(n_features, "n_features", "[1, inf)")
    return Division("feature", n_groups, n_nodes, edge_index,
                    feature_group=feature_groups(n_features, n_groups, seed))
