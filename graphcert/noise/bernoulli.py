"""Bernoulli position sets: the primitive every sparse graph noise draws from (docs/theory.md §2).

`bernoulli_positions` returns the sorted positions of a Bernoulli(p) process over [0, length)
from geometric gaps, so work and memory scale with the positions drawn, never with `length`.
Sparsity-aware attribute noise (`graphcert.noise.sparse_sampler`), K-ary noise
(`graphcert.noise.kary`) and structure noise (`graphcert.noise.structure`) all use it.

Random numbers come from a ``numpy.random.Generator``: its uniform doubles plus numpy's SIMD
``log`` make the geometric gaps cheaper than torch's ``rand`` + ``log`` on a CPU; the loops
numpy would need several passes for (SFC64's doubles, the gaps' running sums) are compiled
(`graphcert.noise._kernels`, the same numbers bit for bit).
"""
from __future__ import annotations

import math

import numpy as np

from graphcert.noise._kernels import geometric_positions, sfc64_uniforms
from graphcert.utils.validation import check_probability

__all__ = ["bernoulli_positions", "draw_uniforms", "first_draws", "gap_law", "gap_round"]


def gap_law(length: int, p: float) -> tuple[float, float, float]:
    """(1 / ln(1 - p), the cap on a gap, the expected number of positions), 0 < p < 1.

    U >= 2^-53 unless U == 0, so gaps stay below -log(2^-53) * -scale < 37 * -scale; U == 0
    (probability 2^-53, a rounding-level event) and overlong gaps are capped.

    Args:
        length (int): number of positions.
        p (float): success probability, 0 < p < 1.

    Returns:
        tuple[float, float, float]: scale, cap and expected count.
    """
    scale = 1.0 / math.log1p(-p)  # < 0
    return scale, min(float(length), -37.0 * scale), length * p


def first_draws(mean: float) -> int:
    """Gaps drawn at first: the expected count plus six standard deviations, plus 16.

    Args:
        mean (float): expected number of positions.

    Returns:
        int: number of gaps to draw in the first round.
    """
    return int(mean + 6.0 * math.sqrt(mean) + 16)


def draw_uniforms(rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """``rng.random(out=out)``: the same numbers, drawn by a compiled loop for SFC64 (the
    chunk generators' bit generator, `graphcert.sampling.streams`).

    Args:
        rng (np.random.Generator): the generator, advanced as ``rng.random`` would.
        out (np.ndarray): float64 buffer to fill.

    Returns:
        np.ndarray: ``out``, filled with uniforms in [0, 1).
    """
    bits = rng.bit_generator
    if type(bits) is not np.random.SFC64:
        return rng.random(out=out)
    with bits.lock:
        state = bits.state
        words = state["state"]["state"].copy()
        sfc64_uniforms(words, out)
        state["state"]["state"] = words
        bits.state = state
    return out


def gap_round(uniforms: np.ndarray, scale: float, cap: float, last: int, length: int,
              dtype: type) -> tuple[np.ndarray, int]:
    """One round of positions after `last` from the float64 `uniforms` (overwritten by their
    logarithms): (the positions below `length` as `dtype`, the last position summed).

    Args:
        uniforms (np.ndarray): float64 uniforms, shape (n,), overwritten.
        scale (float): ``1 / ln(1 - p)`` from `gap_law`.
        cap (float): largest gap, from `gap_law`.
        last (int): position before the first one of this round (-1 at the start).
        length (int): number of positions.
        dtype (type): integer type of the positions.

    Returns:
        tuple[np.ndarray, int]: positions below ``length`` (sorted) and the last position.
    """
    with np.errstate(divide="ignore"):
        np.log(uniforms, out=uniforms)
    out = np.empty(uniforms.size, dtype=dtype)
    count, last = geometric_positions(uniforms, scale, cap, last, length, out)
    return out[:count], int(last)


def bernoulli_positions(length: int, p: float, rng: np.random.Generator,
                        dtype: type = np.int64) -> np.ndarray:
    """Sorted positions in [0, length) of integer `dtype`, each included independently with
    probability p.

    Exact: the gaps between consecutive successes of i.i.d. Bernoulli(p) trials are i.i.d.
    Geometric(p) on {1, 2, ...}, and ``floor(log(U) / log(1 - p)) + 1`` with U ~ Uniform[0, 1)
    has exactly that law (P[gap > g] = P[U <= (1 - p)^g] = (1 - p)^g), up to float64
    rounding. Gaps are drawn past the end and the overshoot is cut; the cut does not bias
    the kept positions because each gap is independent of the ones after it. Work and memory
    are proportional to the number of positions returned, not to `length`.

    Args:
        length: number of trials.
        p: success probability of each trial.
        rng: numpy generator (SFC64 draws through a compiled loop, the same numbers).
        dtype: integer dtype of the result.

    Returns:
        (S,) sorted positions of the successes.
    """
    check_probability(p, "p")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    if p == 0.0 or length == 0:
        return np.empty(0, dtype=dtype)
    if p == 1.0:
        return np.arange(length, dtype=dtype)
    scale, cap, mean = gap_law(length, p)
    parts, last = [], -1
    draws = first_draws(mean)
    while last < length - 1:
        uniforms = draw_uniforms(rng, np.empty(draws))
        positions, last = gap_round(uniforms, scale, cap, last, length, dtype)
        parts.append(positions)
        draws = int(6.0 * math.sqrt(mean) + 16)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]
