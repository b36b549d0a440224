"""The binary sampler's compiled loops against the numpy computations they replace
(docs/theory.md §2): the same numbers, bit for bit, so the samples of every published run stay the
same."""
from __future__ import annotations

import math

import numpy as np
import pytest

from graphcert.noise._kernels import geometric_positions, merged_csr_rows
from graphcert.noise.bernoulli import draw_uniforms, gap_law


@pytest.mark.parametrize("size", [0, 1, 7, 4096, 100_003])
@pytest.mark.parametrize("before", ["nothing", "doubles", "integers", "bits"])
def test_sfc64_uniforms_are_numpys_random(size, before):
    """Drawn with the compiled SFC64 step, the doubles and every draw after them equal
    numpy's, whatever was drawn before (including a buffered half of a 64-bit word)."""
    ours, numpys = (np.random.Generator(np.random.SFC64(np.random.SeedSequence(size)))
                    for _ in range(2))
    for rng in (ours, numpys):
        if before == "doubles":
            rng.random(5)
        elif before == "integers":
            rng.integers(0, 7, 3, dtype=np.int32)
        elif before == "bits":
            rng.bit_generator.random_raw(3)
    out = np.full(size, -1.0)
    assert draw_uniforms(ours, out) is out
    np.testing.assert_array_equal(out, numpys.random(size))
    np.testing.assert_array_equal(ours.integers(0, 2**31, 9, dtype=np.int32),
                                  numpys.integers(0, 2**31, 9, dtype=np.int32))
    np.testing.assert_array_equal(ours.random(3), numpys.random(3))


def test_uniforms_of_other_bit_generators_are_random():
    ours, numpys = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(draw_uniforms(ours, np.empty(1000)), numpys.random(1000))


def reference_positions(uniforms: np.ndarray, scale: float, cap: float, last: int,
                        length: int) -> tuple[np.ndarray, int]:
    """The gaps in plain numpy: floor(min(log(U) * scale, cap)) + 1, summed from `last`."""
    with np.errstate(divide="ignore"):
        gaps = np.floor(np.minimum(np.log(uniforms) * scale, cap)).astype(np.int64) + 1
    positions = last + np.cumsum(gaps)
    below = positions < length
    stop = int(np.argmin(below)) if not below.all() else positions.size
    return positions[:stop], int(positions[min(stop, positions.size - 1)])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("p, length, last", [(0.01, 50_000, -1), (0.3, 1_000, 17),
                                             (0.001, 2**33 + 60_000, 2**33), (0.5, 10, -1)])
def test_geometric_positions_equal_the_numpy_formula(dtype, p, length, last):
    if dtype is np.int32 and length > 2**31:
        pytest.skip("positions beyond int32")
    rng = np.random.default_rng(int(p * 1000))
    scale, cap, _ = gap_law(length, p)
    mean = (length - last) * p
    for draws in (1, int(mean) // 2 + 1, int(mean + 6 * math.sqrt(mean) + 16)):
        uniforms = rng.random(draws)
        uniforms[::97] = 0.0  # log(0) = -inf: a capped gap
        uniforms[1::89] = 1e-300  # a gap above the cap where cap < length
        expected, last_expected = reference_positions(uniforms, scale, cap, last, length)
        out = np.full(draws, -1, dtype=dtype)
        with np.errstate(divide="ignore"):
            count, summed = geometric_positions(np.log(uniforms), scale, cap, last, length, out)
        assert count == expected.size and summed == last_expected
        np.testing.assert_array_equal(out[:count], expected)
        assert count == draws or summed >= length  # stopped early only at the end


def reference_csr(selection, drop, add, n_nodes: int, n_features: int):
    keys = np.union1d(np.setdiff1d(selection, drop), add)
    crow = np.searchsorted(keys, np.arange(n_nodes + 1) * n_features)
    return keys - np.repeat(np.arange(n_nodes), np.diff(crow)) * n_features, crow


def random_subset(rng: np.random.Generator, length: int, p: float, dtype) -> np.ndarray:
    """Sorted positions in [0, length), each kept with probability p."""
    return np.flatnonzero(rng.random(length) < p).astype(dtype)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_merged_csr_rows_equal_set_operations(dtype):
    """Random sorted key sets of tiny graphs: empty runs, absent dropped keys, empty rows,
    the first and the last key, keys in both runs."""
    rng = np.random.default_rng(5)
    for case in range(2000):
        n_nodes, n_features = int(rng.integers(1, 12)), int(rng.integers(1, 9))
        length = n_nodes * n_features
        selection = random_subset(rng, length, rng.random(), dtype)
        drop = random_subset(rng, length, 0.5 * rng.random(), dtype)
        add = random_subset(rng, length, 0.5 * rng.random(), dtype)
        if case % 3 == 0:
            drop = drop[:0]
        columns, crow = merged_csr_rows(selection, drop, add, n_nodes, n_features)
        expected_columns, expected_crow = reference_csr(selection, drop, add, n_nodes,
                                                        n_features)
        assert columns.dtype == dtype and crow.dtype == np.int64
        np.testing.assert_array_equal(columns, expected_columns)
        np.testing.assert_array_equal(crow, expected_crow)


def test_merged_csr_rows_of_a_copy_sized_input():
    """CiteSeer-sized: 7.8M positions, selection at 1%, added 1-bits, some of them selected."""
    rng = np.random.default_rng(6)
    n_nodes, n_features = 2110, 3703
    selection = np.flatnonzero(rng.random(n_nodes * n_features) < 0.01).astype(np.int32)
    add = np.union1d(rng.choice(selection, 700, replace=False),
                     rng.choice(n_nodes * n_features, 17_000, replace=False)).astype(np.int32)
    drop = rng.choice(selection, 300, replace=False)
    drop.sort()
    for dropped in (drop[:0], drop):
        columns, crow = merged_csr_rows(selection, dropped, add, n_nodes, n_features)
        expected = reference_csr(selection, dropped, add, n_nodes, n_features)
        np.testing.assert_array_equal(columns, expected[0])
        np.testing.assert_array_equal(crow, expected[1])


def test_kernels_compile_without_a_cache_folder(monkeypatch):
    """Where numba finds no writable cache folder (a read-only install and home), the loops
    are compiled without a cache instead of failing at import."""
    from graphcert.noise import _kernels

    def njit(**options):
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'f.py'")
        return lambda function: ("compiled", function, options)

    monkeypatch.setattr(_kernels, "njit", njit)
    assert _kernels._compiled(len) == ("compiled", len, {"nogil": True})
