"""What a run directory holds, and when its files are reused.

A certification run directory (``graphcert certify --out R``) holds:

* ``model.pt``: the trained model and the settings it was trained with; reused only for the
  same training settings (another setting is an error: use another directory);
* ``stats_<noise>[_T<temperature>].npz``: Monte Carlo statistics, one file per noise and score
  temperature, saved after every chunk; an interrupted run resumes from them;
* ``results.json``: configuration, fingerprints, clean accuracy and every method's curves;
  ``results.csv`` and ``certified_accuracy.png`` are drawn from it (``graphcert report R``).

Statistics are reused only for the same scores: each file records the fingerprint of the model
weights, score transform and data (`graphcert.sampling.fingerprint`); a file of other scores,
settings or noise, or an unreadable one, is set aside (``stats_x.stale-1.npz``) and resampled.
results.json records these fingerprints and that of the model file. A sweep reuses a run's
results.json only if its configuration and model file fingerprint match the directory;
``graphcert report`` refuses a results.json whose model file has since changed. Every file is
written atomically: an interrupted or failing command leaves the old files byte-identical.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["MODEL_FILE", "check_model_file", "file_fingerprint", "model_file_matches",
           "prepare_run_dir"]

MODEL_FILE = "model.pt"


def prepare_run_dir(run_dir: str | os.PathLike) -> Path:
    """`run_dir` as an existing directory (created if missing), or a clear ValueError."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"output directory {run_dir} is an existing file, expected a "
                         "directory")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create output directory {run_dir}: {error.strerror}") \
            from None
    return run_dir


def file_fingerprint(path: str | os.PathLike) -> str:
    """``"sha256:<hex>"`` of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def model_file_matches(results: dict, run_dir: Path) -> bool:
    """Whether `results` were computed with the model file now in `run_dir`."""
    recorded = (results.get("fingerprints") or {}).get(MODEL_FILE)
    path = run_dir / MODEL_FILE
    return recorded is not None and path.is_file() and recorded == file_fingerprint(path)


def check_model_file(results: dict, run_dir: Path) -> None:
    """ValueError if `run_dir` holds another model file than the one `results` record (a
    directory without model file, or results without fingerprint, pass)."""
    recorded = (results.get("fingerprints") or {}).get(MODEL_FILE)
    path = run_dir / MODEL_FILE
    if recorded is not None and path.is_file() and recorded != file_fingerprint(path):
        raise ValueError(f"{run_dir / 'results.json'} was computed with another {path} than "
                         f"the one there now; rerun `graphcert certify --out {run_dir}`")
