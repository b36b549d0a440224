"""A wheel built from the repository works when installed outside the checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GRAPHCERT_DATA_MIRROR",
                             ROOT.parent / "shared" / "datasets")).resolve()
# (resolved: the README exports it relative to the checkout, the test runs elsewhere)


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """The tracked files built into a wheel, installed (without dependencies: the test
    environment has them) into a folder outside the checkout; returns that folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", str(source),
                          "-w", str(tmp / "dist")], check=True)
    wheel, = (tmp / "dist").glob("graphcert-*.whl")
    subprocess.run(pip + ["install", "--no-deps", "--target", str(tmp / "site"), str(wheel)],
                   check=True)
    return tmp / "site"


def run_outside(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "GRAPHCERT_DATA": str(cwd / "data"),
           "GRAPHCERT_DATA_MIRROR": str(SHARED)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True)


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs the dataset mirror")
def test_installed_wheel_loads_cora_ml_from_any_directory(installed_wheel, tmp_path):
    result = run_outside(installed_wheel, tmp_path, "-c", (
        "import graphcert.datasets as d; from graphcert.datasets import load_graph; "
        "g = load_graph('cora_ml'); print(d.__file__); print(g.num_nodes, g.x.shape[1])"))
    assert result.returncode == 0, result.stderr
    module_file, counts = result.stdout.strip().splitlines()
    assert Path(module_file).is_relative_to(installed_wheel)
    assert counts == "2810 2879"
    assert (tmp_path / "data" / "cora_ml.npz").is_file()


def test_installed_wheel_ships_the_registry_and_the_cli(installed_wheel, tmp_path):
    assert (installed_wheel / "graphcert" / "data" / "registry.json").is_file()
    result = run_outside(installed_wheel, tmp_path, "-m", "graphcert", "--help")
    assert result.returncode == 0, result.stderr
    assert "certify" in result.stdout
