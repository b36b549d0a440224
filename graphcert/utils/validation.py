"""Input validation shared by every layer, in the style of scikit-learn's `utils.validation`.

Each check returns the validated value (as a numpy array or Python scalar) and raises
`ValueError` with a message that names the parameter, what was expected and what arrived.
"""
from __future__ import annotations

import numpy as np

__all__ = ["check_cluster_labels", "check_integers_at_least", "check_nonnegative_integers",
           "check_probabilities"]


def _shown(a: np.ndarray) -> str:
    """A short rendering of an offending value for error messages."""
    return repr(a.item()) if a.ndim == 0 else f"array of shape {a.shape}"


def check_probabilities(x, name: str) -> np.ndarray:
    """`x` as float64 with every entry in [0, 1] (NaN rejected)."""
    a = np.asarray(x, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN, expected probabilities in [0, 1]")
    if np.any((a < 0.0) | (a > 1.0)):
        bad = a[(a < 0.0) | (a > 1.0)].ravel()[0].item()
        raise ValueError(f"{name} must lie in [0, 1], got {bad!r}"
                         + ("" if a.ndim == 0 else f" in {_shown(a)}"))
    return a


def check_nonnegative_integers(x, name: str) -> np.ndarray:
    """`x` as int64 whole numbers >= 0 (floats must have no fractional part)."""
    return check_integers_at_least(x, name, 0)


def check_integers_at_least(x, name: str, minimum: int) -> np.ndarray:
    """`x` as int64 whole numbers >= `minimum` (floats must have no fractional part)."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    if a.dtype.kind == "f" and (not np.isfinite(a).all() or np.any(a != np.round(a))):
        raise ValueError(f"{name} must be whole numbers, got NaN, inf or fractions in {_shown(a)}")
    if np.any(a < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got {a[a < minimum].ravel()[0].item()!r}")
    return a.astype(np.int64)


def check_cluster_labels(labels, n_clusters: int, n_nodes: int | None = None,
                         name: str = "labels") -> np.ndarray:
    """`labels` as an int64 vector (of shape (n_nodes,) if given) with entries in
    [0, n_clusters); CPU torch tensors are accepted."""
    a = np.asarray(labels)
    if a.ndim != 1 or (n_nodes is not None and a.shape != (n_nodes,)):
        expected = "(n_nodes,)" if n_nodes is None else f"({n_nodes},)"
        raise ValueError(f"{name} must have shape {expected}, got {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n_clusters):
        bad = a[(a < 0) | (a >= n_clusters)][0].item()
        raise ValueError(f"{name} must lie in [0, {n_clusters}), got {bad!r}")
    return a.astype(np.int64)
