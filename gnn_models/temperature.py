"""Temperature scaling of a model's logits, to choose the base classifier's score function.

The variance-constrained certificate (SPEC §3) holds for any base classifier g mapping to
the probability simplex, so smoothing softmax(logits / T) instead of softmax(logits) is as
sound as the original; it only changes which smoothed classifier is certified. T < 1 makes
the scores sharper (more confident nodes pass mu > 1/2); T = 0 smooths one-hot predictions,
i.e. the vote frequencies.
"""
from __future__ import annotations

import torch
from torch import Tensor

HARD_LOGIT = 1e4  # softmax of one-hot * 1e4 is exactly one-hot in float32


class ScaledLogits(torch.nn.Module):
    """Wrap `model` so that its logits are divided by `temperature` (0: one-hot argmax)."""

    def __init__(self, model: torch.nn.Module, temperature: float):
        super().__init__()
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        self.model = model
        self.temperature = float(temperature)

    # the wrapped model's batching contract (graphcert.sampling.batching)
    @property
    def batching(self) -> str:
        return getattr(self.model, "batching", "union")

    @property
    def sparse_input(self) -> bool:
        return getattr(self.model, "sparse_input", False)

    @property
    def prepare_graph(self):
        return self.model.prepare_graph  # AttributeError (no such hook) if the model has none

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        logits = self.model(x, edge_index)
        if self.temperature == 0:
            hard = torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1])
            # an output whose logits are all -inf abstains (no class): it stays so
            abstains = torch.isneginf(logits).all(-1, keepdim=True)
            return torch.where(abstains, logits, hard.to(logits.dtype) * HARD_LOGIT)
        return logits / self.temperature
