"""The outputs of a collective certificate: (group, radius) pairs and their quantization
(docs/theory.md §5, App. E)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphcert.utils.validation import check_float_vector, check_target_mask


def quantize_eta(eta, out_group, milp_bins: int) -> np.ndarray:
    """Round positive radii DOWN to ``milp_bins`` values per group (docs/theory.md §5, LRS §E.2).

    The values are ``milp_bins`` evenly spaced edges from the group's smallest to its largest
    radius (both kept exactly); each radius maps to the largest edge ``<= eta``. Starting at
    the smallest radius rather than 0 means no certifiable output is lost to a zero bin.

    Args:
        eta (array_like): positive finite radii, (n,).
        out_group (array_like): group of each radius, (n,).
        milp_bins (int): values per group, >= 1.

    Returns:
        np.ndarray: float64 (n,), each <= its eta.
    """
    eta = check_float_vector(eta, "eta")
    group = np.asarray(out_group)
    if group.shape != eta.shape:
        raise ValueError("out_group must have the same shape as eta")
    if isinstance(milp_bins, bool) or int(milp_bins) != milp_bins or milp_bins < 1:
        raise ValueError(f"milp_bins must be a positive integer, got {milp_bins}")
    if np.any(eta <= 0) or not np.all(np.isfinite(eta)):
        raise ValueError("quantize_eta needs positive finite radii")
    out = np.empty_like(eta)
    for k in np.unique(group):
        sel = group == k
        edges = np.linspace(eta[sel].min(), eta[sel].max(), int(milp_bins))  # exact end points
        out[sel] = edges[np.searchsorted(edges, eta[sel], side="right") - 1]
    return out


@dataclass(frozen=True)
class OutputPairs:
    """Distinct (group, eta) pairs of the targeted, non-abstaining outputs, sorted."""

    group: np.ndarray  # index into ``groups``
    eta: np.ndarray
    count: np.ndarray
    groups: np.ndarray  # original group ids that occur
    of_output: np.ndarray | None = None  # pair of every output, -1 where it is not counted

    @property
    def total(self) -> int:
        return int(self.count.sum())

    def monotone_links(self) -> tuple[np.ndarray, np.ndarray]:
        """Index pairs (lo, hi) of consecutive etas within a group (eta[lo] < eta[hi])."""
        same = self.group[1:] == self.group[:-1]
        lo = np.flatnonzero(same)
        return lo, lo + 1


def output_pairs(eta: np.ndarray, out_group: np.ndarray, targets, milp_bins: int | None,
           infinite: np.ndarray | None = None) -> OutputPairs:
    """The (group, eta) pairs of the targeted outputs with eta > 0. Only finite radii are
    quantized; an infinite radius becomes ``infinite[group]`` if given (a radius no finite
    weighted change reaches), else stays +inf."""
    keep = check_target_mask(targets, eta.size) & (eta > 0)
    eta, group = eta[keep].copy(), out_group[keep]
    finite = np.isfinite(eta)
    if milp_bins is not None and finite.any():
        eta[finite] = quantize_eta(eta[finite], group[finite], milp_bins)
    if infinite is not None:
        eta[~finite] = infinite[group[~finite]]
    groups, group_idx = np.unique(group, return_inverse=True)
    keys = np.stack([group_idx.astype(float), eta], axis=1).reshape(-1, 2)
    uniq, inverse, count = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    of_output = np.full(keep.size, -1, dtype=np.int64)
    of_output[keep] = inverse.ravel()
    return OutputPairs(uniq[:, 0].astype(np.int64), uniq[:, 1], count, groups, of_output)


def beyond_finite_change(blocks: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Per output group, a radius above any finite weighted change: ``1 + 2 sum`` of the
    finite weights times the capacities over all ``(weights (groups, units), capacity)``
    blocks. An infinite radius replaced by it is broken exactly when an infinite weight is
    used (inf < inf is false), as docs/theory.md §5's "change < eta" says, and the programs stay
    finite."""
    total = sum(np.where(np.isfinite(w), w, 0.0) @ cap for w, cap in blocks)
    return 1.0 + 2.0 * total
