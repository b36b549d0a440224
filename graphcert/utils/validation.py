"""Input validation shared by every layer, in the style of scikit-learn's `utils.validation`.

Each check returns the validated value (a Python scalar for scalar checks, a numpy array for
array checks) and raises `ValueError` with a message that names the parameter, the bound and
what arrived, e.g. ``alpha == 0.0, must be in (0, 1)``. Intervals are written as in
mathematics: ``"(0, 1)"``, ``"[0, 1]"``, ``"[1, inf)"``.

Index arrays (cluster labels, edge ids) must have an integer dtype: a float id is an error,
never truncated.
"""
from __future__ import annotations

import math
import numbers
import re
from typing import Any, Sequence

import numpy as np

__all__ = ["check_bool", "check_bool_array", "check_budget", "check_capacities",
           "check_choice", "check_finite", "check_float_vector", "check_index_array",
           "check_index_vector", "check_int", "check_integers", "check_local_budgets",
           "check_node_labels",
           "check_nonnegative_integers", "check_positive_int", "check_probabilities",
           "check_probability", "check_real", "check_str", "check_target_mask",
           "check_weight_matrix", "describe_interval", "shown"]

#: Longest rendering of a value in an error message (longer ones are cut, with their length).
SHOWN_CHARS = 200

_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])\s*$")


def shown(value: Any) -> str:
    """``repr(value)`` for error messages, cut to `SHOWN_CHARS` characters.

    Args:
        value (Any): the value.

    Returns:
        str: its repr, cut.
    """
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


def _bounds(interval: str) -> tuple[float, float, bool, bool]:
    """(low, high, low included, high included) of an interval such as ``"(0, 1]"``."""
    match = _INTERVAL.match(interval)
    if match is None:
        raise ValueError(f"interval {interval!r} is not of the form '(a, b]'")
    left, low, high, right = match.groups()
    return float(low), float(high), left == "[", right == "]"


def _outside(a: np.ndarray, interval: str) -> np.ndarray:
    """Mask of the entries of float array `a` outside `interval` (NaN counts as outside)."""
    low, high, closed_low, closed_high = _bounds(interval)
    inside = (a >= low if closed_low else a > low) & (a <= high if closed_high else a < high)
    return ~inside


def _requirement(interval: str) -> str:
    """``"in (0, 1)"``, ``">= 1"`` or ``"> 0 (positive)"`` for an interval unbounded above."""
    low, high, closed_low, closed_high = _bounds(interval)
    if low == 0 and math.isinf(high):
        return ">= 0 (non-negative)" if closed_low else "> 0 (positive)"
    if math.isinf(high) and not math.isinf(low):
        return f"{'>=' if closed_low else '>'} {_number(low)}"
    if math.isinf(low) and not math.isinf(high):
        return f"{'<=' if closed_high else '<'} {_number(high)}"
    return f"in {interval.strip()}"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _shown(a: np.ndarray) -> str:
    """A short rendering of an offending array for error messages."""
    return repr(a.item()) if a.ndim == 0 else f"array of shape {a.shape}"


def _numeric(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "iuf" or a.dtype == bool:
        raise ValueError(f"{name} must be numeric, got {_type_of(x, a)}")
    return a


def _type_of(x: Any, a: np.ndarray) -> str:
    return f"{type(x).__name__} {shown(x)}" if a.ndim == 0 else f"dtype {a.dtype}"


def check_real(x, name: str, interval: str = "[-inf, inf]"):
    """`x` as a float (scalar input) or float64 array, every entry in `interval`.

    NaN is rejected whatever the interval; ``"(-inf, inf)"`` also rejects infinities.

    Args:
        x (array_like): the value.
        name (str): how the message names it.
        interval (str): e.g. ``"(0, 1]"``.

    Returns:
        float or np.ndarray: a float for a scalar, else float64 of ``x``'s shape.
    """
    a = _numeric(x, name).astype(np.float64)
    bad = _outside(a, interval)
    if bad.any():
        first = float(a[bad].ravel()[0])  # a Python float: repr 0.0, not np.float64(0.0)
        if a.ndim == 0:
            raise ValueError(f"{name} == {first!r}, must be {_requirement(interval)}")
        raise ValueError(f"{name} must lie {_requirement(interval)}, got {first!r} in "
                         f"{_shown(a)}")
    return float(a) if a.ndim == 0 else a


def check_probability(x, name: str) -> float:
    """A scalar probability in [0, 1].

    Args:
        x (Any): the value.
        name (str): how the message names it.

    Returns:
        float: ``x``.
    """
    if np.ndim(x) != 0:
        raise ValueError(f"{name} must be a probability (a scalar in [0, 1]), got an array "
                         f"of shape {np.shape(x)}")
    value = float(_numeric(x, name))
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} == {value!r}, must be a probability in [0, 1]")
    return value


