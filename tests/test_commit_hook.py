"""The commit-msg hook of .githooks refuses subjects longer than 72 characters."""
import subprocess
from pathlib import Path

import pytest

HOOK = Path(__file__).resolve().parents[1] / ".githooks" / "commit-msg"


@pytest.mark.parametrize("message, accepted", [
    ("Short subject\n\nA body line that is much longer than seventy-two characters is fine "
     "here.\n", True),
    ("x" * 72 + "\n", True),
    ("x" * 73 + "\n", False),
    ("# a comment line of git's template, longer than seventy-two characters, is not it\n"
     "Subject\n", True),
])
def test_commit_subjects_of_at_most_72_characters(tmp_path, message, accepted):
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(message)
    result = subprocess.run(["sh", str(HOOK), str(path)], capture_output=True, text=True)
    assert (result.returncode == 0) == accepted, result.stderr
    if not accepted:
        assert "at most 72" in result.stderr
