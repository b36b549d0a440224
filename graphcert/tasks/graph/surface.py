"""What the adversary can flip: the attack surface of the attribute bits (docs/theory.md §5)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AttackSurface"]


@dataclass
class AttackSurface:
    """What the adversary can flip: per-node capacities (units are nodes, docs/theory.md §5).

    Args:
        cap_plus (np.ndarray): bits that can be added per node, (N,).
        cap_minus (np.ndarray): bits that can be deleted per node, (N,).
        local_budget (int, optional): changed bits allowed per node.
    """

    cap_plus: np.ndarray   # zeros per node (bits that can be added)
    cap_minus: np.ndarray  # ones per node (bits that can be deleted)
    local_budget: int | None = None

    @classmethod
    def from_attributes(cls, x, local_budget: int | None = None) -> "AttackSurface":
        """The zeros and ones of binary attributes `x`.

        Args:
            x (np.ndarray): binary attributes, shape (N, D).
            local_budget (int, optional): changed bits allowed per node.

        Returns:
            AttackSurface: the capacities.
        """
        ones = np.asarray(x.sum(-1)).astype(np.int64).ravel()
        return cls(x.shape[-1] - ones, ones, local_budget)

    @classmethod
    def fixed(cls, n_nodes: int) -> "AttackSurface":
        """No attribute bit can be flipped (structure threat model, docs/theory.md §8).

        Args:
            n_nodes (int): number of nodes N.

        Returns:
            AttackSurface: zero capacities.
        """
        zeros = np.zeros(int(n_nodes), dtype=np.int64)
        return cls(zeros, zeros.copy())
