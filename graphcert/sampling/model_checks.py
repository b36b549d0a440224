"""What a model must be before noisy copies of the data reach it: its weights materialized
(not on the ``meta`` device) and float32 like the copies (`graphcert.sampling.batching`)."""
from __future__ import annotations

import torch

__all__ = ["check_model_tensors"]


def check_model_tensors(model: torch.nn.Module, name: str = "model") -> None:
    """ValueError naming `name` and the first offending tensor if a parameter or buffer is on
    the meta device (no values) or is floating point of another dtype than float32.

    Args:
        model (torch.nn.Module): the model (any other callable passes).
        name (str): how the message names it.
    """
    if not isinstance(model, torch.nn.Module):
        return  # any callable: its inputs are its own business
    tensors = list(model.named_parameters()) + list(model.named_buffers())
    for key, tensor in tensors:
        if tensor.is_meta:
            raise ValueError(f"{name} has tensors on the meta device (no values, e.g. {key}); "
                             "load or initialize its weights (model.to_empty(device=...) and "
                             "load_state_dict) before certifying it")
    for key, tensor in tensors:
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            raise ValueError(f"{name} has {str(tensor.dtype).replace('torch.', '')} tensors "
                             f"(e.g. {key}), but the noisy copies of the data are float32: "
                             "convert it with model.float()")
