"""Validation helpers shared by the collective certificates."""
from __future__ import annotations

import math

import numpy as np


def float_vector(x, name: str, length: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {length}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def index_vector(x, name: str, length: int, upper: int) -> np.ndarray:
    arr = float_vector(x, name, length)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must contain integers")
    if arr.size and (arr.min() < 0 or arr.max() >= upper):
        raise ValueError(f"{name} must lie in [0, {upper})")
    return arr.astype(np.int64)


def capacity_vector(x, name: str) -> np.ndarray:
    arr = float_vector(x, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must contain finite integers")
    return arr


def weight_matrix(x, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
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


def budget_value(x, name: str) -> float:
    if np.ndim(x) != 0:
        raise ValueError(f"{name} must be a scalar")
    value = float(x)
    if math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {x}")
    return value


def local_budget_vector(x, n_units: int) -> np.ndarray:
    if x is None:
        return np.full(n_units, np.inf)
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_units, float(arr))
    arr = float_vector(arr, "local_budget", n_units)
    if np.any(arr < 0):
        raise ValueError("local_budget must be non-negative")
    return np.floor(arr)


def target_mask(targets, n_out: int) -> np.ndarray:
    if targets is None:
        return np.ones(n_out, dtype=bool)
    arr = np.asarray(targets)
    if arr.dtype == bool:
        if arr.shape != (n_out,):
            raise ValueError(f"boolean targets must have shape ({n_out},), got {arr.shape}")
        return arr.copy()
    mask = np.zeros(n_out, dtype=bool)
    mask[index_vector(arr.ravel(), "targets", arr.size, n_out)] = True
    return mask
