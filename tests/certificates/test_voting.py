"""Voting certificates (docs/theory.md §12) against brute force: the vote margin against every
vote vector within Hamming distance, the collective count against every allocation of edge
changes to subgraphs and endpoints."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from graphcert.certificates.voting import (
    CollectiveVoting,
    certified_radius,
    coverage_sets,
    vote_counts,
    vote_margin,
    voted_class,
)


def test_vote_counts_and_ties_to_the_smaller_class():
    votes = np.array([[0, 1, 2], [1, 1, 2], [1, 0, 0], [0, 2, 1]])
    counts = vote_counts(votes, 3)
    assert counts.tolist() == [[2, 2, 0], [1, 2, 1], [1, 1, 2]]
    assert voted_class(counts).tolist() == [0, 1, 2]
    # node 0: A = 0, B = 1 tied but larger: floor(0 / 2) = 0; node 2: A = 2, B = 0 < A:
    # floor((2 - 1 - 1) / 2) = 0
    assert vote_margin(counts).tolist() == [0, 0, 0]
    assert vote_margin(np.array([[7, 2, 1], [1, 6, 3], [3, 3, 4]])).tolist() == [2, 1, 0]


@pytest.mark.parametrize("n_groups, n_classes", [(5, 3), (6, 2), (4, 4)])
def test_margin_is_the_exact_number_of_votes_an_adversary_needs_minus_one(n_groups, n_classes):
    """m* = (smallest Hamming distance to a vote vector with another prediction) - 1."""
    vectors = np.array(list(itertools.product(range(n_classes), repeat=n_groups)))
    prediction = voted_class(vote_counts(vectors.T, n_classes))
    margin = vote_margin(vote_counts(vectors.T, n_classes))
    distance = (vectors[:, None, :] != vectors[None, :, :]).sum(-1)
    flipped = prediction[:, None] != prediction[None, :]
    closest = np.where(flipped, distance, n_groups + 1).min(axis=1)
    assert np.array_equal(margin, closest - 1)


def test_certified_radius_divides_by_votes_per_change():
    assert certified_radius(np.array([0, 1, 3, 4, 7]), 2).tolist() == [0, 0, 1, 2, 3]
    with pytest.raises(ValueError, match="votes_per_change"):
        certified_radius(np.array([1]), 0)


def _graph():
    """8 nodes, 9 undirected edges (both directions) in 3 groups."""
    und = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [0, 7], [1, 5]])
    group = np.array([0, 0, 1, 1, 2, 0, 1, 2, 0])
    edge_index = np.concatenate([und.T, und.T[::-1]], axis=1)
    return edge_index, np.concatenate([group, group])


def _distances(edge_index, edge_group, n_nodes, t):
    keep = edge_group == t
    adjacency = csr_matrix((np.ones(keep.sum()), tuple(edge_index[:, keep])),
                           shape=(n_nodes, n_nodes))
    return shortest_path(adjacency, unweighted=True, directed=False)


def test_coverage_sets_are_the_balls_of_every_center():
    edge_index, edge_group = _graph()
    nodes = np.array([0, 2, 5, 7])
    groups, sets = coverage_sets(edge_index, edge_group, 8, 3, 1, nodes)
    for t in range(3):
        dist = _distances(edge_index, edge_group, 8, t)
        balls = {tuple(np.flatnonzero(dist[a, nodes] <= 1)) for a in range(8)} - {()}
        larger = set().union(*(b for b in balls if len(b) > 1))
        expected = {b for b in balls if len(b) > 1 or b[0] not in larger}
        assert {tuple(s) for g, s in zip(groups, sets, strict=True) if g == t} == expected


def _brute_force_flips(edge_index, edge_group, n_nodes, n_groups, hops, targets, need, budget):
    """Most targets with >= need_x reached groups over every multiset of `budget` changes
    (group t, endpoints a <= b), each reaching the nodes within `hops` of a or b in G_t."""
    within = np.stack([_distances(edge_index, edge_group, n_nodes, t)[:, targets] <= hops
                       for t in range(n_groups)])  # (T, center, target)
    options = [(t, a, b) for t in range(n_groups) for a in range(n_nodes)
               for b in range(a, n_nodes)]
    best = 0
    for chosen in itertools.combinations_with_replacement(options, budget):
        reached = np.zeros((n_groups, targets.size), bool)
        for t, a, b in chosen:
            reached[t] |= within[t, a] | within[t, b]
        best = max(best, int((reached.sum(0) >= need).sum()))
    return best


@pytest.mark.parametrize("hops", [0, 1, 2])
@pytest.mark.parametrize("budget", [1, 2, 3])
def test_collective_count_equals_brute_force(hops, budget):
    edge_index, edge_group = _graph()
    targets = np.array([0, 1, 2, 4, 5, 6, 7])
    margin = np.array([0, 1, 0, 2, 1, 0, 3])
    counted = np.array([True, True, True, True, True, False, True])
    cert = CollectiveVoting(edge_index, edge_group, 8, 3, hops, targets, margin, counted)
    result = cert.max_flipped(budget)
    live = counted & (margin < budget)
    brute = _brute_force_flips(edge_index, edge_group, 8, 3, hops, targets[live],
                               margin[live] + 1, budget)
    assert result.exact and result.max_flipped == brute
    shares = CollectiveVoting(edge_index, edge_group, 8, 3, hops, targets, margin, counted,
                              max_incidences=0).max_flipped(budget)
    assert brute <= shares.max_flipped <= live.sum()
    assert cert.certified_count(budget) == counted.sum() - brute
    assert cert.certified_count(budget) >= cert.naive_count(budget)


def test_collective_beats_naive_when_targets_are_far_apart():
    """Two isolated robust-ish targets (m* = 1) cost 2 changes each in distinct groups unless
    they share balls: with 2 changes both can flip (both endpoints of one change per group)."""
    edge_index = np.zeros((2, 0), dtype=np.int64)
    cert = CollectiveVoting(edge_index, np.zeros(0, np.int64), 6, 3, 2,
                            np.arange(6), np.array([1, 1, 1, 1, 5, 5]))
    assert cert.naive_count(2) == 2
    assert cert.max_flipped(2).max_flipped == 2  # {0, 1} paired in two groups
    assert cert.certified_count(2) == 4
    assert cert.max_flipped(4).max_flipped == 4


def test_collective_rejects_bad_input():
    edge_index, edge_group = _graph()
    with pytest.raises(ValueError, match="n_groups"):
        CollectiveVoting(edge_index, edge_group, 8, 1, 2, [0], [1])
    with pytest.raises(ValueError, match="margin"):
        CollectiveVoting(edge_index, edge_group, 8, 3, 2, [0, 1], [1])
    with pytest.raises(ValueError, match="edge_group"):
        CollectiveVoting(edge_index, edge_group[:3], 8, 3, 2, [0], [1])
