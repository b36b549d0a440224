"""Input validation shared by every layer, in the style of scikit-learn's `utils.validation`.

Each check returns the validated value (as a numpy array or Python scalar) and raises
`ValueError` with a message that names the parameter, what was expected and what arrived.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_choice", "check_nonnegative_integers", "check_probabilities", "check_scalar"]

_INTERVALS = {"both": "[]", "neither": "()", "left": "[)", "right": "(]"}


def _shown(a: np.ndarray) -> str:
    """A short rendering of an offending value for error messages."""
    return repr(a.item()) if a.ndim == 0 else f"array of shape {a.shape}"


def check_probabilities(x, name: str) -> np.ndarray:
    """`x` as float64 with every entry in [0, 1] (NaN rejected)."""
    a = np.asarray(x, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN, expected probabilities in [0, 1]")
    if np.any((a < 0.0) | (a > 1.0)):
        bad = a[(a < 0.0) | (a > 1.0)].ravel()[0]
        raise ValueError(f"{name} must lie in [0, 1], got {bad!r}"
                         + ("" if a.ndim == 0 else f" in {_shown(a)}"))
    return a


def check_nonnegative_integers(x, name: str) -> np.ndarray:
    """`x` as int64 whole numbers >= 0 (floats must have no fractional part)."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    if a.dtype.kind == "f" and (np.isnan(a).any() or np.any(a != np.round(a))):
        raise ValueError(f"{name} must be whole numbers, got NaN or fractions in {_shown(a)}")
    if np.any(a < 0):
        raise ValueError(f"{name} must be >= 0, got {a[a < 0].ravel()[0]!r}")
    return a.astype(np.int64)


def check_scalar(x, name: str, target_type: type, *, min_val=None, max_val=None,
                 include_boundaries: str = "both"):
    """`x` as a Python `target_type` (bool, int, float or str) within [min_val, max_val].

    Like scikit-learn's `check_scalar`, with exact types: a bool is never a number and
    numbers are never booleans; an int accepts whole floats (``1e5``); a float accepts ints
    and rejects NaN. ``include_boundaries`` is "both", "neither", "left" or "right"; messages
    read ``alpha == 0, must be in (0, 1)``.
    """
    if include_boundaries not in _INTERVALS:
        raise ValueError(f"include_boundaries == {include_boundaries!r}, must be one of "
                         f"{sorted(_INTERVALS)}")
    value = _as_type(x, name, target_type)
    if min_val is None and max_val is None:
        return value
    left, right = _INTERVALS[include_boundaries]
    too_low = min_val is not None and (value < min_val if left == "[" else value <= min_val)
    too_high = max_val is not None and (value > max_val if right == "]" else value >= max_val)
    if too_low or too_high:
        if max_val is None:
            expected = f"{'>=' if left == '[' else '>'} {min_val}"
        elif min_val is None:
            expected = f"{'<=' if right == ']' else '<'} {max_val}"
        else:
            expected = f"in {left}{min_val}, {max_val}{right}"
        raise ValueError(f"{name} == {value!r}, must be {expected}")
    return value


def check_choice(x, name: str, choices) -> str:
    """`x` if it is one of `choices` (strings), else a ValueError listing them."""
    if not isinstance(x, str) or x not in choices:
        raise ValueError(f"{name} == {x!r}, must be one of {', '.join(map(str, choices))}")
    return x


def _as_type(x, name: str, target_type: type):
    """`x` converted to `target_type` without losing information, or a ValueError."""
    shown = f"{name} == {x!r} ({type(x).__name__})"
    if target_type is bool:
        if isinstance(x, (bool, np.bool_)):
            return bool(x)
        raise ValueError(f"{shown}, expected a boolean (true or false)")
    if target_type is str:
        if isinstance(x, str):
            return x
        raise ValueError(f"{shown}, expected a string")
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise ValueError(f"{shown}, expected {'an integer' if target_type is int else 'a number'}")
    if target_type is int:
        if isinstance(x, numbers.Integral):
            return int(x)
        if math.isfinite(x) and float(x).is_integer():
            return int(x)
        raise ValueError(f"{shown}, expected an integer")
    if target_type is float:
        if math.isnan(x):
            raise ValueError(f"{shown}, expected a number, not NaN")
        return float(x)
    raise TypeError(f"check_scalar supports bool, int, float and str, not {target_type}")
