"""K-ary categorical noise: Lee et al.'s exact Hamming certificate and the variance-constrained
weight (docs/theory.md §9, §3; Lee et al. 2019).

Noise: every coordinate of x in {0, ..., K-1}^D is kept with probability ``a = keep`` and
otherwise replaced by a value drawn uniformly from all K values (possibly itself), so
``Pr[z_d = x_d] = a + b`` and ``Pr[z_d = v] = b`` for ``v != x_d``, with ``b = (1 - a) / K``.

Exact certificate. Let x' differ from x in r coordinates (Hamming distance r). Only those r
coordinates matter. On each of them z_d equals x_d (a step of -1), x'_d (+1) or one of the K - 2
other values (0); the sum t of the r steps has, under x, the law of r i.i.d. steps with
probabilities ``(a + b, (K - 2) b, b)`` and, under x', the law of -t. The likelihood ratio
``Pr_x' / Pr_x = ((a + b) / b)^t`` depends on t alone, so there are 2r + 1 regions, in
increasing-ratio order t = -r, ..., r (a > 0; a = 0 makes every ratio 1). The Neyman-Pearson
fill of `_neyman_pearson` over these regions gives the smallest ``Pr_x'[g = y]``; it never
touches the D - r untouched coordinates, so the cost is independent of D (Lee et al.'s region
count over all of ImageNet's D = 150,528 coordinates took four days).

The worst case only gets worse with r (a test on r coordinates is also a test on r + 1 that
ignores the last one), so certified radii are "at most r" budgets. Each radius r has one
threshold ``p*(r)``: certified iff ``p_lower > p*(r)``. The thresholds are built
incrementally (one convolution with the three-step law per radius, in log space) and made
non-decreasing with a running maximum, which absorbs rounding and can only make a certificate
smaller. ``p*(r)`` is what Lee et al. published as ``rho_r^{-1}(0.5)``.

Lee et al. parametrize the same noise by ``alpha = Pr[z_d = x_d]`` with the other K - 1 values
equally likely: ``alpha = a + (1 - a) / K``, i.e. ``a = 1 - K (1 - alpha) / (K - 1)``.

Unbounded radii: with ``keep = 0`` the noise ignores x, and with ``keep < 1`` and
``p_lower = 1`` the base classifier is y on the whole (full) support; both certify every radius
whenever ``p_lower > 1/2`` (`kary_hamming_radius` reports `KARY_UNBOUNDED_RADIUS`).

The public functions broadcast their arguments; scalar inputs give numpy scalars.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from graphcert.certificates._neyman_pearson import (
    certification_threshold,
    worst_case_mass,
)
from graphcert.utils.validation import (
    check_int,
    check_integers,
    check_nonnegative_integers,
    check_probabilities,
)

__all__ = ["KARY_UNBOUNDED_RADIUS", "kary_hamming_certified", "kary_hamming_radius",
           "kary_hamming_region", "kary_hamming_thresholds", "kary_hamming_worst_mass",
           "kary_weights"]

#: `kary_hamming_radius` of an input certified at every radius (the largest int64)
KARY_UNBOUNDED_RADIUS = int(np.iinfo(np.int64).max)


# ----------------------------------------------------------------------------- region masses
_NEGLIGIBLE = -800.0  # log mass of a region that float64 sums cannot see


def _step_logs(keep: float, n_values: int) -> tuple[float, float, float]:
    """Log probabilities of the steps -1 (z_d = x_d), 0 (another value), +1 (z_d = x'_d) of
    one changed coordinate under x."""
    with np.errstate(divide="ignore"):
        log_b = np.log1p(-keep) - np.log(n_values)
        return (float(np.logaddexp(np.log(keep), log_b)), float(np.log(n_values - 2) + log_b),
                float(log_b))


def _add_coordinate(log_pmf: np.ndarray, steps: tuple[float, float, float]) -> np.ndarray:
    """Log pmf of t + s for an independent step s in {-1, 0, +1} (index i <-> t = i - r)."""
    down, stay, up = steps
    out = np.full(log_pmf.size + 2, -np.inf)
    out[:-2] = log_pmf + down
    out[1:-1] = np.logaddexp(out[1:-1], log_pmf + stay)
    out[2:] = np.logaddexp(out[2:], log_pmf + up)
    return out


def _region_log_masses(keep: float, n_values: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Log masses of the regions t = -h, ..., h under x and x' (fill order) for r = 0, 1, ...

    Exact up to regions of log mass below ``_NEGLIGIBLE`` under both laws, which are dropped
    (left at -inf) as they arise: float64 cannot register them in any cumulative sum (exp(-745)
    is 0), and the mass they carry into later radii stays below r * exp(-800). The kept range
    [-h, h] is the smallest symmetric one holding every other region: h <= r and h is about
    ``a r + 40 sigma sqrt(r)`` (sigma^2 the variance of one step), so for small keep a radius
    costs O(sqrt(r)) instead of O(r).
    """
    steps = _step_logs(keep, n_values)
    log_px, first = np.zeros(1), 0  # log Pr_x[t = first + i]
    while True:
        half = max(-first, first + log_px.size - 1)
        cells = np.full(2 * half + 1, -np.inf)
        cells[half + first: half + first + log_px.size] = log_px
        yield cells, cells[::-1]  # Pr_x'[t] = Pr_x[-t]
        log_px = _add_coordinate(log_px, steps)
        kept = np.flatnonzero(log_px > _NEGLIGIBLE)  # never empty: the largest is >= -ln(2r+1)
        log_px, first = log_px[kept[0]: kept[-1] + 1], first - 1 + int(kept[0])


def _thresholds(keep: float, n_values: int, max_radius: int, stop_above: float) -> np.ndarray:
    """Non-decreasing thresholds p*(0), ..., p*(R), R <= max_radius: certified at r iff
    p_lower > p*(r). Stops after the first threshold >= ``stop_above`` (no p_lower of interest
    is certified beyond it); the caller treats missing radii as not certified."""
    if keep == 0.0:  # the law of t is symmetric: Pr_x = Pr_x' region by region
        return np.full(max_radius + 1, 0.5)
    out = []
    for r, cells in enumerate(_region_log_masses(keep, n_values)):
        out.append(max(certification_threshold(*cells), out[-1] if out else 0.0))
        if r == max_radius or out[-1] >= stop_above:
            return np.asarray(out)
    raise AssertionError("unreachable")  # pragma: no cover


def _unbounded(p: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Nodes certified at every radius (see the module docstring)."""
    return (p > 0.5) & ((keep == 0.0) | ((p == 1.0) & (keep < 1.0)))


# ----------------------------------------------------------------------------- validation
def _check_inputs(p_lower, keep, n_values, radius=None) -> tuple[np.ndarray, ...]:
    arrays = [check_probabilities(p_lower, "p_lower"), check_probabilities(keep, "keep"),
              check_integers(n_values, "n_values", "[2, inf)")]
    if radius is not None:
        arrays.append(check_nonnegative_integers(radius, "radius"))
    try:
        return tuple(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"p_lower, keep, n_values{', radius' if radius is not None else ''} "
                         f"must broadcast to one shape, got {shapes}") from None


def _groups(keep: np.ndarray, n_values: np.ndarray) -> Iterator[tuple[float, int, np.ndarray]]:
    """(keep, K, mask) per distinct noise setting of the flattened inputs."""
    bits = np.ascontiguousarray(keep, dtype=np.float64).ravel().view(np.int64)  # exact keys
    uniq, inverse = np.unique(np.stack([bits, n_values.ravel()], axis=1), axis=0,
                              return_inverse=True)
    inverse = inverse.ravel()
    for g, (g_bits, g_k) in enumerate(uniq):
        yield float(g_bits.view(np.float64)), int(g_k), inverse == g


# ----------------------------------------------------------------------------- public
def kary_hamming_worst_mass(p_lower, keep, n_values, radius) -> np.ndarray:
    """Smallest ``Pr_x'[g = y]`` over classifiers with ``Pr_x[g = y] = p_lower``, x' at Hamming
    distance ``radius`` from x, under K-ary noise (docs/theory.md §9). Exact Neyman-Pearson fill of
    the 2r + 1 likelihood-ratio regions in log space; costs O(r^2) per distinct (keep, K, r).
    ``p_lower = 1`` with ``keep < 1`` gives exactly 1 (x's noise has full support). All
    arguments broadcast.

    Args:
        p_lower (array_like): ``Pr_x[g = y]`` (a lower bound on it).
        keep (array_like): probability a in [0, 1] that a value is kept.
        n_values (array_like): alphabet size K >= 2.
        radius (array_like): Hamming distance r >= 0 of x'.

    Returns:
        np.ndarray: float64 of the broadcast shape (a scalar for scalar inputs).
    """
    p, a, k, r = _check_inputs(p_lower, keep, n_values, radius)
    flat_p, flat_r, out = p.ravel(), r.ravel(), np.empty(p.size)
    full_support = ((flat_p == 1.0) & (a.ravel() < 1.0))
    for g_keep, g_k, sel in _groups(a, k):
        wanted = set(flat_r[sel].tolist())
        for radius_now, cells in enumerate(_region_log_masses(g_keep, g_k)):
            at = sel & (flat_r == radius_now)
            if at.any():
                out[at] = worst_case_mass(*cells, flat_p[at])
                wanted.discard(radius_now)
            if not wanted:
                break
    out[full_support] = 1.0
    return out.reshape(p.shape)[()]


def kary_hamming_certified(p_lower, keep, n_values, radius) -> np.ndarray:
    """Exact certificate for K-ary noise (docs/theory.md §9): True iff every x' within Hamming
    distance ``radius`` of x keeps the prediction, i.e. the worst-case mass exceeds 1/2.

    ``p_lower``: lower confidence bound on ``Pr[g(z) = y]``; ``keep`` in [0, 1]; ``n_values``
    (K >= 2) the alphabet size; ``radius`` >= 0. All arguments broadcast (e.g. nodes x radii).
    ``p_lower <= 1/2`` is never certified (abstain); ``keep = 1`` (no noise) certifies only
    radius 0. The threshold scan stops at the first radius that no node of a setting passes,
    so large radii cost nothing unless they are actually certified.

    Args:
        p_lower (array_like): lower confidence bound on ``Pr[g(z) = y]``.
        keep (array_like): probability a in [0, 1] that a value is kept.
        n_values (array_like): alphabet size K >= 2.
        radius (array_like): Hamming radius >= 0.

    Returns:
        np.ndarray: bool of the broadcast shape (a bool scalar for scalar inputs).
    """
    p, a, k, r = _check_inputs(p_lower, keep, n_values, radius)
    flat_p, flat_r, out = p.ravel(), r.ravel(), _unbounded(p, a).ravel()
    for g_keep, g_k, sel in _groups(a, k):
        todo = sel & ~out & (flat_p > 0.5)
        if not todo.any():
            continue
        thr = _thresholds(g_keep, g_k, int(flat_r[todo].max()), float(flat_p[todo].max()))
        inside = todo & (flat_r < thr.size)
        out[inside] = flat_p[inside] > thr[flat_r[inside]]
    return out.reshape(p.shape)[()]


def kary_hamming_radius(p_lower, keep, n_values, *, max_radius: int | None = None) -> np.ndarray:
    """Largest certified Hamming radius for K-ary noise (docs/theory.md §9), int64; -1 where
    ``p_lower <= 1/2`` (abstain). ``p_lower``, ``keep`` and ``n_values`` broadcast.

    Every radius is certified where ``keep = 0`` (the noise ignores x) or ``p_lower = 1`` with
    ``keep < 1`` (the base classifier is y on the full support); such entries get
    `KARY_UNBOUNDED_RADIUS` (the largest int64), so ``radius >= r`` stays the certificate at every
    budget r and the other nodes of a vector are unaffected. ``max_radius`` caps every answer:
    pass the number of coordinates D, which bounds any Hamming change, and the capped radius is
    still the largest certified one (D where every change is certified).

    One scan over the radii per distinct (keep, K) serves all nodes; it costs O(R^2), or
    O(R^1.5) for small keep, for the largest finite radius R found (milliseconds for R in the
    hundreds; tiny keep values give large R).

    Args:
        p_lower (array_like): lower confidence bound on ``Pr[g(z) = y]``.
        keep (array_like): probability a in [0, 1] that a value is kept.
        n_values (array_like): alphabet size K >= 2.
        max_radius (int, optional): cap on every answer, e.g. D.

    Returns:
        np.ndarray: int64 of the broadcast shape, the largest certified radius (-1: abstain).
    """
    p, a, k = _check_inputs(p_lower, keep, n_values)
    cap = KARY_UNBOUNDED_RADIUS if max_radius is None else \
        check_int(max_radius, "max_radius", "[0, inf)")
    flat_p, flat_unbounded = p.ravel(), _unbounded(p, a).ravel()
    out = np.full(p.size, -1, dtype=np.int64)
    out[flat_unbounded] = cap
    for g_keep, g_k, sel in _groups(a, k):
        todo = sel & ~flat_unbounded & (flat_p > 0.5)
        if not todo.any():
            continue
        thr = _thresholds(g_keep, g_k, cap, float(flat_p[todo].max()))
        out[todo] = np.searchsorted(thr, flat_p[todo], side="left") - 1
    return out.reshape(p.shape)[()]


def kary_hamming_region(p_lower, keep: float, n_values: int, max_radius: int) -> np.ndarray:
    """Certified region, bool (n_nodes, max_radius + 1) (docs/theory.md §9): ``region[n, r]`` is
    True iff every radius <= r is certified for node n; the thresholds are shared by all nodes.

    Args:
        p_lower (array_like): lower confidence bounds, shape (n_nodes,).
        keep (float): probability a that a value is kept.
        n_values (int): alphabet size K >= 2.
        max_radius (int): largest radius of the region, >= 0.

    Returns:
        np.ndarray: bool (n_nodes, max_radius + 1).
    """
    p = check_probabilities(p_lower, "p_lower")
    if p.ndim != 1:
        raise ValueError(f"p_lower must be one-dimensional (n_nodes,), got shape {p.shape}")
    keep = check_probabilities(keep, "keep")
    n_values = check_integers(n_values, "n_values", "[2, inf)")
    if keep.ndim or n_values.ndim:
        raise ValueError("keep and n_values must be scalars (one noise setting for all nodes)")
    max_radius = check_int(max_radius, "max_radius", "[0, inf)")
    unbounded = _unbounded(p, keep)
    bounded = p[~unbounded]
    thr = np.full(max_radius + 1, np.inf)
    if bounded.size and bounded.max() > 0.5:
        part = _thresholds(float(keep), int(n_values), max_radius, float(bounded.max()))
        thr[: part.size] = part
    return (p[:, None] > thr[None]) | unbounded[:, None]


def kary_hamming_thresholds(keep: float, n_values: int, max_radius: int) -> np.ndarray:
    """Thresholds ``p*(r)``, r = 0..max_radius, (max_radius + 1,): certified at radius r iff
    ``p_lower > p*(r)``; 1.0 where nothing is certified (docs/theory.md §9). This is Lee et al.'s
    ``rho_r^{-1}(0.5)``, the table the reviewers of their paper asked them to publish.

    Args:
        keep (float): probability a that a value is kept.
        n_values (int): alphabet size K >= 2.
        max_radius (int): largest radius, >= 0.

    Returns:
        np.ndarray: float64 (max_radius + 1,), the thresholds p*(r).
    """
    keep = check_probabilities(keep, "keep")
    n_values = check_integers(n_values, "n_values", "[2, inf)")
    if keep.ndim or n_values.ndim:
        raise ValueError("keep and n_values must be scalars")
    max_radius = check_int(max_radius, "max_radius", "[0, inf)")
    thr = np.ones(max_radius + 1)
    part = _thresholds(float(keep), int(n_values), max_radius, 1.0)
    thr[: part.size] = part
    return thr


def kary_weights(keep, n_values) -> np.ndarray:
    """Per-changed-coordinate weight of the variance-constrained certificate for K-ary noise
    (docs/theory.md §3, §9), elementwise in ``keep`` (a) and ``n_values`` (K), natural log:

        w = ln sum_z pi_x'(z)^2 / pi_x(z) = ln(1 + a^2 / (a + b) + a^2 / b),   b = (1 - a) / K

    for one coordinate with x_d != x'_d and the same keep for x and x' (one smoothing
    distribution). Derivation: ``rho - 1 = sum_z (pi_x'(z) - pi_x(z))^2 / pi_x(z)``; the two
    laws differ only at z = x_d (by -a, where pi_x = a + b) and z = x'_d (by +a, where
    pi_x = b). A node is certified iff the sum of its changed coordinates' weights < eta.
    ``a = 0`` gives 0 (the noise ignores x); ``a = 1`` gives inf (nothing beyond radius 0).
    K = 2 is the Bernoulli weight of docs/theory.md §3 with theta = (1 - a) / 2. The weight grows
    with K: with several alphabet sizes the largest K bounds every coordinate's weight.

    Args:
        keep (array_like): probability a in [0, 1] that a value is kept.
        n_values (array_like): alphabet size K >= 2.

    Returns:
        np.ndarray: float64 weights w of the broadcast shape (inf where a = 1).
    """
    a, k = np.broadcast_arrays(check_probabilities(keep, "keep"),
                               check_integers(n_values, "n_values", "[2, inf)"))
    b = (1.0 - a) / k
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = a**2 / (a + b) + a**2 / b
    return np.log1p(np.where(b > 0, excess, np.inf))
