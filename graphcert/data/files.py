"""Where data files live, how they are verified, and the error every loader raises."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["DatasetError", "data_dir", "sha256sum", "writable_data_dir"]

_CHECKOUT_DATA_DIR = Path(__file__).resolve().parents[2] / "datasets"


class DatasetError(ValueError):
    """A dataset could not be found, fetched, verified or parsed."""


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """Directory holding the data files: `root`, else $GRAPHCERT_DATA, else the checkout's
    datasets/ folder (an editable install), else ~/.cache/graphcert/datasets (a wheel).

    Args:
        root (str or os.PathLike, optional): an explicit directory.

    Returns:
        Path: the directory.
    """
    if root is not None:
        return Path(root)
    env = os.environ.get("GRAPHCERT_DATA")
    if env:
        return Path(env)
    if (_CHECKOUT_DATA_DIR / "README.md").is_file():
        return _CHECKOUT_DATA_DIR
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "graphcert" / "datasets"


def writable_data_dir(directory: Path) -> Path:
    """`directory` created if missing, or a `DatasetError` naming it (and $GRAPHCERT_DATA when
    it comes from there) if it is a file or cannot be written.

    Args:
        directory (Path): the directory.

    Returns:
        Path: ``directory``.
    """
    from_env = os.environ.get("GRAPHCERT_DATA") and Path(os.environ["GRAPHCERT_DATA"]) == directory
    where = f"GRAPHCERT_DATA={directory}" if from_env else f"data directory {directory}"
    if directory.exists() and not directory.is_dir():
        raise DatasetError(f"{where} is a regular file, expected a directory for the data files")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(f"{where} cannot be created: {error.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DatasetError(f"{where} is not writable: a missing data file cannot be stored "
                           "there; point GRAPHCERT_DATA to a writable directory")
    return directory


def sha256sum(path: Path) -> str:
    """Hex sha256 digest of the file at `path`, read in 1 MiB blocks.

    Args:
        path (Path): the file.

    Returns:
        str: 64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
