"""The sparsity pattern of a normalized adjacency, by a counting sort instead of a full sort.

Compiled by numba (run without the GIL; cached on disk where a folder is writable).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["self_looped_pattern"]


def _compiled(function):
    """As `graphcert.noise._kernels` compiles (gnn_models does not import graphcert)."""
    try:
        return njit(nogil=True, cache=True)(function)
    except RuntimeError:  # no writable cache folder: compile anew in each process
        return njit(nogil=True)(function)


@_compiled
def self_looped_pattern(source: np.ndarray, target: np.ndarray, num_nodes: int
                        ) -> tuple[np.ndarray, np.ndarray, bool]:
    """(row pointers, columns, whether every edge is distinct and inside [0, N)) of the
    (target x source) pattern of the edges ``source -> target`` without their self loops,
    plus one self loop per node.

    Rows are targets, columns sorted within each row: the order of ``coalesce`` on the keys
    ``target * N + source`` (torch_geometric's ``add_remaining_self_loops`` then
    ``to_torch_csr_tensor``). Where the third value is False (an edge that repeats, which
    ``coalesce`` would merge, or a node outside [0, N)) the pattern is not to be used.
    """
    crow = np.zeros(num_nodes + 1, dtype=np.int64)
    for e in range(source.size):
        if not (0 <= source[e] < num_nodes and 0 <= target[e] < num_nodes):
            return crow, np.empty(0, dtype=np.int64), False
        if source[e] != target[e]:
            crow[target[e] + 1] += 1
    for node in range(num_nodes):
        crow[node + 1] += crow[node] + 1  # + 1: the self loop
    columns = np.empty(crow[num_nodes], dtype=np.int64)
    filled = crow[:-1].copy()
    for node in range(num_nodes):
        columns[filled[node]] = node
        filled[node] += 1
    for e in range(source.size):
        if source[e] != target[e]:
            columns[filled[target[e]]] = source[e]
            filled[target[e]] += 1
    distinct = True
    for node in range(num_nodes):
        row = columns[crow[node]:crow[node + 1]]
        if row.size > 16:
            row.sort()
        else:  # insertion sort: most rows are short
            for i in range(1, row.size):
                value, j = row[i], i - 1
                while j >= 0 and row[j] > value:
                    row[j + 1] = row[j]
                    j -= 1
                row[j + 1] = value
        for i in range(1, row.size):
            if row[i] == row[i - 1]:
                distinct = False
    return crow, columns, distinct


@_compiled
def symmetric_values(crow: np.ndarray, columns: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``scale[column] * scale[row]`` for every stored entry of the pattern (row pointers
    `crow`, `columns`): D^-1/2 A D^-1/2 with ``scale = deg^-1/2``, as torch_geometric's
    ``gcn_norm`` multiplies (``scale[source] * 1 * scale[target]``)."""
    values = np.empty(columns.size, dtype=scale.dtype)
    for row in range(crow.size - 1):
        row_scale = scale[row]
        for k in range(crow[row], crow[row + 1]):
            values[k] = scale[columns[k]] * row_scale
    return values
