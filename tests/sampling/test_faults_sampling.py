"""Fault injection for the sampling layer: every kind of statistics file it reads (truncated,
not an archive, another format, missing or inconsistent arrays, another model, data, config,
noise or clusters) is set aside byte for byte and resampled, never merged; a process killed
with SIGKILL while sampling or while saving resumes to bit-identical statistics."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from gnn_models import ScaledLogits
from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.engine import smooth
from graphcert.sampling.fingerprint import scores_fingerprint
from graphcert.sampling.statistics import CheckpointError, SmoothingStats
from graphcert.sampling.streams import MAIN, PRE
from graphcert.utils.io import atomic_write, set_aside
from tests.sampling.fault_problem import (
    CONFIG,
    LABELS,
    LinearModel,
    assert_same,
    make_noise,
    make_x,
)

ROOT = Path(__file__).resolve().parents[2]  # tests.sampling.fault_problem imports from here


def run(model=None, checkpoint=None, config=CONFIG, noise=None, x=None, **kwargs):
    return smooth((model or LinearModel()).eval(), make_x() if x is None else x, None,
                  noise or make_noise(), config, checkpoint=checkpoint, progress=False, **kwargs)


@pytest.fixture(scope="module")
def fresh() -> SmoothingStats:
    return run()


@pytest.fixture
def partial(tmp_path) -> Path:
    """A checkpoint of the default model that holds the pre-sample and one main chunk."""
    checkpoint = tmp_path / "stats_x.npz"
    with pytest.raises(KeyboardInterrupt):
        run(checkpoint=checkpoint, executor=_StopAfter(3))
    assert len(SmoothingStats.load(checkpoint).done) == 3
    return checkpoint


class _StopAfter:
    def __init__(self, limit: int):
        from graphcert.sampling.executors import LocalExecutor
        self.inner, self.limit = LocalExecutor(), limit

    def run_chunks(self, *args, **kwargs):
        for part in self.inner.run_chunks(*args, **kwargs):
            if self.limit == 0:
                raise KeyboardInterrupt
            self.limit -= 1
            yield part


def rewrite(path: Path, meta_update: dict | None = None, drop: str | None = None,
            change: dict | None = None) -> None:
    """Rewrite a statistics archive with edited metadata or arrays."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays["meta"][0]))
    meta.update(meta_update or {})
    arrays["meta"] = np.array([json.dumps(meta)])
    arrays.update(change or {})
    arrays.pop(drop, None)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def resumes_after_setting_aside(checkpoint: Path, fresh: SmoothingStats, caplog, reason: str,
                                **kwargs) -> SmoothingStats:
    """Run on a bad checkpoint: it must be moved aside unchanged, with a warning giving
    `reason`, and the statistics must be those of a fresh run."""
    before = checkpoint.read_bytes()
    with caplog.at_level(logging.WARNING, logger="graphcert.sampling"):
        stats = run(checkpoint=checkpoint, **kwargs)
    aside = checkpoint.with_name("stats_x.stale-1.npz")
    assert aside.read_bytes() == before
    message = caplog.records[-1].getMessage()
    assert str(checkpoint) in message and "stats_x.stale-1.npz" in message
    assert "resampling" in message and reason in message, message
    assert_same(SmoothingStats.load(checkpoint), stats)
    if not kwargs:
        assert_same(stats, fresh)
    return stats


# ----------------------------------------------------------------------------- damaged files
@pytest.mark.parametrize("damage, reason", [
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "not a readable"),
    (lambda p: p.write_bytes(b""), "not a readable"),
    (lambda p: p.write_bytes(b"\x93NUMPY garbage"), "not a readable"),
    (lambda p: rewrite(p, {"format": 1}), "format 1 has no fingerprint"),
    (lambda p: rewrite(p, {"format": "3"}), "statistics format '3', expected 3"),
    (lambda p: rewrite(p, {"format": 2}), "format 2 has no digest of its counts"),
    (lambda p: rewrite(p, drop="votes"), "not a readable"),
    (lambda p: rewrite(p, drop="meta"), "not a readable"),
    (lambda p: rewrite(p, {"config": {"n_samples": 60}}), "not a readable"),
    (lambda p: rewrite(p, change={"n": np.zeros(12, np.int64)}), "n disagrees"),
    # more votes than samples (fewer is allowed: abstaining copies vote for no class)
    (lambda p: rewrite(p, change={"votes": np.full((12, 3), 10**6, np.int64)}), "votes does not"),
    (lambda p: rewrite(p, change={"done": np.array([[MAIN, 0, 7]])}), "beyond"),
    (lambda p: rewrite(p, change={"hist": np.zeros((12, 2), np.int64)}), "hist must be"),
    (lambda p: rewrite(p, change={"votes": np.zeros((12, 3))}), "int64"),
])
def test_damaged_checkpoints_are_set_aside_and_resampled(partial, fresh, caplog, damage,
                                                         reason):
    damage(partial)
    with pytest.raises(CheckpointError, match=str(partial.name)):
        SmoothingStats.load(partial)
    resumes_after_setting_aside(partial, fresh, caplog, reason)


