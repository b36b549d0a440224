"""`kill -9` during training leaves nothing half-written, and the rerun trains the same model."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ["-m", "graphcert", "train", "--dataset", "planted_categorical", "--threads", "1"]


def graphcert(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, *TRAIN, *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)


def test_kill_9_during_training_then_the_rerun_trains_the_same_model(tmp_path):
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    endless = graphcert("--out", str(killed_dir), "--max-epochs", "1000000",
                        "--patience", "1000000", cwd=tmp_path)
    seen = ""
    deadline = time.monotonic() + 120
    while "epoch" not in seen and time.monotonic() < deadline:  # the epoch bar has started
        seen += endless.stdout.read(1)
    time.sleep(0.5)
    os.kill(endless.pid, signal.SIGKILL)
    endless.wait()
    endless.stdout.close()
    assert "epoch" in seen, seen
    assert not (killed_dir / "model.pt").exists()

    for run_dir in (killed_dir, clean_dir):
        rerun = graphcert("--out", str(run_dir), "--max-epochs", "20", "--quiet", cwd=tmp_path)
        output, _ = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, output
    killed = torch.load(killed_dir / "model.pt", weights_only=True)["state_dict"]
    clean = torch.load(clean_dir / "model.pt", weights_only=True)["state_dict"]
    assert killed.keys() == clean.keys()
    assert all(torch.equal(killed[k], clean[k]) for k in clean)
