"""The model of a run: a registered name (``appnp``, ``gat``, ``gcn``) or a user's class.

``model: path/to/file.py:ClassName`` (or ``package.module:ClassName``) certifies any
``torch.nn.Module`` with ``forward(x, edge_index) -> logits (N, C)``; its constructor takes
``(in_features, num_classes, **model_params)`` like the registered models. It is trained by
the run, or loaded from a state dict (``weights``). How noisy batches reach it is its batching
contract (`graphcert.sampling.batching`).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

import torch

from gnn_models import MODELS, get_model

__all__ = ["build_model", "is_model_spec", "model_class"]


def is_model_spec(model: str) -> bool:
    """Whether `model` names a class (``file.py:Class`` or ``module:Class``), not a
    registered model.

    Args:
        model (str): the model setting.

    Returns:
        bool: whether it contains ``":"``.
    """
    return ":" in model


def model_class(spec: str) -> type[torch.nn.Module]:
    """The class named by ``path/to/file.py:ClassName`` or ``package.module:ClassName``.

    Args:
        spec (str): ``path/to/file.py:ClassName`` or ``package.module:ClassName``.

    Returns:
        type[torch.nn.Module]: the class.
    """
    where, _, name = spec.rpartition(":")
    if not where or not name.isidentifier():
        raise ValueError(f"model == {spec!r}, must be a registered name {sorted(MODELS)}, "
                         "'path/to/file.py:ClassName' or 'package.module:ClassName'")
    if where.endswith(".py"):
        path = Path(where).resolve()
        if not path.is_file():
            raise ValueError(f"model {spec!r}: file {path} not found")
        # one module per path and content: a file edited since it was imported is imported
        # again (its classes are other classes, with other code fingerprints)
        module_name = "graphcert_user_model_" + "_".join(
            hashlib.sha256(key).hexdigest()[:12] for key in (str(path).encode(),
                                                             path.read_bytes()))
        module = sys.modules.get(module_name)
        if module is None:
            loader = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[module_name] = module  # classes defined there can be pickled
            try:
                loader.loader.exec_module(module)
            except SyntaxError as error:
                del sys.modules[module_name]
                raise ValueError(f"model {spec!r}: {path} line {error.lineno}: "
                                 f"{error.msg}") from None
            except Exception as error:  # the user's code failed at import
                del sys.modules[module_name]
                raise ValueError(f"model {spec!r}: importing {path} failed: "
                                 f"{type(error).__name__}: {error}") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as error:
            raise ValueError(f"model {spec!r}: cannot import {where!r} ({error})") from error
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ValueError(f"model {spec!r}: {where} defines no torch.nn.Module class {name!r}")
    return cls


def build_model(spec: str, in_features: int, num_classes: int, **params) -> torch.nn.Module:
    """A new model: ``get_model(spec, ...)`` for a registered name, else the user's class
    called with ``(in_features, num_classes, **params)``.

    Args:
        spec (str): a registered name or ``file.py:Class`` / ``module:Class``.
        in_features (int): feature dimension D.
        num_classes (int): number of classes C.
        **params: keyword arguments of the model.

    Returns:
        torch.nn.Module: the model.
    """
    if not is_model_spec(spec):
        return get_model(spec, in_features, num_classes, **params)
    return model_class(spec)(in_features, num_classes, **params)
