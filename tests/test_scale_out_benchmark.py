"""Smoke test of the scaling benchmark's helpers (the benchmark itself is not a test)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "scale_out.py"
spec = importlib.util.spec_from_file_location("scaling_benchmark", PATH)
scaling = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scaling)


def test_planted_partition_is_sparse_undirected_and_binary():
    x, edge_index, y = scaling.planted_partition(500, seed=1)
    assert x.layout.__repr__() == "torch.sparse_csr" and x.shape == (500, scaling.N_FEATURES)
    assert np.all(x.values().numpy() == 1) and 0 < x._nnz() <= 500 * scaling.ONES_PER_NODE
    pairs = set(map(tuple, edge_index.T.tolist()))
    assert all((b, a) in pairs for a, b in pairs) and all(a != b for a, b in pairs)
    assert np.mean(y[edge_index[0]] == y[edge_index[1]]) > 0.7


def test_fit_exponent():
    n = np.array([1e4, 3e4, 1e5])
    assert np.isclose(scaling.fit_exponent(n, 3 * n**1.5), 1.5)
