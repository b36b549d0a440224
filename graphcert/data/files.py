"""Where data files live, how they are verified, and the error every loader raises."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["DatasetError", "data_dir", "sha256sum"]

_CHECKOUT_DATA_DIR = Path(__file__).resolve().parents[2] / "datasets"


class DatasetError(ValueError):
    """A dataset could not be found, fetched, verified or parsed."""


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """Directory holding the data files: `root`, else $GRAPHCERT_DATA, else the checkout's
    datasets/ folder (an editable install), else ~/.cache/graphcert/datasets (a wheel)."""
    if root is not None:
        return Path(root)
    env = os.environ.get("GRAPHCERT_DATA")
    if env:
        return Path(env)
    if (_CHECKOUT_DATA_DIR / "README.md").is_file():
        return _CHECKOUT_DATA_DIR
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "graphcert" / "datasets"


def sha256sum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
