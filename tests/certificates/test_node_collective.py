"""Collective certificates against adversarial and injected nodes (docs/theory.md §14, §15):
the integer program against brute force over every placement, and end to end against every
set of controlled nodes and every injection on small graphs."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from graphcert.certificates import hierarchical_certified
from graphcert.certificates._node_budget import (
    hierarchical_collective,
    injection_collective,
    most_broken_targets,
    receptive_fields,
)

# 0 - 1 - 2 - 3 - 4 and 2 - 5
EDGES = np.array([[0, 1, 2, 3, 2], [1, 2, 3, 4, 5]])
N = 6


def test_receptive_fields_are_hop_balls():
    f = receptive_fields(EDGES, N, 1, np.array([0, 2])).toarray()
    np.testing.assert_array_equal(f, [[1, 1, 0, 0, 0, 0], [0, 1, 1, 1, 0, 1]])
    f2 = receptive_fields(EDGES, N, 2, np.array([0])).toarray()
    np.testing.assert_array_equal(f2, [[1, 1, 1, 0, 0, 0]])
    np.testing.assert_array_equal(receptive_fields(EDGES, N, 0, np.array([4])).toarray(),
                                  [[0, 0, 0, 0, 1, 0]])


@pytest.mark.parametrize("seed", range(12))
def test_integer_program_matches_every_placement(seed):
    rng = np.random.default_rng(seed)
    n, t = 5, 6
    fields = (rng.random((t, n)) < 0.45).astype(float)
    need = rng.integers(0, 5, t).astype(float)
    budget, capacity = int(rng.integers(0, 5)), int(rng.integers(1, 3))
    best = 0
    for x in itertools.product(range(capacity + 1), repeat=n):
        if sum(x) <= budget:
            best = max(best, int(np.sum(need <= fields @ np.array(x))))
    assert most_broken_targets(fields, need, budget, capacity) == best


P_LOWER = np.array([0.97, 0.995, 0.9, 0.999, 0.99, 0.93])


@pytest.mark.parametrize("r, a, d", [(1, 0, 1), (2, 1, 1), (3, 2, 2), (2, 0, 1)])
def test_hierarchical_collective_matches_every_set_of_controlled_nodes(r, a, d):
    fields = receptive_fields(EDGES, N, 1, np.arange(N))
    dense = fields.toarray()
    args = (0.85, 0.01, 0.6, a, d)
    got = hierarchical_collective(P_LOWER, fields, 0.85, r, 0.01, 0.6, a, d)
    budget = min(r, a + d)
    worst = 0
    for k in range(budget + 1):
        for nodes in itertools.combinations(range(N), k):
            inside = dense[:, list(nodes)].sum(axis=1).astype(int)
            broken = sum(not hierarchical_certified(P_LOWER[t], args[0], int(inside[t]),
                                                    *args[1:]) for t in range(N))
            worst = max(worst, broken)
    assert got.collective == N - worst
    assert got.collective >= got.naive.sum()


def test_collective_beats_naive_where_fields_are_apart():
    # two far-apart targets of a path, one controlled node reaches only one of them
    path = np.array([[0, 1, 2, 3], [1, 2, 3, 4]])
    fields = receptive_fields(path, 5, 1, np.array([0, 4]))
    got = hierarchical_collective(np.array([0.75, 0.75]), fields, 0.8, 1, 0.01, 0.6, 0, 1)
    assert got.naive.sum() == 0 and got.collective == 1


def _still_certified(p, p_n, p_e, counts, at_target):
    """The per-target certificate with the injection's actual edges into the field
    (``at_target``: whether the node has an edge to the target itself)."""
    s = p_n + (1 - p_n) * p_e
    cut = np.prod([p_n + (1 - p_n) * p_e**c for c in counts])
    sep = np.prod([p_n + (1 - p_n) * s**c for c in counts])
    kept = np.prod([p_n + (1 - p_n) * p_e**t * s ** (c - t)
                    for c, t in zip(counts, at_target, strict=True)])
    first = max(p - (1 - p_n), 0) + min(p, 1 - p_n) * cut
    return max(first, p - 1 + sep, p - (1 - p_n) * (1 - kept)) > 0.5


@pytest.mark.parametrize("p_n, p_e", [(0.7, 0.5), (0.4, 0.4), (0.2, 0.5)])
@pytest.mark.parametrize("rho, tau", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_injection_collective_is_sound_for_every_injection(rho, tau, p_n, p_e):
    p_lower = np.array([0.95, 0.8, 0.99, 0.9, 0.75, 0.999])
    fields = receptive_fields(EDGES, N, 1, np.arange(N))
    dense = fields.toarray().astype(bool)
    got = injection_collective(p_lower, fields, p_n, p_e, rho, tau)
    ends = [s for k in range(tau + 1) for s in itertools.combinations(range(N), k)]
    worst = 0
    for pattern in itertools.product(ends, repeat=rho):
        broken = 0
        for t in range(N):
            counts = [int(dense[t, list(s)].sum()) for s in pattern]
            at_target = [int(t in s) for s in pattern]
            broken += not _still_certified(p_lower[t], p_n, p_e, counts, at_target)
        worst = max(worst, broken)
    assert got.collective <= N - worst
    assert got.collective >= got.naive.sum()


def test_injection_collective_multiclass_and_bad_input():
    fields = receptive_fields(EDGES, N, 1, np.arange(N))
    p = np.full(N, 0.9)
    binary = injection_collective(p, fields, 0.9, 0.5, 2, 2)
    multi = injection_collective(p, fields, 0.9, 0.5, 2, 2, p_upper=np.full(N, 0.01))
    assert multi.collective >= binary.collective
    with pytest.raises(ValueError, match=r"tau == -1"):
        injection_collective(p, fields, 0.9, 0.5, 2, -1)
    with pytest.raises(ValueError, match=r"p_edge == 1.0"):
        injection_collective(p, fields, 0.9, 1.0, 2, 1)
    with pytest.raises(ValueError, match=r"r == 7, must be in \[0, num_nodes=6\]"):
        hierarchical_collective(p, fields, 0.8, 7, 0.01, 0.6, 1, 1)
