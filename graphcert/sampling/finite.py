"""Non-finite logits never become votes: a noisy copy whose logits hold NaN or +inf (or only
-inf) has no argmax and no softmax, so the Monte Carlo statistics refuse it (docs/theory.md
§3: every sample must be a draw of the base classifier's output)."""
from __future__ import annotations

import numpy as np

__all__ = ["NonFiniteLogits", "check_finite_logits"]


class NonFiniteLogits(ValueError):
    """A batch of logits with non-finite rows: ``bad`` of ``copies`` noisy copies."""

    def __init__(self, bad: int, copies: int, model: str = "the model"):
        self.bad, self.copies, self.model = bad, copies, model
        super().__init__(f"{model} returned NaN or infinite logits for {bad} of {copies} "
                         f"noisy copies ({bad / copies:.1%}) of a batch; such outputs are "
                         "no votes for any class: fix the model (e.g. a division by zero, "
                         "log of 0, or float16 overflow) before certifying it")

    def naming(self, model: str) -> "NonFiniteLogits":
        """The same error naming `model`."""
        return NonFiniteLogits(self.bad, self.copies, model)


def check_finite_logits(logits: np.ndarray) -> None:
    """Raise `NonFiniteLogits` unless every output of every copy in `logits` (B, n, Y) has no
    NaN, no +inf and a finite largest logit (-inf entries are masked classes, allowed)."""
    top = logits.max(axis=-1)  # NaN where a row holds NaN
    if np.isfinite(top).all():
        return
    bad = ~np.isfinite(top)
    raise NonFiniteLogits(int(bad.reshape(len(logits), -1).any(axis=1).sum()), len(logits))
