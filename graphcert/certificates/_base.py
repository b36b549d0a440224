"""The per-output result every base certificate produces."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BaseCertificate:
    """Per-output base certificates: prediction, radius (``-inf`` = abstain), output group.

    Args:
        predicted (np.ndarray): predicted class per output, int64 (n,).
        eta (np.ndarray): certified radius per output, float64 (n,); ``-inf`` abstains.
        group (np.ndarray): output group per output (the smoothing distribution), int64 (n,).
    """

    predicted: np.ndarray
    eta: np.ndarray
    group: np.ndarray

    def __post_init__(self) -> None:
        predicted = np.asarray(self.predicted, dtype=np.int64)
        eta = np.asarray(self.eta, dtype=np.float64)
        group = np.asarray(self.group, dtype=np.int64)
        if not predicted.shape == eta.shape == group.shape or eta.ndim != 1:
            raise ValueError(f"predicted {predicted.shape}, eta {eta.shape}, group {group.shape} "
                             "must be equal 1-D shapes")
        if np.isnan(eta).any():
            raise ValueError("eta contains NaN (use -inf to abstain)")
        object.__setattr__(self, "predicted", predicted)
        object.__setattr__(self, "eta", eta)
        object.__setattr__(self, "group", group)

    @property
    def abstained(self) -> np.ndarray:
        """True where the output certifies nothing (``eta <= 0``, e.g. ``-inf``)."""
        return ~(self.eta > 0)
