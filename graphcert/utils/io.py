"""Files that are never left half-written or silently overwritten.

* `atomic_write`: a temporary file next to the target, flushed to disk, then renamed over it;
  if anything fails (or the process is killed) the target keeps its old bytes. The new file
  gets the mode of the file it replaces, or that of a new file under the process's umask.
* `write_bytes`, `write_text`, `write_json`, `write_figure`: content built in memory first,
  then written with `atomic_write`, so a failing command leaves existing files byte-identical.
* `set_aside`: a file that must not be reused (stale, unreadable) is renamed, never deleted,
  and never over an older set-aside file.
"""
from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

__all__ = ["atomic_write", "file_mode", "partial_writes", "set_aside", "write_bytes",
           "write_figure", "write_json", "write_text"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Write `path` atomically: yields a temporary file in the same folder, which replaces
    `path` (fsync, then `os.replace`) when the block ends without an error. An `OSError`
    without file name (a full disk) is raised again naming `path`.

    Args:
        path (str or os.PathLike): the file to write.
        mode (str): the mode of the temporary file.

    Yields:
        IO: the open temporary file.
    """
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(handle, file_mode(path))
        with os.fdopen(handle, mode) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as error:  # disk full, file too large: name the file being written
        Path(tmp).unlink(missing_ok=True)
        if error.filename is not None:
            raise
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_mode(path: str | os.PathLike) -> int:
    """Permission bits for a new version of `path`: those of the existing file, else
    0o666 without the process's umask (what ``open(path, "w")`` would give).

    Args:
        path (str or os.PathLike): the file.

    Returns:
        int: permission bits.
    """
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask (read without changing it where /proc tells it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace `path` by `data` atomically.

    Args:
        path (str or os.PathLike): the file.
        data (bytes): its new content.
    """
    with atomic_write(path) as out:
        out.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """`write_bytes` of UTF-8 text.

    Args:
        path (str or os.PathLike): the file.
        text (str): its new content.
    """
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, payload: Any, **dumps) -> None:
    """`write_text` of ``json.dumps(payload, indent=1, **dumps)``: nothing is written if the
    payload does not serialize.

    Args:
        path (str or os.PathLike): the file.
        payload (Any): JSON-serializable content.
        **dumps: passed to ``json.dumps``.
    """
    write_text(path, json.dumps(payload, indent=1, **dumps))


def write_figure(path: str | os.PathLike, figure, **savefig) -> None:
    """Render a matplotlib `figure` in memory (format from the file suffix), then
    `write_bytes` it.

    Args:
        path (str or os.PathLike): the file; its suffix picks the format (png by default).
        figure (matplotlib.figure.Figure): the figure.
        **savefig: passed to ``figure.savefig``.
    """
    path = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lstrip(".") or "png", **savefig)
    write_bytes(path, buffer.getvalue())


def partial_writes(path: str | os.PathLike) -> list[Path]:
    """Temporary files an `atomic_write` of `path` left behind when its process was killed.

    Args:
        path (str or os.PathLike): the file.

    Returns:
        list[Path]: the temporary files, sorted.
    """
    path = Path(path)
    return sorted(p for p in path.parent.glob(f".{glob.escape(path.name)}.*.part")
                  if p.is_file())


def set_aside(path: str | os.PathLike, tag: str = "stale") -> Path:
    """Rename `path` to ``<stem>.<tag>-<i><suffix>`` with the smallest free i >= 1 (e.g.
    ``stats_localized.npz`` -> ``stats_localized.stale-1.npz``); returns the new path.

    Args:
        path (str or os.PathLike): the file.
        tag (str): the tag in the new name.

    Returns:
        Path: the new path.
    """
    path = Path(path)
    i = 1
    while os.path.lexists(target := path.with_name(f"{path.stem}.{tag}-{i}{path.suffix}")):
        i += 1
    os.rename(path, target)
    return target