def check_probabilities(x, name: str) -> np.ndarray:
    """`x` as a float64 array with every entry in [0, 1] (NaN rejected).

    Args:
        x (array_like): the value.
        name (str): how the message names it.

    Returns:
        np.ndarray: float64 of ``x``'s shape.
    """
    a = _numeric(x, name).astype(np.float64)
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN, expected probabilities in [0, 1]")
    return np.asarray(check_real(a, name, "[0, 1]"))


def check_int(x, name: str, interval: str = "[-inf, inf]") -> int:
    """A whole number (an int, or a float without fraction) in `interval`, as int.

    Args:
        x (Any): the value.
        name (str): how the message names it.
        interval (str): e.g. ``"[0, inf)"``.

    Returns:
        int: ``x``.
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a whole number, got {type(x).__name__} {shown(x)}")
    if not math.isfinite(x) or x != int(x):
        raise ValueError(f"{name} == {shown(x)}, must be a whole number")
    if _outside(np.float64(x), interval):
        raise ValueError(f"{name} == {int(x)}, must be {_requirement(interval)}")
    return int(x)


def check_positive_int(x, name: str) -> int:
    """A whole number >= 1, as int.

    Args:
        x (Any): the value.
        name (str): how the message names it.

    Returns:
        int: ``x``.
    """
    return check_int(x, name, "[1, inf)")


def check_nonnegative_integers(x, name: str) -> np.ndarray:
    """`x` as int64 whole numbers >= 0 (floats must have no fractional part).

    Args:
        x (array_like): the value.
        name (str): how the message names it.

    Returns:
        np.ndarray: int64 of ``x``'s shape.
    """
    return check_integers(x, name, "[0, inf)")


def check_integers(x, name: str, interval: str = "[-inf, inf]") -> np.ndarray:
    """`x` as an int64 array of whole numbers in `interval` (floats must have no fraction).

    Args:
        x (array_like): the value.
        name (str): how the message names it.
        interval (str): e.g. ``"[0, inf)"``.

    Returns:
        np.ndarray: int64 of ``x``'s shape.
    """
    a = _numeric(x, name)
    if a.dtype.kind == "f" and (not np.all(np.isfinite(a)) or np.any(a != np.round(a))):
        raise ValueError(f"{name} must be whole numbers, got NaN, inf or fractions in "
                         f"{_shown(a)}")
    bad = _outside(a.astype(np.float64), interval)
    if bad.any():
        raise ValueError(f"{name} must be {_requirement(interval)}, got "
                         f"{a[bad].ravel()[0].item()!r}")
    return a.astype(np.int64)


def check_node_labels(y, n_nodes: int) -> np.ndarray:
    """The integer labels of all `n_nodes` nodes, shape (n_nodes,), from numpy or torch.

    Args:
        y (array_like or Tensor): the labels.
        n_nodes (int): number of nodes N.

    Returns:
        np.ndarray: integer (N,).
    """
    if hasattr(y, "detach"):  # a torch tensor, on any device
        y = y.detach().cpu().numpy()
    labels = np.asarray(y)
    if labels.shape != (n_nodes,) or labels.dtype.kind not in "iu":
        raise ValueError(f"y must hold the integer labels of all {n_nodes} nodes, shape "
                         f"({n_nodes},), got {labels.dtype} of shape {labels.shape}")
    return labels


def check_index_array(x, name: str, upper: int, *, ndim: int | None = None,
                      shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Integer ids in [0, upper) (cluster labels, node ids) as int64; numpy arrays, lists
    and torch tensors. A float array is rejected, never truncated.

    Args:
        x (array_like or Tensor): the value.
        name (str): how the message names it.
        upper (int): ids must be < upper.
        ndim (int, optional): the required number of dimensions.
        shape (tuple[int, ...], optional): the required shape.

    Returns:
        np.ndarray: int64 of ``x``'s shape.
    """
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype.kind not in "iu" and not (a.size == 0 and a.dtype.kind == "f"):
        raise ValueError(f"{name} must hold integer ids, got dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    if a.size and (a.min() < 0 or a.max() >= upper):
        bad = a[(a < 0) | (a >= upper)].ravel()[0].item()
        raise ValueError(f"{name} must lie in [0, {upper}), got {bad!r}")
    return a.astype(np.int64)


def check_bool_array(x, name: str) -> np.ndarray:
    """A boolean array with at least one entry along axis 0 (one per evaluated output).

    Args:
        x (array_like): the value.
        name (str): how the message names it.

    Returns:
        np.ndarray: bool, shape (n, ...), n >= 1.
    """
    a = np.asarray(x)
    if a.dtype != bool:
        raise ValueError(f"{name} must be boolean, got dtype {a.dtype}")
    if a.ndim == 0 or a.shape[0] == 0:
        raise ValueError(f"{name} needs at least one evaluated output, got shape {a.shape}")
    return a


def check_finite(x, name: str) -> np.ndarray:
    """`x` as a float64 array without NaN or infinities.

    Args:
        x (array_like): the value.
        name (str): how the message names it.

    Returns:
        np.ndarray: float64 of ``x``'s shape.
    """
    a = _numeric(x, name).astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got "
                         f"{a[~np.isfinite(a)].ravel()[0].item()!r} in {_shown(a)}")
    return a


