"""A small sampling problem shared by test_faults_sampling.py and the processes it kills.

``main(checkpoint, mode, k)`` samples into `checkpoint` and kills its process with SIGKILL:
``mode="batch"`` after k noisy batches (inside a chunk), ``mode="save"`` in the k-th
checkpoint write, after the temporary file is written and before it replaces the checkpoint.
The test imports this module in a fresh process (so that the model class, part of the
fingerprint, is the same `fault_problem.LinearModel` there and here).
"""
from __future__ import annotations

import os
import signal
from dataclasses import fields
from typing import Callable

import numpy as np
import torch

from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.executors import LocalExecutor
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import SmoothingStats

N_NODES, N_FEATURES = 12, 10
LABELS = np.repeat([0, 1], 6)
CONFIG = MonteCarloConfig(n_samples=60, n_pre=20, chunk_size=20, batch_size=8, n_bins=5,
                          seed=11)


class LinearModel(torch.nn.Module):
    """Per-node linear scores of the noisy attributes (weights drawn from `seed`)."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.lin = torch.nn.Linear(N_FEATURES, 3)

    def forward(self, x, edge_index):
        return self.lin(x.to_dense())


def make_noise() -> LocalizedNoise:
    plus = np.array([[0.3, 0.1], [0.05, 0.6]])
    return LocalizedNoise(LABELS, plus, np.full((2, 2), 0.5))


def make_x() -> torch.Tensor:
    rng = np.random.default_rng(0)
    return torch.from_numpy((rng.random((N_NODES, N_FEATURES)) < 0.3).astype(np.float32))


class StopAfterBatches(LocalExecutor):
    """Runs chunks locally and calls `stop` after `limit` noisy batches, inside a chunk, to
    simulate an interruption (outside the model: its state is part of the fingerprint)."""

    def __init__(self, limit: int, stop: Callable[[], None]):
        self.limit, self.stop = limit, stop

    def run_chunks(self, *args, on_batch=None, **kwargs):
        def counted(size: int) -> None:
            self.limit -= 1
            if self.limit == 0:
                self.stop()
            if on_batch is not None:
                on_batch(size)
        yield from super().run_chunks(*args, on_batch=counted, **kwargs)


def assert_same(a: SmoothingStats, b: SmoothingStats) -> None:
    """Bit-identical statistics, with the same fingerprint."""
    for f in fields(SmoothingStats):
        left, right = getattr(a, f.name), getattr(b, f.name)
        if isinstance(left, np.ndarray):
            assert left.dtype == right.dtype and np.array_equal(left, right), f.name
        else:
            assert left == right, f.name


def main(checkpoint: str, mode: str, limit: int) -> None:
    from graphcert.sampling.engine import smooth
    from graphcert.utils import io

    torch.set_num_threads(1)
    executor = None
    if mode == "batch":
        executor = StopAfterBatches(limit, lambda: os.kill(os.getpid(), signal.SIGKILL))
    else:
        fsync, calls = os.fsync, [0]

        def killing_fsync(fd: int) -> None:
            fsync(fd)
            calls[0] += 1
            if calls[0] == limit:
                os.kill(os.getpid(), signal.SIGKILL)
        io.os.fsync = killing_fsync
    smooth(LinearModel().eval(), make_x(), None, make_noise(), CONFIG, checkpoint=checkpoint,
           progress=False, executor=executor)
