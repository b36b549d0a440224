"""Atomic writers (`graphcert.utils.io`): content is built before the target is touched, and
a failure leaves the old file byte-identical with no temporary file behind."""
from __future__ import annotations

import json

import pytest

from graphcert.utils.io import (
    atomic_write,
    write_bytes,
    write_figure,
    write_json,
    write_text,
)


def test_writers_replace_the_content(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"a": [1, 2]})
    assert json.loads(path.read_text()) == {"a": [1, 2]}
    write_text(path, "text")
    assert path.read_text() == "text"
    write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_failing_write_leaves_the_file_byte_identical(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(b'{"old": 1}')
    with pytest.raises(TypeError):
        write_json(path, {"bad": object()})  # does not serialize
    with pytest.raises(RuntimeError):
        with atomic_write(path) as out:
            out.write(b"half")
            raise RuntimeError("killed mid-write")

    class Broken:
        def savefig(self, buffer, **kwargs):
            buffer.write(b"\x89PNG partial")
            raise ValueError("cannot render")

    with pytest.raises(ValueError):
        write_figure(tmp_path / "results.json", Broken())
    assert path.read_bytes() == b'{"old": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_figures_are_rendered_in_the_suffix_format(tmp_path):
    from matplotlib.figure import Figure
    figure = Figure(figsize=(2, 2))
    figure.subplots().plot([0, 1], [1, 0])
    write_figure(tmp_path / "plot.png", figure, dpi=50)
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
