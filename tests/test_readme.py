"""The README opens with exactly two set-up commands, and CI runs the second verbatim."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    head = (ROOT / "README.md").read_text().split("\n---\n")[0]
    return re.findall(r"```bash\n(.*?)\n```", head, flags=re.S)


def test_two_setup_commands_pin_torch_and_ci_runs_the_test_one():
    install_and_run, install_and_test = readme_commands()
    for command in (install_and_run, install_and_test):
        assert "\n" not in command
        assert command.index("pip install torch==2.13.0") < command.index("pip install -e")
        assert "GRAPHCERT_DATA_MIRROR=../shared/datasets" in command
    assert "graphcert certify" in install_and_run
    assert "pytest" in install_and_test
    assert install_and_test in (ROOT / ".ci" / "run").read_text()