def test_a_zip_with_a_corrupt_member_is_set_aside(partial, fresh, caplog):
    data = bytearray(partial.read_bytes())
    with zipfile.ZipFile(partial) as archive:
        info = archive.getinfo("votes.npy")
    start = info.header_offset + 30 + len(info.filename) + 200  # inside the stored array
    data[start:start + 8] = b"\xff" * 8
    partial.write_bytes(bytes(data))
    resumes_after_setting_aside(partial, fresh, caplog, "not a readable")


# ----------------------------------------------------------------------------- other runs
def test_another_model_is_never_merged(partial, caplog):
    """The stale-statistics defect: a retrained model must not reuse (or mix with) the old
    model's votes, whether the checkpoint is complete or partial."""
    retrained = run(model=LinearModel(seed=1))
    stats = resumes_after_setting_aside(partial, None, caplog, "another model or data",
                                        model=LinearModel(seed=1))
    assert_same(stats, retrained)
    # and a complete checkpoint of the retrained model is reused as it is
    assert_same(run(model=LinearModel(seed=1), checkpoint=partial), retrained)
    assert not partial.with_name("stats_x.stale-2.npz").exists()


@pytest.mark.parametrize("kwargs, reason", [
    (dict(config=replace(CONFIG, n_samples=40)), "n_samples 60 -> 40"),
    (dict(config=replace(CONFIG, seed=12)), "seed 11 -> 12"),
    (dict(noise=LocalizedNoise(LABELS, np.full((2, 2), 0.2), np.full((2, 2), 0.5))),
     "another noise distribution"),
    (dict(model=ScaledLogits(LinearModel(), 2.0)), "another model or data"),
    (dict(x=1 - make_x()), "another model or data"),
])
def test_other_settings_are_set_aside_not_an_error(partial, fresh, caplog, kwargs, reason):
    stats = resumes_after_setting_aside(partial, fresh, caplog, reason, **kwargs)
    assert_same(stats, run(**kwargs))


def test_other_clusters_are_set_aside(partial, fresh, caplog):
    # same describe() would need the same labels; compare through mismatch directly too
    stats = SmoothingStats.load(partial)
    assert "other clusters" in stats.mismatch(CONFIG, stats.noise, 1 - LABELS,
                                              stats.fingerprint)
    moved = LocalizedNoise(1 - LABELS, np.array([[0.3, 0.1], [0.05, 0.6]]),
                           np.full((2, 2), 0.5))
    resumes_after_setting_aside(partial, fresh, caplog, "another noise", noise=moved)


def test_set_aside_never_overwrites(partial, fresh):
    for i in (1, 2):
        partial.with_name(f"stats_x.stale-{i}.npz").write_text(f"older {i}")
    run(model=LinearModel(seed=2), checkpoint=partial)
    assert partial.with_name("stats_x.stale-1.npz").read_text() == "older 1"
    assert partial.with_name("stats_x.stale-2.npz").read_text() == "older 2"
    assert len(SmoothingStats.load(partial.with_name("stats_x.stale-3.npz")).done) == 3


def test_unfingerprintable_model_needs_an_explicit_fingerprint(tmp_path, fresh):
    checkpoint = tmp_path / "stats_x.npz"
    model = LinearModel().eval()
    scores = lambda z, edge_index: model(z, edge_index)  # noqa: E731
    scores.training = False
    with pytest.raises(ValueError, match="pass fingerprint= explicitly"):
        smooth(scores, make_x(), None, make_noise(), CONFIG, checkpoint=checkpoint,
               progress=False)
    assert not checkpoint.exists()  # rejected before any work
    stats = smooth(scores, make_x(), None, make_noise(), CONFIG, checkpoint=checkpoint,
                   progress=False, fingerprint="my-model-v1")
    assert stats.fingerprint == "my-model-v1"
    assert smooth(scores, make_x(), None, make_noise(), CONFIG, progress=False).fingerprint \
        is None  # no checkpoint: nothing to match
    with pytest.raises(ValueError, match="not a file"):
        run(checkpoint=tmp_path)


