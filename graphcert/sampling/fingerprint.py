"""Fingerprints of what produced a set of scores: the model, its scoring transform and the data.

Monte Carlo statistics hold only for the exact function that was sampled, so every statistics
checkpoint records ``scores_fingerprint(model, x, edge_index)`` and `engine.smooth` never
merges statistics of another fingerprint (docs/theory.md §3: the votes of two models are no
sample of either). The fingerprint is a SHA-256 over, in a fixed order:

* the model: for every submodule (by name) the digest of its class's code
  (`graphcert.sampling.code_fingerprint`: the code in the user's files, a library's version
  and source), every parameter and buffer (name, dtype, shape and bytes) and every other
  attribute, private ones (``_x``) and containers included: numbers, strings, tensors,
  lists and dicts of them, functions (their code), forward hooks, objects (their class and
  attributes). Only torch's own bookkeeping, the ``training`` flag and what is derived from
  the class's code are left out. An attribute that cannot be described makes the fingerprint
  unique to this call, with a warning that names the model: its statistics are resampled,
  never reused;
* the data the model sees besides the noise: ``x`` and ``edge_index`` (dense or sparse
  tensors, numpy or scipy arrays, dataclasses of those);
* optional ``settings``: a JSON-like mapping of anything else that shapes the scores.

The noise and the sampling settings are matched separately (`SmoothingStats.mismatch`).
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import logging
import math
import os
import types
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch

from graphcert.sampling.code_fingerprint import CodeUnknown, code_digest

__all__ = ["scores_fingerprint"]

logger = logging.getLogger("graphcert.sampling")

_PLAIN = (type(None), bool, int, float, str)
_FORMAT = b"graphcert scores fingerprint v2"  # v2: code and every attribute of the model
#: torch.nn.Module's own bookkeeping: parameters, buffers and submodules are fed by name, the
#: model is evaluated in eval mode, and state-dict and backward hooks leave the forward alone
_BOOKKEEPING = frozenset({
    "_parameters", "_buffers", "_modules", "_non_persistent_buffers_set", "training",
    "_is_full_backward_hook", "_backward_hooks", "_backward_pre_hooks", "_state_dict_hooks",
    "_state_dict_pre_hooks", "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
    "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
    "_forward_pre_hooks_with_kwargs"})
#: attributes derived from the class's code alone (its digest covers them): the method
#: signatures torch_geometric's MessagePassing reads from its class
_DERIVED = frozenset({"inspector"})
_CODE = (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType,
         functools.partial, staticmethod, classmethod, property)


class _Unknown(Exception):
    """An attribute of the model that cannot be described (`where` names it)."""

    def __init__(self, where: str):
        super().__init__(where)
        self.where = where


def scores_fingerprint(model: torch.nn.Module, x: Any, edge_index: Any,
                       settings: Mapping[str, Any] | None = None) -> str:
    """``"sha256:<hex>"`` of the model (weights and settings), the data and `settings`.

    Args:
        model (torch.nn.Module): the base classifier.
        x (Any): the input.
        edge_index (Any): the graph.
        settings (Mapping[str, Any], optional): further settings that change the scores.

    Returns:
        str: ``"sha256:<hex>"``.
    """
    digest = hashlib.sha256(_FORMAT)
    try:
        _feed_model(digest, model)
    except _Unknown as unknown:
        name = f"{type(model).__module__}.{type(model).__qualname__}"
        logger.warning("the fingerprint of model %s cannot describe its attribute %s: its "
                       "statistics are never reused (sampled afresh on every run)", name,
                       unknown.where)
        digest.update(os.urandom(32))
    _feed(digest, (x, edge_index))
    _feed(digest, dict(settings or {}))
    return "sha256:" + digest.hexdigest()


def _feed_model(digest, model: torch.nn.Module) -> None:
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model is a {type(model).__name__}, not a torch.nn.Module: its "
                         "scores cannot be fingerprinted; pass fingerprint= explicitly")
    for name, module in sorted(model.named_modules(remove_duplicate=False),
                               key=lambda item: item[0]):
        _feed(digest, (name, _code(type(module), name)))
        tensors = dict(module.named_parameters(recurse=False))
        tensors.update(module.named_buffers(recurse=False))
        _feed(digest, tensors)
        state = {key: value for key, value in vars(module).items()
                 if key not in _BOOKKEEPING and key not in _DERIVED}
        _feed_state(digest, state, name or "(model)", set())


def _code(obj: Any, where: str) -> str:
    try:
        return code_digest(obj)
    except CodeUnknown as error:
        raise _Unknown(f"{where} ({error.what})") from None


def _feed_state(digest, value: Any, where: str, seen: set[int]) -> None:
    """Add an attribute of a module: its value, or its code for functions and classes."""
    if isinstance(value, (*_PLAIN, torch.Tensor, np.ndarray)) or sp.issparse(value):
        _feed(digest, value)
    elif isinstance(value, (torch.dtype, torch.device, torch.layout, enum.Enum)):
        _tagged(digest, "token", repr(value).encode())
    elif isinstance(value, (tuple, list)):
        _tagged(digest, "seq", str(len(value)).encode())
        for i, item in enumerate(value):
            _feed_state(digest, item, f"{where}[{i}]", seen)
    elif isinstance(value, (set, frozenset)):
        parts = []
        for item in value:
            part = hashlib.sha256()
            _feed_state(part, item, f"{where} item", seen)
            parts.append(part.digest())
        _tagged(digest, "set", b"".join(sorted(parts)))
    elif isinstance(value, Mapping):
        if all(isinstance(k, int) for k in value) and all(map(callable, value.values())):
            value = list(value.values())  # hooks by handle id: ids differ between processes
            _feed_state(digest, value, where, seen)
            return
        _tagged(digest, "map", str(len(value)).encode())
        for key in sorted(value, key=str):
            _feed(digest, str(key))
            _feed_state(digest, value[key], f"{where}.{key}", seen)
    elif isinstance(value, _CODE) or callable(value) and not hasattr(value, "__dict__"):
        _tagged(digest, "code", _code(value, where).encode())
    elif hasattr(value, "__dict__") and id(value) not in seen:
        seen.add(id(value))  # objects: their class's code and their attributes
        _tagged(digest, "object", _code(type(value), where).encode())
        _feed_state(digest, vars(value), where, seen)
    elif hasattr(value, "__dict__"):
        _tagged(digest, "again", type(value).__qualname__.encode())
    else:
        raise _Unknown(f"{where} ({type(value).__module__}.{type(value).__qualname__})")


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