def check_choice(x, name: str, choices: Sequence):
    """`x` if it is one of `choices`.

    Args:
        x (Any): the value.
        name (str): how the message names it.
        choices (Sequence): the allowed values.

    Returns:
        Any: ``x``.
    """
    if x not in tuple(choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {shown(x)}")
    return x


def check_bool(x, name: str) -> bool:
    """A boolean (Python or numpy): never a number or a string such as "no".

    Args:
        x (Any): the value.
        name (str): how the message names it.

    Returns:
        bool: ``x``.
    """
    if not isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be a boolean (true or false), got "
                         f"{type(x).__name__} {shown(x)}")
    return bool(x)


def check_str(x, name: str) -> str:
    """A string.

    Args:
        x (Any): the value.
        name (str): how the message names it.

    Returns:
        str: ``x``.
    """
    if not isinstance(x, str):
        raise ValueError(f"{name} must be a string, got {type(x).__name__} {shown(x)}")
    return x


def describe_interval(interval: str) -> str:
    """How the checks state `interval` in messages: ``"in (0, 1)"``, or ``">= 1"``.

    Args:
        interval (str): e.g. ``"[1, inf)"``.

    Returns:
        str: the requirement in words.
    """
    return _requirement(interval)


# ----------------------------------------------------------- arrays of the collective programs
def check_float_vector(x, name: str, length: int | None = None) -> np.ndarray:
    """A 1-D float array (of `length`, if given) without NaN.

    Args:
        x (array_like): the value.
        name (str): how the message names it.
        length (int, optional): the required length.

    Returns:
        np.ndarray: float64 (n,).
    """
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {length}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def check_index_vector(x, name: str, length: int, upper: int) -> np.ndarray:
    """A 1-D int64 array of `length` integers in [0, upper).

    Args:
        x (array_like): the value.
        name (str): how the message names it.
        length (int): the required length.
        upper (int): ids must be < upper.

    Returns:
        np.ndarray: int64 (length,).
    """
    arr = check_float_vector(x, name, length)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must contain integers")
    if arr.size and (arr.min() < 0 or arr.max() >= upper):
        raise ValueError(f"{name} must lie in [0, {upper})")
    return arr.astype(np.int64)


def check_capacities(x, name: str) -> np.ndarray:
    """A 1-D float array of non-negative finite integers (capacities of units).

    Args:
        x (array_like): the value.
        name (str): how the message names it.

    Returns:
        np.ndarray: float64 (n,).
    """
    arr = check_float_vector(x, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must contain finite integers")
    return arr


def check_weight_matrix(x, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A non-negative 2-D float array without NaN (of `shape`, if given).

    Args:
        x (array_like): the value.
        name (str): how the message names it.
        shape (tuple[int, ...], optional): the required shape.

    Returns:
        np.ndarray: float64 (rows, columns).
    """
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_groups, n_unit_groups), got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    return arr


def check_budget(x, name: str) -> float:
    """A non-negative scalar budget as a float (inf allowed).

    Args:
        x (Any): the value.
        name (str): how the message names it.

    Returns:
        float: ``x``.
    """
    if np.ndim(x) != 0:
        raise ValueError(f"{name} must be a scalar")
    value = float(x)
    if math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {x}")
    return value


def check_local_budgets(x, n_units: int) -> np.ndarray:
    """Per-unit budgets (n_units,), rounded down: None is unlimited, a scalar
    applies to every unit.

    Args:
        x (float or array_like or None): the budgets.
        n_units (int): number of units.

    Returns:
        np.ndarray: float64 (n_units,), inf where unlimited.
    """
    if x is None:
        return np.full(n_units, np.inf)
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_units, float(arr))
    arr = check_float_vector(arr, "local_budget", n_units)
    if np.any(arr < 0):
        raise ValueError("local_budget must be non-negative")
    return np.floor(arr)


def check_target_mask(targets, n_out: int) -> np.ndarray:
    """A boolean mask (n_out,) of the targets: None is all outputs; targets
    are a boolean mask or output indices.

    Args:
        targets (array_like or None): a bool mask (n_out,) or output indices.
        n_out (int): number of outputs.

    Returns:
        np.ndarray: bool (n_out,).
    """
    if targets is None:
        return np.ones(n_out, dtype=bool)
    arr = np.asarray(targets)
    if arr.dtype == bool:
        if arr.shape != (n_out,):
            raise ValueError(f"boolean targets must have shape ({n_out},), got {arr.shape}")
        return arr.copy()
    mask = np.zeros(n_out, dtype=bool)
    mask[check_index_vector(arr.ravel(), "targets", arr.size, n_out)] = True
    return mask
