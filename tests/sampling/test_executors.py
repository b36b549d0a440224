"""Executors: Ray chunks merge into exactly the local statistics; resumable; sweeps map."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch

from gnn_models import APPNPNet, normalized_adjacency
from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.engine import smooth
from graphcert.sampling.executors import LocalExecutor, make_executor
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import SmoothingStats
from graphcert.sampling.streams import MAIN, PRE

N_NODES, N_FEATURES, N_CLUSTERS = 120, 40, 3
CONFIG = MonteCarloConfig(n_samples=240, n_pre=60, chunk_size=80, batch_size=40, n_bins=50,
                          seed=918273)


def make_problem():
    """A small localized-smoothing problem: (model, x, adjacency, noise)."""
    rng = np.random.default_rng(3)
    x = torch.from_numpy((rng.random((N_NODES, N_FEATURES)) < 0.1).astype(np.float32))
    edges = rng.integers(0, N_NODES, (2, 400))
    edge_index = torch.from_numpy(np.hstack([edges, edges[::-1]]))
    labels = np.arange(N_NODES) % N_CLUSTERS
    theta_minus = np.full((N_CLUSTERS, N_CLUSTERS), 0.8)
    np.fill_diagonal(theta_minus, 0.5)
    noise = LocalizedNoise(labels, np.full_like(theta_minus, 0.02), theta_minus)
    torch.manual_seed(0)
    model = APPNPNet(N_FEATURES, 4, hidden=16, k=3).eval()
    return model, x, normalized_adjacency(edge_index, N_NODES), noise


@pytest.fixture(scope="module")
def problem():
    return make_problem()


@pytest.fixture(scope="module")
def local_stats(problem):
    return smooth(*problem, CONFIG, progress=False)


@pytest.fixture(scope="module")
def ray_executor(ogb_root):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'graphcert[ray]')")
    from graphcert.sampling.executors import RayExecutor
    executor = RayExecutor(num_cpus=2,
                           runtime_env={"env_vars": {"GRAPHCERT_DATA": str(ogb_root)}})
    yield executor
    executor.close()


def assert_identical(a: SmoothingStats, b: SmoothingStats) -> None:
    assert a.config == b.config and a.noise == b.noise
    for f in fields(SmoothingStats):
        if f.name not in ("config", "noise"):
            np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


def test_local_executor_is_the_default(problem, local_stats):
    assert_identical(smooth(*problem, CONFIG, progress=False, executor=LocalExecutor()),
                     local_stats)
    assert local_stats.n.min() == CONFIG.n_samples and local_stats.n_pre.min() == CONFIG.n_pre


def test_local_executor_never_imports_ray():
    code = ("import sys, torch, numpy as np\n"
            "from graphcert.sampling.executors import make_executor\n"
            "from graphcert.sampling.engine import smooth\n"
            "from graphcert.sampling.monte_carlo import MonteCarloConfig\n"
            "from graphcert.noise.binary import LocalizedNoise\n"
            "x = (torch.rand(20, 5) < .3).float()\n"
            "model = lambda z, e: z.to_dense().sum(-1, keepdim=True).repeat(1, 1, 2)\n"
            "model.training, model.batching = False, 'folded'\n"
            "smooth(model, x, None, LocalizedNoise.isotropic(20, .1, .5),\n"
            "       MonteCarloConfig(20, 10, 10, 5), progress=False, executor=make_executor())\n"
            "assert 'ray' not in sys.modules, 'ray imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_executor_validation():
    with pytest.raises(ValueError, match="one of"):
        make_executor("dask")
    with pytest.raises(ValueError, match="ray executor only"):
        make_executor("local", address="auto")


def test_ray_statistics_identical_to_local(problem, local_stats, ray_executor, tmp_path):
    checkpoint = tmp_path / "stats.npz"
    stats = smooth(*problem, CONFIG, progress=False, executor=ray_executor,
                   checkpoint=checkpoint)
    assert_identical(stats, local_stats)
    assert_identical(SmoothingStats.load(checkpoint), local_stats)


class Interrupted(Exception):
    pass


class StopAfter:
    """Wraps an executor and fails after `limit` chunks, like a crash mid-run."""

    def __init__(self, inner, limit: int):
        self.inner, self.limit = inner, limit

    def run_chunks(self, *args, **kwargs):
        for part in self.inner.run_chunks(*args, **kwargs):
            if self.limit == 0:
                raise Interrupted
            self.limit -= 1
            yield part


@pytest.mark.parametrize("limit", [2, 5])  # inside the pre phase, inside the main phase
def test_ray_run_resumes_to_identical_statistics(problem, local_stats, ray_executor, tmp_path,
                                                 limit):
    checkpoint = tmp_path / "stats.npz"
    with pytest.raises(Interrupted):
        smooth(*problem, CONFIG, progress=False, checkpoint=checkpoint,
               executor=StopAfter(ray_executor, limit))
    partial = SmoothingStats.load(checkpoint)
    assert len(partial.done) == limit
    assert set(map(int, partial.done[:, 0])) == ({PRE} if limit < 3 else {PRE, MAIN})
    resumed = smooth(*problem, CONFIG, progress=False, checkpoint=checkpoint,
                     executor=ray_executor)
    assert_identical(resumed, local_stats)


def test_ray_tasks_must_fit_on_a_node(ray_executor):
    from graphcert.sampling.executors import RayExecutor
    with pytest.raises(ValueError, match="largest node of this cluster has 2"):
        RayExecutor(threads=3)
    assert RayExecutor().threads <= 2  # the default is capped, never an unschedulable task


def test_ray_map_keeps_order(ray_executor):
    assert list(ray_executor.map(np.square, range(7))) == [i * i for i in range(7)]
    assert list(LocalExecutor().map(np.square, range(3))) == [0, 1, 4]


def test_ray_sweep_matches_local_and_resumes(ray_executor, ogb_root, tmp_path, monkeypatch):
    from graphcert.run.pipeline import run_certification
    from graphcert.run.sweep import expand_grid, run_sweep
    monkeypatch.setenv("GRAPHCERT_DATA", str(ogb_root))  # the Ray workers have it too
    base = {"dataset": "ogbn-arxiv", "methods": ["gaussian"], "n_clusters": 2, "n_pre": 20,
            "n_samples": 100, "chunk_size": 50, "max_epochs": 100, "l2_step": 0.1}
    runs = expand_grid(base, {"sigma_max": [0.5, 1.0]})
    assert list(runs) == ["sigma_max=0.5", "sigma_max=1.0"]
    points = run_sweep(runs, tmp_path / "sweep", executor=ray_executor, log=lambda m: None)
    assert [p["run"] for p in points] == list(runs)
    assert (tmp_path / "sweep" / "sweep.csv").exists()
    assert (tmp_path / "sweep" / "pareto_l2.png").exists()
    local = run_certification(runs["sigma_max=1.0"], tmp_path / "local", progress=False,
                    log=lambda m: None)
    remote = json.loads((tmp_path / "sweep" / "sigma_max=1.0" / "results.json").read_text())
    assert remote["methods"] == json.loads(json.dumps(local["methods"]))
    stamps = [(tmp_path / "sweep" / name / "results.json").stat().st_mtime_ns for name in runs]
    again = run_sweep(runs, tmp_path / "sweep", log=lambda m: None)  # resumed: nothing reruns
    assert again == points
    assert stamps == [(tmp_path / "sweep" / n / "results.json").stat().st_mtime_ns for n in runs]


def test_two_node_cluster_by_address():
    """A cluster joined by address (a simulated two-node cluster, in a fresh process so it
    does not meet this process's Ray instance): tasks run on both nodes and the statistics
    are the local ones."""
    pytest.importorskip("ray", reason="ray is not installed (pip install 'graphcert[ray]')")
    tests = Path(__file__).resolve().parent
    result = subprocess.run([sys.executable, str(tests / "two_node_cluster.py"), str(tests)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"nodes": 2, "alive": 2, "identical": True}
