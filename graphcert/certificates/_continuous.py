"""Vote-based radii for continuous smoothing (docs/theory.md §4): Gaussian l2 (ANCER form),
isotropic Gaussian and anisotropic uniform l1. ``-inf`` means abstain."""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from graphcert.utils.validation import check_probabilities


def gaussian_l2_radius(p_lower) -> np.ndarray:
    """Anisotropic Gaussian certificate ``eta = Phi^{-1}(p_lower)^2`` (docs/theory.md §4, ANCER
    form).

    Certified if ``sum_d (x'_d - x_d)^2 / sigma_d^2 < eta``; ``-inf`` (abstain) if p <= 1/2.

    Args:
        p_lower (array_like): lower bounds on the top class's probability, any shape.

    Returns:
        np.ndarray: eta of ``p_lower``'s shape, ``-inf`` where ``p_lower <= 1/2``.
    """
    p = check_probabilities(p_lower, "p_lower")
    return np.where(p > 0.5, ndtri(p) ** 2, -np.inf)


def gaussian_radius(p_lower, sigma) -> np.ndarray:
    """Isotropic Gaussian l2 radius ``sigma * Phi^{-1}(p_lower)``; ``-inf`` if p <= 1/2
    (docs/theory.md §4).

    Args:
        p_lower (array_like): lower bounds on the top class's probability, any shape.
        sigma (float or array_like): noise standard deviation(s) > 0, broadcast with ``p_lower``.

    Returns:
        np.ndarray: l2 radii of the broadcast shape, ``-inf`` where ``p_lower <= 1/2``.
    """
    p = check_probabilities(p_lower, "p_lower")
    s = np.asarray(sigma, dtype=np.float64)
    if np.isnan(s).any() or np.any(s <= 0.0):
        raise ValueError("sigma must be positive")
    return np.where(p > 0.5, s * ndtri(p), -np.inf)


def uniform_l1_radius(p_lower) -> np.ndarray:
    """Anisotropic uniform l1 certificate ``eta = 2 p_lower - 1``; ``-inf`` if p <= 1/2
    (docs/theory.md §4).

    Certified if ``sum_d |x'_d - x_d| / lambda_d < eta``.

    Args:
        p_lower (array_like): lower bounds on the top class's probability, any shape.

    Returns:
        np.ndarray: eta of ``p_lower``'s shape, ``-inf`` where ``p_lower <= 1/2``.
    """
    p = check_probabilities(p_lower, "p_lower")
    return np.where(p > 0.5, 2.0 * p - 1.0, -np.inf)
