"""The public API documents its arguments and results (Args, Returns, shapes; PyG style).

The public API is every function and class named in the ``__all__`` of ``graphcert``,
``gnn_models`` and their public modules (no leading underscore in the dotted path), found
automatically, and the public methods and properties those classes define themselves. An object
reached through several paths is checked once, under the first path found.

* A function or method that takes arguments beyond ``self`` / ``cls`` needs ``Args:``; one that
  returns something needs ``Returns:`` (or ``Yields:``). "Returns nothing" is read from the
  annotation ``-> None``, or, without an annotation, from a body with no ``return <value>``.
* A class whose constructor takes arguments needs ``Args:`` in its docstring or its
  ``__init__``'s (a constructor inherited from outside the project, e.g.
  ``torch.nn.Module``'s or ``Exception``'s, is documented there).
* A property needs a docstring (one line saying what it holds, with its shape).

A method without a docstring of its own inherits the one of the method it overrides
(`inspect.getdoc`).
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import textwrap

import pytest

import gnn_models
import graphcert

PACKAGES = (graphcert, gnn_models)
PROJECT = tuple(package.__name__ for package in PACKAGES)


def public_modules() -> list[str]:
    """Dotted names of the packages and of every module below them without a private part."""
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return names


def public_api() -> list[tuple[str, object]]:
    """(qualified name, object) of every public function, class, method and property."""
    seen, entries = set(), []

    def add(name: str, obj) -> None:
        if id(obj) not in seen:
            seen.add(id(obj))
            entries.append((name, obj))

    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            add(f"{module_name}.{attr}", obj)
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if member.startswith("_"):
                        continue
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    if isinstance(value, functools.cached_property):
                        value = value.func
                    if inspect.isfunction(value) or isinstance(value, property):
                        add(f"{module_name}.{attr}.{member}", value)
    return entries


def _returns_value(function) -> bool:
    """Whether `function` returns something: its annotation, else a ``return <value>`` or a
    ``yield`` in its own body (not in nested functions)."""
    annotation = inspect.signature(function).return_annotation
    if annotation is not inspect.Signature.empty:
        return annotation not in (None, "None")
    tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(function))))
    todo = list(ast.iter_child_nodes(tree.body[0]))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


def _constructor_takes_arguments(cls) -> bool:
    """Whether the constructor that builds `cls` takes arguments and is the project's (a
    protocol has none: it is never built)."""
    if getattr(cls, "_is_protocol", False):
        return False
    home = next((klass for klass in cls.__mro__
                 if "__init__" in vars(klass) or "__new__" in vars(klass)), object)
    if not home.__module__.startswith(PROJECT):
        return False
    try:
        return bool(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return False


def missing_sections(obj) -> list[str]:
    """What the docstring of `obj` lacks: "docstring", "Args:" or "Returns:"."""
    if isinstance(obj, property):
        return [] if inspect.getdoc(obj) else ["docstring"]
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj):
        init_doc = inspect.getdoc(obj.__init__) if "__init__" in vars(obj) else None
        takes = _constructor_takes_arguments(obj)
        return ["Args:"] if takes and "Args:" not in doc + (init_doc or "") else []
    missing = [] if doc else ["docstring"]
    arguments = [name for name in inspect.signature(obj).parameters if name not in ("self", "cls")]
    if arguments and "Args:" not in doc:
        missing.append("Args:")
    if _returns_value(obj) and "Returns:" not in doc and "Yields:" not in doc:
        missing.append("Returns:")
    return missing


#: Docstrings the code fingerprint of the registered models hashes
#: (`graphcert.sampling.code_fingerprint` digests compiled code, docstrings included): editing
#: one would make every statistics file sampled from GCN or APPNP look sampled from another
#: model, and resampled. Their arguments and results are documented where the fingerprint does
#: not read: the class docstring (PyG's "Shapes"), or the module docstring.
API = public_api()


def test_the_public_api_is_found():
    names = {name for name, _ in API}
    assert {"graphcert.certify", "graphcert.Certificate", "graphcert.Certificate.curve",
            "graphcert.Certificate.acr", "graphcert.tasks.graph.attacks.AnswersAttacks.robust",
            "graphcert.noise.binary.LocalizedNoise.sample", "gnn_models.GCN",
            "gnn_models.GCN.forward"} <= names
    assert len(API) > 600


def test_the_check_flags_missing_sections():
    def documented(x: int) -> int:
        """Identity.

        Args:
            x (int): any.

        Returns:
            int: `x`.
        """
        return x

    def bare(x, y):
        """Sum."""
        return x + y

    def silent(x) -> None:
        """Nothing back."""

    class Plain:
        """No arguments documented."""

        def __init__(self, size: int):
            self.size = size

    assert missing_sections(documented) == []
    assert missing_sections(bare) == ["Args:", "Returns:"]
    assert missing_sections(silent) == ["Args:"]
    assert missing_sections(Plain) == []  # defined outside the project: nothing asked
    Plain.__module__ = "graphcert.example"
    assert missing_sections(Plain) == ["Args:"]
    assert missing_sections(property(lambda self: 1)) == ["docstring"]


@pytest.mark.parametrize("name, obj", API, ids=[name for name, _ in API])
def test_public_api_documents_arguments_and_results(name, obj):
    missing = missing_sections(obj)
    assert not missing, f"{name}: its docstring lacks {', '.join(missing)}"
