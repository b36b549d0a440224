"""Chunks on an accelerator (graphcert.sampling.devices): the device path, run on every device
there is, and on the CPU by pretending it is one."""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
import torch

import graphcert.sampling.chunks as chunks
from gnn_models import APPNPNet
from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.devices import DeviceCounts, resolve_device, torch_generator
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import ChunkCounts, SmoothingStats
from graphcert.sampling.streams import chunk_generator

N, D = 16, 12
LABELS = np.repeat([0, 1], N // 2)
CONFIG = MonteCarloConfig(n_samples=60, n_pre=20, chunk_size=25, batch_size=8, n_bins=10, seed=2)


@pytest.fixture(scope="module")
def problem():
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(N, D, generator=gen) < 0.3).float()
    ring = torch.arange(N)
    edge_index = torch.stack([ring, (ring + 1) % N])
    edge_index = torch.cat([edge_index, edge_index.flip(0)], 1)
    noise = LocalizedNoise(LABELS, np.full((2, 2), 0.1), np.array([[0.5, 0.8], [0.8, 0.5]]))
    torch.manual_seed(1)
    return APPNPNet(D, 3, hidden=8).eval(), x, edge_index, noise


@pytest.mark.parametrize("phase_main", [False, True])
def test_device_counts_equal_cpu_counts(device, phase_main):
    gen = torch.Generator().manual_seed(5)
    logits = torch.randn(7, 9, 4, generator=gen) * 3
    logits[0, 0] = torch.tensor([0.0, 0.0, -1e4, 5.0])  # exact scores 0 and 1
    chosen = np.array([0, 1, 2, 3, 0, 1, 2, 3, 3]) if phase_main else None
    cpu = ChunkCounts(9, 4, 10)
    cpu.add(logits.numpy(), chosen)
    here = DeviceCounts(9, 4, 10, device)
    here.add(logits.to(device), None if chosen is None else torch.from_numpy(chosen).to(device))
    for name in DeviceCounts._FIELDS:
        assert torch.equal(here.tensors[name].cpu(), torch.from_numpy(getattr(cpu, name))), name
    assert here.n == cpu.n == 7


def test_torch_generator_follows_the_chunk_seed(device):
    a = torch_generator(chunk_generator(3, "main", 1, 2), device)
    b = torch_generator(chunk_generator(3, "main", 1, 2), device)
    c = torch_generator(chunk_generator(3, "main", 1, 3), device)
    draws = [torch.rand(5, generator=g, device=device) for g in (a, b, c)]
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="must be 'auto', 'cpu' or 'cuda'"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="must be 'auto', 'cpu' or 'cuda'"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA device"):
            resolve_device("cuda")


def same(a: SmoothingStats, b: SmoothingStats) -> bool:
    return all(np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in fields(a)
               if isinstance(getattr(a, f.name), np.ndarray))


@pytest.fixture
def device_path(monkeypatch, device):
    """Chunks take the accelerator path (torch noise, counts on the device) even on the CPU."""
    monkeypatch.setattr(chunks, "on_accelerator", lambda where: True)
    return device


def test_device_path_statistics_are_reproducible_and_sound(problem, device_path):
    model, x, edge_index, noise = problem
    model = model.to(device_path)
    runs = [smooth(model, x, edge_index, noise, CONFIG, progress=False, prefetch=prefetch)
            for prefetch in (True, False, True)]
    assert same(runs[0], runs[1]) and same(runs[0], runs[2])
    stats = runs[0]
    assert np.all(stats.n == CONFIG.n_samples) and np.all(stats.n_pre == CONFIG.n_pre)
    assert np.array_equal(stats.votes.sum(1), stats.n)
    assert np.array_equal(stats.hist.sum(1), stats.n)
    assert np.array_equal(stats.candidate_score, stats.pre_score_sum_q.argmax(1))
    # another seed draws other noise
    other = smooth(model, x, edge_index, noise, MonteCarloConfig(60, 20, 25, 8, 10, seed=3),
                   progress=False)
    assert not np.array_equal(other.score_sum_q, stats.score_sum_q)


def test_device_path_agrees_with_the_cpu_in_law(problem, device_path):
    """Votes of the numpy and the torch sampler estimate the same smoothed classifier."""
    model, x, edge_index, noise = problem
    config = MonteCarloConfig(n_samples=1500, n_pre=100, chunk_size=500, batch_size=50, n_bins=1)
    model = model.to(device_path)
    here = smooth(model, x, edge_index, noise, config, progress=False)
    chunks_on_accelerator = chunks.on_accelerator
    chunks.on_accelerator = lambda where: False
    try:
        cpu = smooth(model.cpu(), x, edge_index, noise, config, progress=False)
    finally:
        chunks.on_accelerator = chunks_on_accelerator
    p, q = here.votes / config.n_samples, cpu.votes / config.n_samples
    sd = np.sqrt((p * (1 - p) + q * (1 - q)) / config.n_samples) + 1e-9
    assert (np.abs(p - q) / sd).max() < 5
