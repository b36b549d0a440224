"""Where Monte Carlo sampling runs: device names, per-chunk torch generators, and the chunk
statistics counted on an accelerator (docs/theory.md §3 Monte Carlo).

On the CPU the noise is drawn with numpy (`graphcert.sampling.streams`) and counted by
`ChunkCounts`. On an accelerator the noise is drawn there by a torch generator seeded from
the same per-chunk seed sequence, and the counts are made there too, so that a batch's
logits never leave the device; only the chunk's integer statistics do, once. A chunk's
samples are therefore reproducible on the same kind of device, not across devices.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from graphcert.sampling.abstention import abstaining_rows
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import SCORE_BITS, ChunkCounts, ChunkStats

__all__ = ["DeviceCounts", "resolve_device", "torch_generator"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` (CUDA when available, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...

    Args:
        device (str or torch.device): the requested device.

    Returns:
        torch.device: the device.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device == {device!r}, must be 'auto', 'cpu' or 'cuda'") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device == {device!r}, but torch sees no CUDA device "
                         "(torch.cuda.is_available() is False); use 'cpu' or 'auto'")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device == {device!r}, must be 'auto', 'cpu' or 'cuda'")
    return resolved


def torch_generator(rng: np.random.Generator, device: torch.device) -> torch.Generator:
    """A torch generator on `device` seeded from the seed sequence of the chunk's numpy
    generator `rng` (which is left untouched): the chunk's own stream on that device.

    Args:
        rng (np.random.Generator): the chunk's generator.
        device (torch.device): where to draw.

    Returns:
        torch.Generator: a seeded generator on ``device``.
    """
    sequence = getattr(rng.bit_generator, "seed_seq", None)
    if sequence is None:
        raise ValueError("the chunk generator has no seed sequence to seed a device stream from")
    seed = int(sequence.generate_state(1, np.uint64)[0])
    return torch.Generator(device=device).manual_seed(seed)


class DeviceCounts(ChunkCounts):
    """`ChunkCounts` accumulated on the device of the logits: the same integer statistics
    (votes, scores rounded down to multiples of 2^-16, histogram, sums), copied to numpy once,
    by `result`.

    Args:
        n_local (int): nodes of the chunk's cluster n_k.
        n_classes (int): number of classes Y.
        n_bins (int): histogram bins M.
        device (torch.device): where the counts accumulate.
    """

    _FIELDS = ("votes", "score_sum_q", "hist", "candidate_sum_q", "candidate_sq_sum_q")

    def __init__(self, n_local: int, n_classes: int, n_bins: int, device: torch.device):
        super().__init__(n_local, n_classes, n_bins)
        self.tensors = {name: torch.zeros(getattr(self, name).shape, dtype=torch.int64,
                                          device=device) for name in self._FIELDS}
        self.local = torch.arange(n_local, device=device)
        self.bad = torch.zeros((), dtype=torch.int64, device=device)  # read once, at the end

    def add(self, logits: Tensor, chosen: Tensor | None) -> None:
        """Add a batch (B, n_k, Y) of logits; `chosen` (n_k,) candidates in the main phase.

        Args:
            logits (Tensor): logits, shape (B, n_k, Y).
            chosen (Tensor, optional): candidate class per node, shape (n_k,), in the main phase.
        """
        batch, n_local, n_classes = logits.shape
        t = self.tensors
        top = logits.amax(-1)  # NaN or +inf: no valid output; all -inf: an abstention
        self.bad += (torch.isnan(top) | torch.isposinf(top)).any(-1).sum()
        keys = self.local * n_classes + logits.argmax(-1)
        abstain = abstaining_rows(logits)
        if abstain.any():  # no class, score 0 for every class (docs/theory.md §10)
            keys = keys[~abstain]
            logits = torch.where(abstain[..., None], 0.0, logits)
        t["votes"] += torch.bincount(keys.reshape(-1), minlength=n_local * n_classes).view(
            n_local, n_classes)
        scores = quantized_scores(logits)
        if abstain.any():
            scores[abstain] = 0
        self.n += batch
        if chosen is None:
            t["score_sum_q"] += scores.sum(0)
            return
        picked = scores[:, self.local, chosen]  # (B, n_k), units of 2^-16
        bins = torch.clamp_max((picked * self.n_bins) >> SCORE_BITS, self.n_bins - 1)
        t["hist"] += torch.bincount((self.local * self.n_bins + bins).reshape(-1),
                                    minlength=n_local * self.n_bins)
        t["candidate_sum_q"] += picked.sum(0)
        t["candidate_sq_sum_q"] += (picked * picked).sum(0)

    def result(self, config: MonteCarloConfig, noise: dict, phase: int, output_cluster: int,
               chunk: int, nodes: np.ndarray, chosen: np.ndarray | None) -> ChunkStats:
        """The chunk's statistics, copied to numpy (`ChunkCounts.result`).

        Args:
            config (MonteCarloConfig): the run's sample counts.
            noise (dict): the noise's ``describe()``.
            phase (int): ``PRE`` or ``MAIN``.
            output_cluster (int): the chunk's cluster.
            chunk (int): the chunk's index.
            nodes (np.ndarray): the cluster's nodes, shape (n_k,).
            chosen (np.ndarray, optional): candidates (n_k,) in the main phase.

        Returns:
            ChunkStats: the chunk's statistics.
        """
        for name, tensor in self.tensors.items():
            getattr(self, name)[...] = tensor.cpu().numpy()
        self.non_finite = int(self.bad)
        return super().result(config, noise, phase, output_cluster, chunk, nodes, chosen)


def quantized_scores(logits: Tensor) -> Tensor:
    """Softmax scores (float64) rounded down to int64 multiples of 2^-SCORE_BITS, as
    `graphcert.sampling.statistics` rounds them on the CPU."""
    z = logits.double()
    z = (z - z.amax(-1, keepdim=True)).exp_()
    z /= z.sum(-1, keepdim=True)
    return torch.floor_(z * 2**SCORE_BITS).long()
