"""Hierarchical smoothing against adversarial nodes (docs/theory.md §14; Scholten et al. 2023).

Upper level: every node's row is selected independently with probability p (and, optionally,
the model sees which rows were selected). Lower level: selected rows get sparsity-aware noise
S(theta_plus, theta_minus) on their bits (or Gaussian noise); unselected rows stay clean.

The adversary changes r' <= r rows with a' <= additions and d' <= deletions bits in all. With
q = p^r', every outcome in which a changed row is not selected has likelihood ratio 0 (its
x'-mass is 0), mass 1 - q under x; on the outcomes in which all changed rows are selected (mass
q under both) the ratio is the lower-level ratio of the (a', d') change. The Neyman-Pearson
fill of p_A is therefore

    worst(p_A) = q * L_{a', d'}((p_A - (1 - q)) / q)   (0 if p_A <= 1 - q)

with L the lower-level fill (SparseSmooth, `_sparse_smooth`). It decreases in r' (docs/theory.md
§14, a perspective argument) and each changed row needs at least one changed bit, so the worst
r' for (a', d') is ``min(r, a' + d')``; the certificate is the minimum over the (a', d') grid.
The bound also holds for a model that does not see the selection (a special case).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from graphcert.certificates._neyman_pearson import worst_case_mass
from graphcert.certificates._sparse_smooth import _family, _fill_order
from graphcert.utils.validation import (
    check_int,
    check_probabilities,
    check_probability,
    check_real,
)

__all__ = ["hierarchical_certified", "hierarchical_gaussian_certified",
           "hierarchical_gaussian_worst_case", "hierarchical_node_radius",
           "hierarchical_worst_case"]


def _check_upper(p_select, r, num_nodes) -> tuple[float, int]:
    """p_select in (0, 1], r in [0, num_nodes] (the number of controlled nodes)."""
    p = check_real(p_select, "p_select", "(0, 1]")
    if np.ndim(p) != 0:
        raise ValueError(f"p_select must be a scalar in (0, 1], got shape {np.shape(p_select)}")
    r = check_int(r, "r", "[0, inf)")
    if num_nodes is not None:
        num_nodes = check_int(num_nodes, "num_nodes", "[1, inf)")
        if r > num_nodes:
            raise ValueError(f"r == {r}, must be in [0, num_nodes={num_nodes}]: the adversary "
                             "controls at most every node")
    return float(p), r


def _lower_fills(theta_plus: float, theta_minus: float, additions: int, deletions: int):
    """Per budget (a', d') != (0, 0) within the maxima: (a', d', cells in fill order)."""
    tp = check_probability(theta_plus, "theta_plus")
    tm = check_probability(theta_minus, "theta_minus")
    a_max = check_int(additions, "additions", "[0, inf)")
    d_max = check_int(deletions, "deletions", "[0, inf)")
    for a in range(a_max + 1):
        for d in range(d_max + 1):
            if a + d:
                yield a, d, _fill_order(_family(tp, tm, a, d), tp, tm)


def _scaled_fill(cells, p: np.ndarray, q: float) -> np.ndarray:
    """``q * L((p - (1 - q)) / q)``, 0 where ``p <= 1 - q``: the fill of p over the ratio-0
    region (mass 1 - q) and then the lower-level cells scaled by q."""
    t = np.clip((p - (1.0 - q)) / q, 0.0, 1.0)
    return np.where(t > 0, q * worst_case_mass(*cells, t), 0.0)


def _result(value: np.ndarray, like):
    return float(value) if np.ndim(like) == 0 else value


def hierarchical_worst_case(p_lower, p_select, r, theta_plus, theta_minus, additions,
                            deletions, *, num_nodes=None):
    """Smallest probability of the predicted class under r adversarial nodes (§14).

    Args:
        p_lower: float or array: lower bound on ``Pr[g = y]`` under hierarchical smoothing.
        p_select: probability p in (0, 1] that a row gets lower-level noise.
        r: number of nodes the adversary controls (>= 0; <= ``num_nodes`` when given).
        theta_plus, theta_minus: lower-level flip probabilities 0 -> 1 and 1 -> 0.
        additions, deletions: bits the adversary may add / delete among its rows, in all.
        num_nodes: optional N, to reject ``r > N``.

    Returns:
        The minimum over every change within the budgets of the Neyman-Pearson fill (a float
        for a float ``p_lower``, else an array of its shape).
    """
    p_sel, r = _check_upper(p_select, r, num_nodes)
    p = check_probabilities(p_lower, "p_lower")
    out = p.copy()
    if r == 0:
        return _result(out, p_lower)
    for a, d, cells in _lower_fills(theta_plus, theta_minus, additions, deletions):
        q = p_sel ** min(r, a + d)
        out = np.minimum(out, _scaled_fill(cells, p, q))
    return _result(out, p_lower)


def hierarchical_certified(p_lower, p_select, r, theta_plus, theta_minus, additions, deletions,
                           *, p_upper=None, num_nodes=None):
    """Whether the prediction provably stays under r adversarial nodes (§14).

    Binary variant (``p_upper`` None): the worst case of ``p_lower`` is above 1/2 for every
    change. Multi-class variant: for every change the worst case of ``p_lower`` (top class)
    beats the best case ``1 - worst(1 - p_upper)`` of the runner-up's upper bound ``p_upper``.

    Args:
        p_lower (float or np.ndarray): lower bound on the top class's probability.
        p_select (float): probability in (0, 1] that a row gets lower-level noise.
        r (int): number of nodes the adversary controls.
        theta_plus, theta_minus (float): lower-level flip probabilities 0 -> 1 and 1 -> 0.
        additions, deletions (int): bits the adversary may add / delete among its rows, in all.
        p_upper (float or np.ndarray, optional): upper bound on the runner-up's probability, of
            ``p_lower``'s shape; None: binary variant.
        num_nodes (int, optional): N, to reject ``r > N``.

    Returns:
        bool or np.ndarray: certified or not, a bool for a scalar ``p_lower``, else a bool array
        of its shape.
    """
    p_sel, r = _check_upper(p_select, r, num_nodes)
    p = check_probabilities(p_lower, "p_lower")
    if p_upper is None:
        ok = p > 0.5
        rival = None
    else:
        rival = np.broadcast_to(check_probabilities(p_upper, "p_upper"), p.shape)
        ok = p > rival
    if r > 0:
        for a, d, cells in _lower_fills(theta_plus, theta_minus, additions, deletions):
            q = p_sel ** min(r, a + d)
            low = _scaled_fill(cells, p, q)
            high = 0.5 if rival is None else 1.0 - _scaled_fill(cells, 1.0 - rival, q)
            ok &= low > high
    return bool(ok) if np.ndim(p_lower) == 0 else ok


def hierarchical_node_radius(p_lower, p_select, theta_plus, theta_minus, additions, deletions,
                             max_nodes: int, *, p_upper=None) -> np.ndarray:
    """Largest r <= ``max_nodes`` certified by :func:`hierarchical_certified` per node, -1
    where not even r = 0 is (the smoothed prediction is not the class). Certificates decrease
    in r (§14), so this is the node budget each target tolerates in the collective
    certificate.

    Args:
        p_lower (array_like): lower bounds on the top class's probability, shape (n,).
        p_select (float): probability in (0, 1] that a row gets lower-level noise.
        theta_plus, theta_minus (float): lower-level flip probabilities 0 -> 1 and 1 -> 0.
        additions, deletions (int): bits each controlled node may add / delete.
        max_nodes (int): largest r tried, >= 0.
        p_upper (array_like, optional): runner-up upper bounds (n,); None: binary variant.

    Returns:
        np.ndarray: int64 (n,), the certified number of controlled nodes (-1: none).
    """
    return largest_certified_r(
        lambda p, r, upper: hierarchical_certified(p, p_select, r, theta_plus, theta_minus,
                                                   additions, deletions, p_upper=upper),
        p_lower, max_nodes, p_upper)


def largest_certified_r(certified, p_lower, max_nodes: int, p_upper=None) -> np.ndarray:
    """Per node, the largest r <= ``max_nodes`` with ``certified(p, r, upper)`` true for every
    r' <= r, -1 where r = 0 is not (certificates decrease in r, docs/theory.md §14).

    Args:
        certified (callable): ``(p_lower (n,), r, p_upper (n,) or None) -> bool (n,)``.
        p_lower (array_like): lower bounds on the top class's probability, (n,).
        max_nodes (int): largest r tried, >= 0.
        p_upper (array_like, optional): runner-up upper bounds (n,).

    Returns:
        np.ndarray: int64 (n,).
    """
    max_nodes = check_int(max_nodes, "max_nodes", "[0, inf)")
    p = np.atleast_1d(check_probabilities(p_lower, "p_lower"))
    upper = None if p_upper is None else np.atleast_1d(p_upper)
    radius = np.full(p.shape, -1, dtype=np.int64)
    for r in range(max_nodes + 1):
        ok = certified(p, r, upper) & (radius == r - 1)
        if not ok.any():
            break
        radius[ok] = r
    return radius


def hierarchical_gaussian_worst_case(p_lower, p_select, r, sigma, radius, *, num_nodes=None):
    """Smallest probability of the predicted class when the r controlled rows move by at most
    ``radius`` in l2 norm in all, under Gaussian lower-level noise N(0, sigma^2) (§14):
    ``q * Phi(Phi^-1((p - 1 + q) / q) - radius / sigma)`` with ``q = p_select^r``, 0 where
    ``p <= 1 - q``.

    Args:
        p_lower (float or np.ndarray): lower bound on the top class's probability.
        p_select (float): probability in (0, 1] that a row gets lower-level noise.
        r (int): number of nodes the adversary controls.
        sigma (float): standard deviation of the lower-level Gaussian noise, > 0.
        radius (float): l2 norm of the change of the r controlled rows in all, >= 0.
        num_nodes (int, optional): N, to reject ``r > N``.

    Returns:
        float or np.ndarray: the worst case, a float for a float ``p_lower``, else an array of
        its shape.
    """
    p_sel, r = _check_upper(p_select, r, num_nodes)
    sigma = check_real(sigma, "sigma", "(0, inf)")
    eps = check_real(radius, "radius", "[0, inf)")
    p = check_probabilities(p_lower, "p_lower")
    if r == 0 or eps == 0:
        return _result(p.copy(), p_lower)
    q = p_sel ** r
    t = np.clip((p - (1.0 - q)) / q, 0.0, 1.0)
    out = np.where(t > 0, q * norm.cdf(norm.ppf(t) - eps / sigma), 0.0)
    return _result(out, p_lower)


def hierarchical_gaussian_certified(p_lower, p_select, r, sigma, radius, *, p_upper=None,
                                    num_nodes=None):
    """Binary (``p_upper`` None: worst case above 1/2) or multi-class (worst case of the top
    class above the best case ``1 - worst(1 - p_upper)`` of the runner-up) certificate for
    Gaussian lower-level noise (§14).

    Args:
        p_lower (float or np.ndarray): lower bound on the top class's probability.
        p_select (float): probability in (0, 1] that a row gets lower-level noise.
        r (int): number of nodes the adversary controls.
        sigma (float): standard deviation of the lower-level Gaussian noise, > 0.
        radius (float): l2 norm of the change of the r controlled rows in all, >= 0.
        p_upper (float or np.ndarray, optional): upper bound on the runner-up's probability;
            None: binary variant.
        num_nodes (int, optional): N, to reject ``r > N``.

    Returns:
        bool or np.ndarray: certified or not, of ``p_lower``'s shape.
    """
    low = hierarchical_gaussian_worst_case(p_lower, p_select, r, sigma, radius,
                                           num_nodes=num_nodes)
    if p_upper is None:
        return np.asarray(low) > 0.5 if np.ndim(low) else low > 0.5
    rival = check_probabilities(p_upper, "p_upper")
    high = 1.0 - np.asarray(hierarchical_gaussian_worst_case(1.0 - rival, p_select, r, sigma,
                                                             radius))
    ok = np.asarray(low) > high
    return bool(ok) if ok.ndim == 0 else ok
