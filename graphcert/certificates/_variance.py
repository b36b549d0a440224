"""Variance-constrained base certificate for sparsity-aware noise (docs/theory.md §3; LRS Thm 5.1).

:func:`sparsity_aware_weights` gives the per-bit weights, :func:`localized_weight_matrices`
their (output group x input cluster) matrices, :func:`pair_weight_matrices` the per-pair weights
of structure noise (output group x cluster pair, docs/theory.md §8),
:func:`variance_constrained_radius` the radius eta; attributes and pairs are one product
distribution, so a joint perturbation is certified iff the attribute weights plus the pair weights
stay below eta. Radii follow one convention: ``eta = -inf`` means abstain.
"""
from __future__ import annotations

import numpy as np

from graphcert.utils.validation import check_probabilities


def _chi_term(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num**2 / den`` with the limits ``0/0 -> 0`` and ``c/0 -> inf`` (c > 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = num**2 / den
    return np.where(den > 0, t, np.where(num > 0, np.inf, 0.0))


def sparsity_aware_weights(theta_plus, theta_minus) -> tuple[np.ndarray, np.ndarray]:
    """Per-bit weights ``(gamma_plus, gamma_minus)`` of sparsity-aware noise (docs/theory.md §3).

    ``gamma_plus = ln(theta_minus^2 / (1 - theta_plus) + (1 - theta_minus)^2 / theta_plus)``
    (adding a bit), ``gamma_minus = ln((1 - theta_plus)^2 / theta_minus + theta_plus^2 /
    (1 - theta_minus))`` (deleting a bit). Each is ``ln sum_z pi_x'(z)^2 / pi_x(z)`` for one bit,
    so a term whose denominator vanishes is ``inf`` when its numerator is positive (x' puts mass
    where x has none: never certifiable) and 0 when both vanish. The true value is >= 0, so
    rounding below 0 is clipped.

    Args:
        theta_plus (array_like): 0 -> 1 flip probabilities.
        theta_minus (array_like): 1 -> 0 flip probabilities, broadcast with ``theta_plus``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``gamma_plus`` and ``gamma_minus`` of the broadcast
        shape, float64 >= 0 (inf where never certifiable).
    """
    tp, tm = np.broadcast_arrays(check_probabilities(theta_plus, "theta_plus"),
                                 check_probabilities(theta_minus, "theta_minus"))
    rho_plus = _chi_term(tm, 1.0 - tp) + _chi_term(1.0 - tm, tp)
    rho_minus = _chi_term(1.0 - tp, tm) + _chi_term(tp, 1.0 - tm)
    return np.maximum(np.log(rho_plus), 0.0), np.maximum(np.log(rho_minus), 0.0)


def localized_weight_matrices(theta_plus, theta_minus) -> tuple[np.ndarray, np.ndarray]:
    """Per-bit weights ``(W_plus, W_minus)`` of shape (C, C) for localized smoothing
    (docs/theory.md §2, §5).

    ``theta_*[i, j]`` is the flip probability that the distribution smoothing the outputs of
    cluster i (row = output group) applies to the attributes of nodes in cluster j (column =
    input cluster); scalars broadcast. For per-node units of the collective certificate, node
    u belongs to input cluster ``labels[u]`` so its weights are ``W[:, labels]``
    (i.e. unit_group = labels).

    Args:
        theta_plus (array_like): 0 -> 1 flip probabilities, (C, C) or broadcastable to it.
        theta_minus (array_like): 1 -> 0 flip probabilities, as ``theta_plus``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``W_plus`` and ``W_minus``, float64 (C, C).
    """
    w_plus, w_minus = sparsity_aware_weights(theta_plus, theta_minus)
    if w_plus.ndim != 2 or w_plus.shape[0] != w_plus.shape[1]:
        raise ValueError("theta matrices must broadcast to a square (C, C) shape, got "
                         f"{w_plus.shape}")
    return w_plus, w_minus


def pair_weight_matrices(p_plus, p_minus) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair weights ``(W_plus, W_minus)`` of shape (K, P) for structure noise
    (docs/theory.md §8).

    ``p_*[k, c]`` is the add / delete probability that the distribution of output group k
    applies to the node pairs of cluster pair column c (`graphcert.utils.pairs`); the
    weights are the §3 formulas with these probabilities: ``W_plus`` per added edge,
    ``W_minus`` per deleted edge. Scalars (isotropic noise) give (1, 1) matrices.

    Args:
        p_plus (array_like): edge addition probabilities, (K, P) or a scalar.
        p_minus (array_like): edge deletion probabilities, as ``p_plus``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``W_plus`` and ``W_minus``, float64 (K, P).
    """
    w_plus, w_minus = sparsity_aware_weights(p_plus, p_minus)
    if w_plus.ndim == 0:
        return w_plus.reshape(1, 1), w_minus.reshape(1, 1)
    if w_plus.ndim != 2:
        raise ValueError(f"p_plus and p_minus must broadcast to a (groups, cluster pairs) "
                         f"matrix, got shape {w_plus.shape}")
    return w_plus, w_minus


def variance_constrained_radius(mu_lower, zeta_upper) -> np.ndarray:
    """Radius ``eta = ln(1 + (mu - 1/2)^2 / zeta)`` if ``mu > 1/2`` else ``-inf``
    (docs/theory.md §3).

    ``zeta`` enters to the first power. ``zeta = 0`` with ``mu > 1/2`` gives ``+inf``.
    ``mu_lower`` may be below 0 (a vacuous lower bound) but not above 1; ``zeta_upper >= 0``.

    Args:
        mu_lower (array_like): lower bounds on the expected score mu, <= 1.
        zeta_upper (array_like): upper bounds on zeta >= 0, broadcast with ``mu_lower``.

    Returns:
        np.ndarray: eta of the broadcast shape, ``-inf`` where ``mu_lower <= 1/2``.
    """
    mu = np.asarray(mu_lower, dtype=np.float64)
    zeta = np.asarray(zeta_upper, dtype=np.float64)
    if np.isnan(mu).any() or np.isnan(zeta).any():
        raise ValueError("mu_lower and zeta_upper must not contain NaN")
    if np.any(mu > 1.0):
        raise ValueError("mu_lower must be <= 1 (it bounds an expected score in [0, 1])")
    if np.any(zeta < 0.0):
        raise ValueError("zeta_upper must be >= 0")
    mu, zeta = np.broadcast_arrays(mu, zeta)
    with np.errstate(divide="ignore"):
        eta = np.log1p((mu - 0.5) ** 2 / zeta)
    return np.where(mu > 0.5, eta, -np.inf)
