"""What a run directory holds, and when its files are reused.

A certification run directory (``graphcert certify --out R``) holds:

* ``model.pt``: the trained model and the settings it was trained with; reused only for the
  same training settings (another setting is an error: use another directory);
* ``stats_<noise>[_T<temperature>].npz``: Monte Carlo statistics, one file per noise and score
  temperature, saved after every chunk; an interrupted run resumes from them;
* ``results.json``: configuration, fingerprints, clean accuracy and every method's curves;
  ``results.csv`` and ``certified_accuracy.png`` are drawn from it (``graphcert report R``).

Statistics are reused only for the same scores: each file records the fingerprint of the
model's code, attributes and weights, the score transform and the data
(`graphcert.sampling.fingerprint`) and a digest of its counts; a file of other scores, settings
or noise, an edited or an unreadable one, is set aside (``stats_x.stale-1.npz``) and resampled.
results.json records these fingerprints and that of the model file. A sweep reuses a run's
results.json only if its configuration and model file fingerprint match the directory;
``graphcert report`` refuses a results.json whose model file has since changed. Every file is
written atomically: an interrupted or failing command leaves the old files byte-identical.
``results.json.sha256`` holds the digest of the results.json graphcert wrote; ``report`` and
``sweep`` name a results.json that does not match it (edited, or not written by graphcert).
A command that writes into a run directory holds ``.graphcert.lock`` there: a second one on the
same directory stops with a message instead of overwriting the first one's files.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from graphcert.utils.io import write_json, write_text
from graphcert.utils.validation import shown

__all__ = ["LOCK_FILE", "MODEL_FILE", "RESULTS_FILE", "check_model_file", "check_path_length",
           "results_not_ours", "write_results", "file_fingerprint", "locked",
           "model_file_matches", "prepare_run_dir"]

MODEL_FILE = "model.pt"
RESULTS_FILE = "results.json"
LOCK_FILE = ".graphcert.lock"
_DIGEST_SUFFIX = ".sha256"


def prepare_run_dir(run_dir: str | os.PathLike) -> Path:
    """`run_dir` as an existing directory (created if missing), or a clear ValueError.

    Args:
        run_dir (str or os.PathLike): the directory.

    Returns:
        Path: the directory.
    """
    run_dir = Path(run_dir)
    check_path_length(run_dir, "output directory")
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"output directory {run_dir} is an existing file, expected a "
                         "directory")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create output directory {run_dir}: {error.strerror}") \
            from None
    if not os.access(run_dir, os.W_OK | os.X_OK):
        raise ValueError(f"output directory {run_dir} is not writable; give a writable --out")
    return run_dir


#: Room for the longest file name a run directory gets (a temporary file of the plot).
_ROOM = len("/.certified_accuracy.png.XXXXXXXX.part")


def check_path_length(path: Path, what: str, room: int = _ROOM) -> None:
    """ValueError naming `what` if `path` plus `room` bytes of file names, or one of its
    names, is longer than the file system allows (PATH_MAX, NAME_MAX).

    Args:
        path (Path): the path.
        what (str): how the message names it.
        room (int): bytes left for the file names below it.
    """
    anchor = next((p for p in path.absolute().parents if os.path.isdir(p)), Path("/"))
    name_max = os.pathconf(anchor, "PC_NAME_MAX")
    path_max = os.pathconf(anchor, "PC_PATH_MAX") - 1  # PATH_MAX counts the final NUL
    longest = max(path.parts, key=lambda part: len(os.fsencode(part)))
    for length, limit, kind in ((len(os.fsencode(path.absolute())) + room, path_max, "path"),
                                (len(os.fsencode(longest)), name_max, "file name")):
        if length > limit:
            raise ValueError(f"{what} {shown(str(path))} is too long: a {kind} of {length} "
                             f"bytes, the file system allows {limit}")


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[Path]:
    """Hold `run_dir`'s lock file while the block runs (re-entrant within one process); a
    second process stops with a ValueError that names the directory.

    Args:
        run_dir (Path): the run directory.

    Yields:
        Path: ``run_dir``.
    """
    lock = FileLock(run_dir / LOCK_FILE, timeout=0, is_singleton=True)
    try:
        lock.acquire()
    except Timeout:
        raise ValueError(f"another graphcert command is writing into {run_dir} (it holds "
                         f"{run_dir / LOCK_FILE}); wait for it to finish or give another "
                         "--out") from None
    try:
        yield run_dir
    finally:
        lock.release()


def file_fingerprint(path: str | os.PathLike) -> str:
    """``"sha256:<hex>"`` of a file's bytes.

    Args:
        path (str or os.PathLike): the file.

    Returns:
        str: ``"sha256:<hex>"``.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def model_file_matches(results: dict, run_dir: Path) -> bool:
    """Whether `results` were computed with the model file now in `run_dir`.

    Args:
        results (dict): the loaded results.json.
        run_dir (Path): the run directory.

    Returns:
        bool: whether the fingerprints agree.
    """
    recorded = (results.get("fingerprints") or {}).get(MODEL_FILE)
    path = run_dir / MODEL_FILE
    return recorded is not None and path.is_file() and recorded == file_fingerprint(path)


def check_model_file(results: dict, run_dir: Path) -> None:
    """ValueError if `run_dir` holds another model file than the one `results` record (a
    directory without model file, or results without fingerprint, pass).

    Args:
        results (dict): the loaded results.json.
        run_dir (Path): the run directory.
    """
    recorded = (results.get("fingerprints") or {}).get(MODEL_FILE)
    path = run_dir / MODEL_FILE
    if recorded is not None and path.is_file() and recorded != file_fingerprint(path):
        raise ValueError(f"{run_dir / 'results.json'} was computed with another {path} than "
                         f"the one there now; rerun `graphcert certify --out {run_dir}`")


def write_results(results: dict, run_dir: Path) -> Path:
    """Write ``run_dir/results.json`` and, beside it, the digest that marks it as written by
    graphcert (``results.json.sha256``); returns the results path.

    Args:
        results (dict): JSON-ready results.
        run_dir (Path): the run directory.

    Returns:
        Path: ``run_dir / "results.json"``.
    """
    path = run_dir / RESULTS_FILE
    write_json(path, results)
    write_text(_digest_path(path), file_fingerprint(path) + "\n")
    return path


def results_not_ours(path: Path) -> str | None:
    """Why the results.json at `path` was not written by graphcert as it is now (no digest
    beside it, or another one: edited or copied by hand); None if its digest matches.

    Args:
        path (Path): the results.json.

    Returns:
        str or None: the reason, or None.
    """
    digest = _digest_path(path)
    try:
        recorded = digest.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return f"{path} was not written by graphcert (no {digest.name} beside it)"
    except (OSError, UnicodeDecodeError) as error:
        return f"{path} cannot be vouched for ({digest.name} unreadable: {error})"
    if recorded != file_fingerprint(path):
        return (f"{path} was changed after graphcert wrote it (its digest differs from "
                f"{digest.name})")
    return None


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + _DIGEST_SUFFIX)
