"""The numpy sampler finishes a batch's copies in parallel threads and draws exactly what it
draws copy after copy (the published results depend on these samples)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import graphcert.noise.binary as binary
from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.streams import chunk_generator

LABELS = np.repeat([0, 1, 2], 10)
CASES = {  # removals (a + m > 1), unions (a + m < 1), thinning (sequential), zeros
    "unions": (np.full((3, 3), 0.05), np.full((3, 3), 0.6)),
    "removals": (np.full((3, 3), 0.4), np.full((3, 3), 0.9)),
    "thinning": (np.array([[0.05, 0.2, 0.5]] * 3), np.full((3, 3), 0.3)),
    "nothing": (np.zeros((3, 3)), np.zeros((3, 3))),
}


def batches(case: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    x = (torch.rand(30, 40, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    noise = LocalizedNoise(LABELS, *CASES[case])
    graph, rng = noise.prepare(x), chunk_generator(1, "main", 0, 0)
    out = [noise.sample(graph, k, size, rng) for k in range(3) for size in (7, 1, 16)]
    return [(z.crow_indices(), z.col_indices()) for z in out] + [rng.random(2)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_parallel_copies_equal_sequential_copies(monkeypatch, case):
    parallel = batches(case)
    monkeypatch.setattr(binary, "SAMPLER_THREADS", 1)
    sequential = batches(case)
    for (crow_a, col_a), (crow_b, col_b) in zip(parallel[:-1], sequential[:-1]):
        assert torch.equal(crow_a, crow_b) and torch.equal(col_a, col_b)
    assert np.array_equal(parallel[-1], sequential[-1])  # the generator ends at one place


def test_a_short_first_round_rewinds_to_the_sequential_draws(monkeypatch):
    monkeypatch.setattr(binary, "_first_draws", lambda mean: 3)  # every copy falls short
    parallel = batches("unions")
    monkeypatch.setattr(binary, "SAMPLER_THREADS", 1)
    sequential = batches("unions")
    for (crow_a, col_a), (crow_b, col_b) in zip(parallel[:-1], sequential[:-1]):
        assert torch.equal(crow_a, crow_b) and torch.equal(col_a, col_b)
    assert np.array_equal(parallel[-1], sequential[-1])
