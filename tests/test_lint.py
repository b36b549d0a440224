"""The repository passes ruff (configured in pyproject.toml); CI runs this with the tests."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True,
                          text=True)


def test_ruff_is_configured_with_the_agreed_rules():
    config = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^\[tool\.ruff\]\nline-length = 100$", config, flags=re.M)
    select = re.search(r"^\[tool\.ruff\.lint\]\n(?:#.*\n)*select = \[(.*)\]$", config,
                       flags=re.M)
    assert select and {"E", "W", "F", "I", "B"} <= set(re.findall(r'"(\w+)"', select[1]))


def test_ruff_check_is_clean():
    result = ruff("check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_finds_a_violation(tmp_path):
    """The check above can fail: the same configuration rejects an unused import."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "bad.py").write_text("import os\n")
    result = ruff("check", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1 and "F401" in result.stdout
