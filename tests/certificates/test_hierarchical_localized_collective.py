"""Collective certificate for cluster-wise hierarchical noise (docs/theory.md §14.1) against
every set of controlled nodes on a 6-node graph."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from graphcert.certificates import hierarchical_localized_certified
from graphcert.certificates._node_budget import (
    hierarchical_collective,
    hierarchical_localized_collective,
    receptive_fields,
)

# 0 - 1 - 2 - 3 - 4 and 2 - 5
EDGES = np.array([[0, 1, 2, 3, 2], [1, 2, 3, 4, 5]])
N = 6
CLUSTERS = np.array([0, 0, 1, 1, 2, 2])
TP, TM = np.array([0.01, 0.02, 0.01]), np.array([0.9, 0.6, 0.75])
P_LOWER = np.array([0.97, 0.995, 0.9, 0.999, 0.99, 0.93])


def _worst_attack(dense, r, a, d, which_clusters):
    """Most targets broken by any set of controlled nodes: target t breaks when not certified
    against its k_t controlled nodes in the clusters ``which_clusters(t, nodes)``."""
    worst = 0
    for k in range(min(r, a + d) + 1):
        for nodes in itertools.combinations(range(N), k):
            broken = 0
            for t in range(N):
                inside = [w for w in nodes if dense[t, w]]
                mask = which_clusters(t, inside)
                broken += not hierarchical_localized_certified(
                    P_LOWER[t], 0.85, len(inside), TP[mask], TM[mask], a, d)
            worst = max(worst, broken)
    return N - worst


@pytest.mark.parametrize("r, a, d", [(1, 0, 1), (2, 1, 1), (3, 0, 3), (2, 0, 1)])
def test_localized_collective_matches_every_set_of_controlled_nodes(r, a, d):
    fields = receptive_fields(EDGES, N, 1, np.arange(N))
    dense = fields.toarray()
    got = hierarchical_localized_collective(P_LOWER, fields, CLUSTERS, 0.85, r, TP, TM, a, d)
    in_field = _worst_attack(dense, r, a, d,
                             lambda t, inside: np.isin(np.arange(3), CLUSTERS[dense[t] > 0]))
    actual = _worst_attack(dense, r, a, d, lambda t, inside: np.isin(
        np.arange(3), CLUSTERS[inside] if inside else CLUSTERS))  # r = 0 without nodes
    assert got.collective == in_field <= actual
    assert got.collective >= got.naive.sum()
    naive = hierarchical_localized_certified(P_LOWER, 0.85, min(r, a + d), TP, TM, a, d)
    np.testing.assert_array_equal(got.naive, naive)


def test_one_shared_noise_matches_hierarchical_collective():
    fields = receptive_fields(EDGES, N, 2, np.arange(N))
    for r in range(4):
        got = hierarchical_localized_collective(P_LOWER, fields, CLUSTERS, 0.85, r,
                                                [0.01] * 3, [0.6] * 3, 0, r)
        want = hierarchical_collective(P_LOWER, fields, 0.85, r, 0.01, 0.6, 0, r)
        assert got.collective == want.collective
        np.testing.assert_array_equal(got.naive, want.naive)


def test_bad_clusters_are_named():
    fields = receptive_fields(EDGES, N, 1, np.arange(N))
    with pytest.raises(ValueError, match="clusters"):
        hierarchical_localized_collective(P_LOWER, fields, CLUSTERS[:5], 0.85, 1, TP, TM, 0, 1)
