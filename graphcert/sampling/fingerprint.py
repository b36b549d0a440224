"""Fingerprints of what produced a set of scores: the model, its scoring transform and the data.

Monte Carlo statistics hold only for the exact function that was sampled, so every statistics
checkpoint records ``scores_fingerprint(model, x, edge_index)`` and `engine.smooth` never
merges statistics of another fingerprint (docs/theory.md §3: the votes of two models are no
sample of either). The fingerprint is a SHA-256 over, in a fixed order:

* the model: for every submodule (by name) its class, every parameter and buffer (name, dtype,
  shape and bytes) and every plain setting (numbers, strings, tensors: e.g. the temperature of
  `gnn_models.ScaledLogits`, the K and alpha of APPNP); ``training`` and private attributes
  are left out;
* the data the model sees besides the noise: ``x`` and ``edge_index`` (dense or sparse
  tensors, numpy or scipy arrays, dataclasses of those);
* optional ``settings``: a JSON-like mapping of anything else that shapes the scores.

The noise and the sampling settings are matched separately (`SmoothingStats.mismatch`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["scores_fingerprint"]

_PLAIN = (type(None), bool, int, float, str)


def scores_fingerprint(model: torch.nn.Module, x: Any, edge_index: Any,
                       settings: Mapping[str, Any] | None = None) -> str:
    """``"sha256:<hex>"`` of the model (weights and settings), the data and `settings`."""
    digest = hashlib.sha256(b"graphcert scores fingerprint v1")
    _feed_model(digest, model)
    _feed(digest, (x, edge_index))
    _feed(digest, dict(settings or {}))
    return "sha256:" + digest.hexdigest()


def _feed_model(digest, model: torch.nn.Module) -> None:
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model is a {type(model).__name__}, not a torch.nn.Module: its "
                         "scores cannot be fingerprinted; pass fingerprint= explicitly")
    for name, module in sorted(model.named_modules(remove_duplicate=False),
                               key=lambda item: item[0]):
        settings = {key: value for key, value in vars(module).items()
                    if not key.startswith("_") and key != "training" and _is_setting(value)}
        tensors = dict(module.named_parameters(recurse=False))
        tensors.update(module.named_buffers(recurse=False))
        _feed(digest, (name, f"{type(module).__module__}.{type(module).__qualname__}",
                       settings, tensors))


def _is_setting(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_is_setting(item) for item in value)
    return isinstance(value, (*_PLAIN, torch.Tensor, np.ndarray))


def _feed(digest, obj: Any) -> None:
    """Add an unambiguous encoding of `obj` (type tag, length, content) to `digest`."""
    if isinstance(obj, _PLAIN):
        text = repr(obj) if not isinstance(obj, float) or math.isfinite(obj) else str(obj)
        _tagged(digest, type(obj).__name__, text.encode())
    elif isinstance(obj, (tuple, list)):
        _tagged(digest, "seq", str(len(obj)).encode())
        for item in obj:
            _feed(digest, item)
    elif isinstance(obj, Mapping):
        _tagged(digest, "map", str(len(obj)).encode())
        for key in sorted(obj, key=str):
            _feed(digest, str(key))
            _feed(digest, obj[key])
    elif isinstance(obj, torch.Tensor):
        _feed_tensor(digest, obj)
    elif isinstance(obj, np.ndarray):
        _feed_array(digest, obj)
    elif sp.issparse(obj):
        csr = sp.csr_array(obj)
        _feed(digest, ("scipy_csr", csr.shape, csr.indptr, csr.indices, csr.data))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        _feed(digest, (type(obj).__qualname__,
                       {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}))
    else:
        raise ValueError(f"cannot fingerprint a {type(obj).__name__}; pass fingerprint= "
                         "explicitly")


def _feed_tensor(digest, tensor: torch.Tensor) -> None:
    tensor = tensor.detach()
    if tensor.layout == torch.strided:
        flat = tensor.cpu().contiguous().reshape(-1)
        _tagged(digest, "tensor", f"{flat.dtype} {tuple(tensor.shape)}".encode())
        digest.update(memoryview(flat.view(torch.uint8).numpy()))
    elif tensor.layout == torch.sparse_csr:
        _feed(digest, ("sparse_csr", tuple(tensor.shape), tensor.crow_indices(),
                       tensor.col_indices(), tensor.values()))
    else:
        coo = tensor.to_sparse_coo().coalesce()
        _feed(digest, ("sparse_coo", tuple(coo.shape), coo.indices(), coo.values()))


def _feed_array(digest, array: np.ndarray) -> None:
    if array.dtype.hasobject:
        raise ValueError("cannot fingerprint an object array; pass fingerprint= explicitly")
    _tagged(digest, "ndarray", f"{array.dtype.str} {array.shape}".encode())
    digest.update(memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8)))


def _tagged(digest, tag: str, payload: bytes) -> None:
    digest.update(f"{tag}:{len(payload)}:".encode())
    digest.update(payload)