# ----------------------------------------------------------------------------- fingerprints
def test_fingerprint_covers_weights_settings_and_data():
    x, edges = make_x(), torch.tensor([[0, 1], [1, 0]])
    base = scores_fingerprint(LinearModel(), x, edges)
    assert base.startswith("sha256:") and len(base) == 7 + 64
    assert scores_fingerprint(LinearModel(), x.clone(), edges.clone()) == base  # same values
    nudged = LinearModel()
    with torch.no_grad():
        nudged.lin.weight[0, 0] += 1e-6
    flipped = x.clone()
    flipped[0, 0] = 1 - flipped[0, 0]
    others = [scores_fingerprint(nudged, x, edges),
              scores_fingerprint(LinearModel(seed=1), x, edges),
              scores_fingerprint(ScaledLogits(LinearModel(), 0.5), x, edges),
              scores_fingerprint(ScaledLogits(LinearModel(), 2.0), x, edges),
              scores_fingerprint(LinearModel(), flipped, edges),
              scores_fingerprint(LinearModel(), x.to_sparse_csr(), edges),
              scores_fingerprint(LinearModel(), x, edges.flip(0)),
              scores_fingerprint(LinearModel(), x, None),
              scores_fingerprint(LinearModel(), x, edges, {"temperature": 2.0})]
    assert len(set(others + [base])) == len(others) + 1
    # the mode (train / eval) is not a setting of the scores (they are sampled in eval
    # mode); a private attribute may be (tests/sampling/test_faults_fingerprint.py)
    assert scores_fingerprint(LinearModel().train(), x, edges) == base
    model = LinearModel()
    model._calls = 5
    assert scores_fingerprint(model, x, edges) != base
    assert scores_fingerprint(LinearModel(seed=1), x, edges) != base
    with pytest.raises(ValueError, match="cannot fingerprint"):
        scores_fingerprint(LinearModel(), object(), None)


def test_fingerprint_is_stable_across_processes():
    code = ("import sys, torch; sys.path.insert(0, sys.argv[1])\n"
            "from tests.sampling.fault_problem import LinearModel, make_x\n"
            "from graphcert.sampling.fingerprint import scores_fingerprint\n"
            "print(scores_fingerprint(LinearModel(), make_x(), None))\n")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == scores_fingerprint(LinearModel(), make_x(), None)


# ----------------------------------------------------------------------------- kill -9
def killed_run(checkpoint: Path, mode: str, limit: int) -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "from tests.sampling import fault_problem\n"
            "fault_problem.main(sys.argv[2], sys.argv[3], int(sys.argv[4]))\n")
    result = subprocess.run([sys.executable, "-c", code, str(ROOT), str(checkpoint), mode,
                             str(limit)], capture_output=True, text=True, timeout=300)
    assert result.returncode == -9, result.stderr[-2000:]


def test_kill_9_inside_a_chunk_resumes_bit_identically(tmp_path, fresh, caplog):
    checkpoint = tmp_path / "stats_x.npz"
    # 3 batches per chunk: pre (0, 0), pre (1, 0), main (0, 0), then 2 batches of main (0, 1)
    killed_run(checkpoint, "batch", 3 + 3 + 3 + 2)
    saved = SmoothingStats.load(checkpoint)
    assert saved.samples_done(PRE).tolist() == [20, 20]
    assert saved.samples_done(MAIN).tolist() == [20, 0]
    with caplog.at_level(logging.WARNING, logger="graphcert.sampling"):
        resumed = run(checkpoint=checkpoint)
    assert not caplog.records  # the checkpoint was continued, not set aside
    assert_same(resumed, fresh)
    assert_same(SmoothingStats.load(checkpoint), fresh)


def test_kill_9_while_saving_keeps_the_last_checkpoint(tmp_path, fresh):
    checkpoint = tmp_path / "stats_x.npz"
    # writes: pre (0, 0), pre (1, 0), candidates fixed, main (0, 0) <- killed in this one
    killed_run(checkpoint, "save", 4)
    leftovers = list(tmp_path.glob(".stats_x.npz.*.part"))
    assert len(leftovers) == 1  # the temporary file of the interrupted write
    saved = SmoothingStats.load(checkpoint)
    assert saved.samples_done(MAIN).tolist() == [0, 0] and np.all(saved.candidate_score >= 0)
    assert_same(run(checkpoint=checkpoint), fresh)
    assert not list(tmp_path.glob("*.part"))  # cleaned up on resume
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats_x.npz"]


# ----------------------------------------------------------------------------- file helpers
def test_atomic_write_leaves_the_old_file_on_error(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as out:
            out.write(b"new, half")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [path]
    with atomic_write(path) as out:
        out.write(b"new")
    assert path.read_bytes() == b"new" and sorted(tmp_path.iterdir()) == [path]


def test_set_aside_names(tmp_path):
    path = tmp_path / "stats_localized_T0.5.npz"
    path.write_text("a")
    assert set_aside(path).name == "stats_localized_T0.5.stale-1.npz"
    path.write_text("b")
    assert set_aside(path, "corrupt").name == "stats_localized_T0.5.corrupt-1.npz"
    path.write_text("c")
    assert set_aside(path).name == "stats_localized_T0.5.stale-2.npz"
    assert not path.exists()
