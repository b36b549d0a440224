"""The repository stands alone: its files cite docs/theory.md, never a specification outside it."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a specification or the numbered paper files next to the repository (the patterns are split:
# this file is scanned too)
OUTSIDE = re.compile("|".join([r"\bSP" + r"EC\b", "shared/" + "papers", r"\bpaper" + r" 0\d\d\b"]))
CITATION = re.compile(r"docs/theory\.md §(\d+)")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [ROOT / name for name in names
            if name.endswith((".py", ".md", ".cfg", ".toml", ".txt")) or name == ".ci/run"]


def test_no_file_cites_a_specification_outside_the_repository():
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in tracked_text_files() if path.exists()
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if OUTSIDE.search(line)]
    assert found == [], f"citations of a specification outside the repository: {found}"


def test_citations_name_sections_of_the_theory():
    sections = {int(n) for path in tracked_text_files() if path.exists()
                for n in CITATION.findall(path.read_text())}
    assert sections and sections <= set(range(1, 16)), sorted(sections)


def test_the_checks_can_fail():
    assert OUTSIDE.search("see " + "SP" + "EC §3")
    assert OUTSIDE.search("../shared/" + "SP" + "EC.md")
    assert OUTSIDE.search("(paper " + "002)")
    assert not OUTSIDE.search("docs/theory.md §3, a SPECTRAL method")
