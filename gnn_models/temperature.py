"""Temperature scaling of a model's logits, to choose the base classifier's score function.

The variance-constrained certificate (docs/theory.md §3) holds for any base classifier g mapping to
the probability simplex, so smoothing softmax(logits / T) instead of softmax(logits) is as
sound as the original; it only changes which smoothed classifier is certified. T < 1 makes
the scores sharper (more confident nodes pass mu > 1/2); T = 0 smooths one-hot predictions,
i.e. the vote frequencies: the wrapper then returns the logarithm of the one-hot vote (0 for
the predicted class, -inf elsewhere), whose softmax is exactly the one-hot vector.
"""
from __future__ import annotations

import torch
from torch import Tensor


class ScaledLogits(torch.nn.Module):
    """Wrap `model` so that its logits are divided by `temperature` (0: one-hot argmax; NaN
    where the model's largest logit is not finite).

    Args:
        model (torch.nn.Module): the base classifier.
        temperature (float): T >= 0.

    Shapes:
        - ``forward(x, edge_index)``: the inputs of `model`; returns its logits (..., C)
          divided by T (T = 0: 0 at the argmax, -inf elsewhere).
        - ``batching``, ``sparse_input``, ``prepare_graph``: those of `model`
          (`graphcert.sampling.batching`).

    The docstrings of these methods and properties stay as they are: the code fingerprint of
    every statistics file sampled through this wrapper hashes them
    (`graphcert.sampling.code_fingerprint`); the class docstring is not hashed.
    """

    def __init__(self, model: torch.nn.Module, temperature: float):
        super().__init__()
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        self.model = model
        self.temperature = float(temperature)

    # the wrapped model's batching contract (graphcert.sampling.batching)
    @property
    def batching(self) -> str:
        """The wrapped model's way of taking a batch of copies (default "union")."""
        return getattr(self.model, "batching", "union")

    @property
    def sparse_input(self) -> bool:
        """Whether the wrapped model takes sparse features."""
        return getattr(self.model, "sparse_input", False)

    @property
    def prepare_graph(self):
        """The wrapped model's `prepare_graph` hook (AttributeError where it has none)."""
        return self.model.prepare_graph  # AttributeError (no such hook) if the model has none

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Log-scores of the wrapped model's logits at this temperature.

        Args:
            x (Tensor): the wrapped model's features, (N, D) or (B, N, D).
            edge_index (Tensor): its graph input.

        Returns:
            Tensor: (N, C) or (B, N, C): logits / T, or at T = 0 the log of the one-hot vote.
        """
        logits = self.model(x, edge_index)
        if self.temperature == 0:  # log of the one-hot vote
            vote = torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1])
            log_vote = torch.zeros_like(logits).masked_fill_(vote == 0, float("-inf"))
            # an output without finite largest logit has no argmax: it stays NaN (never a
            # vote for class 0, where argmax puts NaN); one whose logits are all -inf
            # abstains (no class) and stays so
            finite = torch.isfinite(logits.amax(-1, keepdim=True))
            abstains = torch.isneginf(logits).all(-1, keepdim=True)
            return torch.where(finite, log_vote, torch.where(
                abstains, logits, torch.full_like(log_vote, float("nan"))))
        return logits / self.temperature
