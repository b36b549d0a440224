"""Non-finite logits never become votes: a noisy copy whose logits hold NaN or +inf for an
output has no argmax and no softmax there, so a chunk with such a copy is refused as a whole
(docs/theory.md §3: every sample must be a draw of the base classifier's output). Logits that
are all -inf are an abstention, a valid outcome (docs/theory.md §10)."""
from __future__ import annotations

import numpy as np

__all__ = ["NonFiniteLogits", "non_finite_copies"]


class NonFiniteLogits(ValueError):
    """``bad`` of ``copies`` noisy copies had an output without finite largest logit.

    Args:
        bad (int): copies with a non-finite output.
        copies (int): copies of the chunk.
        model (str): how the message names the model.
    """

    def __init__(self, bad: int, copies: int, model: str = "the model"):
        self.bad, self.copies, self.model = bad, copies, model
        super().__init__(f"{model} returned NaN or infinite logits for {bad} of {copies} "
                         f"noisy copies ({bad / copies:.1%}) of a chunk; such outputs are no "
                         "votes for any class, so nothing is certified: fix the model (e.g. a "
                         "division by zero, log of 0, float16 overflow) and rerun")

    def naming(self, model: str) -> "NonFiniteLogits":
        """The same error naming `model`.

        Args:
            model (str): the model's name.

        Returns:
            NonFiniteLogits: a new error.
        """
        return NonFiniteLogits(self.bad, self.copies, model)

    def __reduce__(self):  # executors ship it between processes
        return NonFiniteLogits, (self.bad, self.copies, self.model)


def non_finite_copies(logits: np.ndarray) -> int:
    """How many copies of a batch of logits (B, n, Y) have an output whose largest logit is
    NaN (NaN anywhere in it) or +inf; -inf entries mask classes, and an output whose logits
    are all -inf abstains (`graphcert.sampling.abstention`, docs/theory.md §10): a valid
    outcome, not a failure.

    Args:
        logits (np.ndarray): logits, shape (B, n, Y).

    Returns:
        int: the number of such copies.
    """
    top = logits.max(axis=-1)  # NaN where a row holds NaN
    if np.isfinite(top).all():
        return 0
    return int((np.isnan(top) | np.isposinf(top)).reshape(len(logits), -1).any(axis=1).sum())
