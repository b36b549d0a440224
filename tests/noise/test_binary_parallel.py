"""The numpy sampler makes a batch's draws at once (the generator is free for the next batch
right after) and finishes its copies in several threads (pool threads, and the model's thread
while it waits for a prefetched batch), and still draws exactly what it draws copy after copy
(the published results depend on these samples)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import graphcert.noise.sparse_sampler as sampler
import graphcert.sampling.chunks as chunks
from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.chunks import noisy_batches
from graphcert.sampling.streams import chunk_generator

LABELS = np.repeat([0, 1, 2], 10)
CASES = {  # removals (a + m > 1), unions (a + m < 1), thinning (sequential), zeros
    "unions": (np.full((3, 3), 0.05), np.full((3, 3), 0.6)),
    "removals": (np.full((3, 3), 0.4), np.full((3, 3), 0.9)),
    "thinning": (np.array([[0.05, 0.2, 0.5]] * 3), np.full((3, 3), 0.3)),
    "nothing": (np.zeros((3, 3)), np.zeros((3, 3))),
}
SIZES = (7, 1, 16)


def setting(case: str):
    x = (torch.rand(30, 40, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    noise = LocalizedNoise(LABELS, *CASES[case])
    return noise, noise.prepare(x)


def copy_after_copy(case: str) -> list:
    """The reference: every copy drawn from the generator in turn (`_sample_copy`)."""
    noise, graph = setting(case)
    rng, out = chunk_generator(1, "main", 0, 0), []
    for k in range(3):
        plan = sampler._Plan.build(graph, noise.theta_plus[k], noise.theta_minus[k])
        for size in SIZES:
            unions = sampler._one_bits(graph, plan.unions, size, rng)
            removals = sampler._one_bits(graph, plan.removals, size, rng)
            copies = [sampler._sample_copy(graph, plan, rng, u, r)
                      for u, r in zip(unions, removals, strict=True)]
            out.append(sampler._to_batched_csr(copies, graph))
    return [(z.crow_indices(), z.col_indices()) for z in out] + [rng.random(2)]


def batches(case: str, prefetch: bool | None) -> list:
    """`sample` (prefetch None) or `noisy_batches` with and without prefetching."""
    noise, graph = setting(case)
    rng = chunk_generator(1, "main", 0, 0)
    if prefetch is None:
        out = [noise.sample(graph, k, size, rng) for k in range(3) for size in SIZES]
    else:
        out = [z for k in range(3)
               for z in noisy_batches(noise, graph, k, list(SIZES), rng, prefetch)]
    return [(z.crow_indices(), z.col_indices()) for z in out] + [rng.random(2)]


def assert_same(first: list, second: list) -> None:
    assert len(first) == len(second)
    for (crow_a, col_a), (crow_b, col_b) in zip(first[:-1], second[:-1], strict=True):
        assert torch.equal(crow_a, crow_b) and torch.equal(col_a, col_b)
    assert np.array_equal(first[-1], second[-1])  # the generator ends at one place


@pytest.mark.parametrize("drawing", [1, 2])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("prefetch", [None, False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_shared_finishing_equals_copy_after_copy(monkeypatch, case, prefetch, threads, drawing):
    monkeypatch.setattr(sampler, "SAMPLER_THREADS", threads)
    monkeypatch.setattr(sampler, "_POOL", None)
    monkeypatch.setattr(chunks, "DRAWING_THREADS", drawing)
    assert_same(batches(case, prefetch), copy_after_copy(case))


@pytest.mark.parametrize("drawing", [1, 2])
@pytest.mark.parametrize("prefetch", [None, True])
def test_a_short_first_round_rewinds_to_the_sequential_draws(monkeypatch, prefetch, drawing):
    monkeypatch.setattr(sampler, "first_draws", lambda mean: 3)  # every copy falls short
    monkeypatch.setattr(chunks, "DRAWING_THREADS", drawing)
    assert_same(batches("unions", prefetch), copy_after_copy("unions"))


@pytest.mark.parametrize("drawing", [1, 2])
@pytest.mark.parametrize("stage", ["_first_rounds", "_finish_copy"])  # drawing, finishing
def test_an_error_in_the_sampler_reaches_the_caller(monkeypatch, stage, drawing):
    def broken(*args):
        raise MemoryError(f"no room in {stage}")

    monkeypatch.setattr(chunks, "DRAWING_THREADS", drawing)
    monkeypatch.setattr(sampler, stage, broken)
    noise, graph = setting("unions")
    with pytest.raises(MemoryError, match="no room"):
        list(noisy_batches(noise, graph, 0, [4, 4, 4], np.random.default_rng(0), True))
    with pytest.raises(MemoryError, match="no room"):
        noise.sample(graph, 0, 4, np.random.default_rng(0))
