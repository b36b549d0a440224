"""Compiled inner loops of the binary sampler (docs/theory.md §2), one pass each where numpy
needs several.

Compiled by numba on first use (about a second; cached on disk afterwards) and run without
the GIL, so the threads that finish copies (`graphcert.noise.sparse_sampler.PendingCopies`) work in
parallel. Integer arithmetic and IEEE products only: the results are those of the numpy
formulas in the docstrings, bit for bit (tests/noise/test_kernels.py).
"""
from __future__ import annotations

import numpy as np
from numba import njit, uint64

__all__ = ["geometric_positions", "merged_csr_rows", "sfc64_uniforms"]


def _compiled(function):
    """`function` compiled without the GIL, cached on disk where numba finds a writable
    folder (beside this file, or the user's cache); compiled anew in each process where not."""
    try:
        return njit(nogil=True, cache=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(nogil=True)(function)


@_compiled
def sfc64_uniforms(state: np.ndarray, out: np.ndarray) -> None:
    """Fill float64 `out` with the doubles numpy's ``SFC64`` draws for ``Generator.random``
    from the 4-word `state` (a, b, c, counter; advanced in place): ``(next >> 11) * 2^-53``
    with numpy's SFC64 step (numpy/random/src/sfc64/sfc64.h), inlined instead of one call
    through a function pointer per number.
    """
    a, b, c, counter = state[0], state[1], state[2], state[3]
    for i in range(out.size):
        value = a + b + counter
        counter += uint64(1)
        a = b ^ (b >> uint64(11))
        b = c + (c << uint64(3))
        c = ((c << uint64(24)) | (c >> uint64(40))) + value
        out[i] = (value >> uint64(11)) * (1.0 / 9007199254740992.0)
    state[0], state[1], state[2], state[3] = a, b, c, counter


@_compiled
def geometric_positions(log_uniforms: np.ndarray, scale: float, cap: float, last: int,
                        length: int, out: np.ndarray) -> tuple[int, int]:
    """Running sum of the gaps ``floor(min(log(U) * scale, cap)) + 1`` from `last`, written
    to `out` until a position reaches `length`.

    Returns (positions written, the last position summed): ``out[:count]`` are the positions
    below `length`; the sum stopped early (count < len(log_uniforms)) exactly when a position
    reached `length`. ``log_uniforms`` holds ``log(U)`` (numpy's, drawn by the caller), scale
    = 1 / log(1 - p) < 0, so every gap is at least 1.
    """
    position = np.int64(last)
    for i in range(log_uniforms.size):
        gap = log_uniforms[i] * scale
        if gap > cap:  # also catches log(0) * scale = +inf
            gap = cap
        position += np.int64(gap) + 1  # truncation == floor: gap >= 0
        if position >= length:
            return i, position
        out[i] = position
    return log_uniforms.size, position


@_compiled
def merged_csr_rows(selection: np.ndarray, drop: np.ndarray, add: np.ndarray, n_nodes: int,
                    n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(selection minus drop) union add, as CSR columns and row pointers (N + 1, int64).

    All three are sorted flat keys ``node * n_features + feature`` without repeats; `drop`
    members absent from `selection` are ignored. Equals, in numpy,
    ``keys = np.union1d(np.setdiff1d(selection, drop), add)``; the row pointers are
    ``np.searchsorted(keys, np.arange(N + 1) * D)`` and the columns ``keys - node * D``.
    The merge takes the smaller head of both runs without a branch on the keys (they are
    random: a branch would be mispredicted at every switch between the runs).
    """
    kept = _without(selection, drop) if drop.size else selection
    columns = np.empty(kept.size + add.size, dtype=selection.dtype)
    crow = np.empty(n_nodes + 1, dtype=np.int64)
    crow[0] = 0
    n, i, j, node = 0, 0, 0, 0
    start, end = np.int64(0), np.int64(n_features)  # keys of row `node`: [start, end)
    while i < kept.size and j < add.size:
        a, b = kept[i], add[j]
        key = min(a, b)
        i += a <= b  # a key in both runs moves both heads: written once
        j += b <= a
        node, start, end = _row_of(key, node, start, end, n, crow, n_features)
        columns[n] = key - start
        n += 1
    for key in kept[i:] if i < kept.size else add[j:]:  # what is left of one run
        node, start, end = _row_of(key, node, start, end, n, crow, n_features)
        columns[n] = key - start
        n += 1
    crow[node + 1:] = n
    return columns[:n], crow


@njit(inline="always")
def _row_of(key: int, node: int, start: int, end: int, n: int, crow: np.ndarray,
            n_features: int) -> tuple[int, int, int]:
    """Move (node, start, end) on to the row holding `key`; the rows passed start at `n`."""
    while key >= end:
        node += 1
        crow[node] = n
        start, end = end, end + n_features
    return node, start, end


@_compiled
def _without(keys: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """Sorted `keys` without the members of sorted `drop`."""
    kept = np.empty_like(keys)
    count, d = 0, 0
    for i in range(keys.size):
        key = keys[i]
        while d < drop.size and drop[d] < key:
            d += 1
        if d < drop.size and drop[d] == key:
            continue
        kept[count] = key
        count += 1
    return kept[:count]
