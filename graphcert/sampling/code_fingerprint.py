"""What a model computes, as far as its code says: digests of classes and functions.

Statistics are sampled from a function, so the fingerprint of a model
(`graphcert.sampling.fingerprint`) covers its code besides its weights (docs/theory.md §3):

* code of an installed library (the standard library, site-packages): the module's name, the
  version of its package and a digest of the module's source file;
* any other code (the user's file, a notebook, this checkout): the compiled code of the class's
  methods, or of the function, and, transitively, of every function and class it refers to by
  a global name, plus the global constants it reads; a module it reads names from contributes
  every function, class and constant defined there. Editing a comment or a function's
  docstring changes nothing; editing what runs changes the digest, wherever in the user's
  files it is.

What cannot be described this way (an object of a C extension held in a global, code without
compiled form) is reported as unknown: the caller must then resample rather than reuse.
"""
from __future__ import annotations

import functools
import hashlib
import sys
import sysconfig
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["CodeUnknown", "code_digest", "is_library_module"]

_PLAIN = (type(None), bool, int, float, complex, str, bytes)
_NO_DOCSTRING = object()  # `_Walker._code` of nested code: no docstring slot


def _roots(*keys: str) -> tuple[str, ...]:
    return tuple(sorted({str(Path(p).resolve()) for key in keys
                         if (p := sysconfig.get_paths().get(key))}))


_STDLIB_ROOTS = _roots("stdlib", "platstdlib")
_LIBRARY_ROOTS = _roots("stdlib", "platstdlib", "purelib", "platlib")


class CodeUnknown(ValueError):
    """The code of an object cannot be described; ``what`` says which object.

    Args:
        what (str): the object whose code cannot be described.
    """

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def is_library_module(name: str) -> bool:
    """Whether module `name` is installed library code (built in, standard library or
    site-packages), whose version and source file identify it.

    Args:
        name (str): dotted module name.

    Returns:
        bool: whether it is library code (False for a module not imported).
    """
    module = sys.modules.get(name)
    if module is None:
        return False
    path = getattr(module, "__file__", None)
    if path is None:
        return name in sys.builtin_module_names or name.split(".")[0] in ("torch", "builtins")
    return _in_library(path)


@functools.lru_cache(maxsize=4096)
def _in_library(path: str) -> bool:
    return str(Path(path).resolve()).startswith(_LIBRARY_ROOTS)


def code_digest(obj: Any) -> str:
    """``"sha256:<hex>"`` of the code of class or function `obj` (see the module docstring);
    `CodeUnknown` names what cannot be described.

    Args:
        obj (Any): a class or function.

    Returns:
        str: ``"sha256:<hex>"``.
    """
    digest = hashlib.sha256(b"graphcert code v1")
    _Walker(digest).visit(obj)
    return "sha256:" + digest.hexdigest()


class _Walker:
    """Feeds the code reachable from one object into a digest, each object once."""

    def __init__(self, digest):
        self.digest = digest
        self.seen: set[int] = set()
        self.kept: list[Any] = []  # keeps visited objects alive: their ids stay unique

    def put(self, tag: str, payload: bytes | str) -> None:
        payload = payload.encode() if isinstance(payload, str) else payload
        self.digest.update(f"{tag}:{len(payload)}:".encode())
        self.digest.update(payload)

    def visit(self, obj: Any) -> None:
        if isinstance(obj, _PLAIN):
            self.put(type(obj).__name__, repr(obj))
            return
        if isinstance(obj, (torch.Tensor, np.ndarray)):
            array = obj.detach().cpu().numpy() if isinstance(obj, torch.Tensor) else obj
            if array.dtype.hasobject:
                raise CodeUnknown("object array")
            self.put("array", f"{array.dtype.str} {array.shape}")
            self.put("bytes", np.ascontiguousarray(array).tobytes())
            return
        if isinstance(obj, dict):
            self.put("map", str(len(obj)))
            for key in sorted(obj, key=str):
                self.visit(str(key))
                self.visit(obj[key])
            return
        if isinstance(obj, (tuple, list, frozenset, set)):
            items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
            self.put("seq", str(len(items)))
            for item in items:
                self.visit(item)
            return
        if id(obj) in self.seen:
            self.put("again", _qualified(obj))
            return
        self.seen.add(id(obj))
        self.kept.append(obj)
        if isinstance(obj, types.ModuleType):
            self._module(obj)
        elif isinstance(obj, type):
            self._class(obj)
        elif isinstance(obj, (staticmethod, classmethod)):
            self.visit(obj.__func__)
        elif isinstance(obj, property):
            self.put("property", "")
            for part in (obj.fget, obj.fset, obj.fdel):
                self.visit(part)
        elif isinstance(obj, functools.partial):
            self.put("partial", "")
            self.visit(obj.func)
            self.visit(obj.args)
            self.visit(sorted(obj.keywords.items()))
        elif isinstance(obj, types.MethodType):
            self.visit(obj.__func__)
        elif isinstance(obj, types.FunctionType):
            self._function(obj)
        elif isinstance(obj, types.CodeType):
            self._code(obj, {})
        elif callable(obj) and getattr(obj, "__module__", None) and \
                getattr(obj, "__qualname__", None):  # builtins, ufuncs, C functions
            self._library(obj.__module__, obj.__qualname__)
        else:
            raise CodeUnknown(f"{type(obj).__module__}.{type(obj).__qualname__} object")

    def _library(self, module: str, name: str) -> None:
        self.put("library", f"{module}:{name}:{_version(module)}:{_source_digest(module)}")

    def _module(self, module: types.ModuleType) -> None:
        """A module the code reads names from: a library by version and source, a user's
        module by everything it defines (functions, classes, constants)."""
        if is_library_module(module.__name__):
            self._library(module.__name__, "")
            return
        self.put("module", module.__name__)
        for name, value in sorted(vars(module).items(), key=lambda item: item[0]):
            if name.startswith("__"):
                continue
            defined_here = getattr(value, "__module__", None) == module.__name__
            if defined_here and isinstance(value, (type, types.FunctionType)) or \
                    isinstance(value, _PLAIN):
                self.put("name", name)
                self._value(value, f"{module.__name__}.{name}")

    def _class(self, cls: type) -> None:
        if cls.__module__ in ("builtins", "abc", "typing") or is_library_module(cls.__module__):
            self._library(cls.__module__, cls.__qualname__)
            return
        self.put("class", f"{cls.__qualname__}")
        for base in cls.__bases__:
            self.visit(base)
        for name, value in sorted(vars(cls).items(), key=lambda item: item[0]):
            if name in ("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__",
                        "__annotations__", "_abc_impl", "__parameters__", "__orig_bases__",
                        "__static_attributes__", "__firstlineno__"):
                continue
            self.put("name", name)
            self._value(value, f"{cls.__qualname__}.{name}")

    def _value(self, value: Any, where: str) -> None:
        """A class attribute or global the code reads: code and constants are followed, other
        objects contribute their type (their state is not the code's)."""
        try:
            self.visit(value)
        except CodeUnknown:
            self.put("object", f"{type(value).__module__}.{type(value).__qualname__}")

    def _function(self, function: types.FunctionType) -> None:
        module = getattr(function, "__module__", None) or ""
        if is_library_module(module):
            self._library(module, function.__qualname__)
            return
        self.put("function", function.__qualname__)
        self.visit(function.__defaults__ or ())
        self.visit(sorted((function.__kwdefaults__ or {}).items()))
        for cell in function.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                contents = None
            self._value(contents, f"{function.__qualname__} closure")
        self._code(function.__code__, function.__globals__, function.__doc__)

    def _code(self, code: types.CodeType, globals_: dict, doc: object = _NO_DOCSTRING) -> None:
        self.put("code", code.co_code)
        self.visit(code.co_names)
        self.visit(code.co_varnames)
        consts = code.co_consts
        if consts and type(consts[0]) is type(doc) and consts[0] == doc:
            consts = consts[1:]  # a function's docstring (or None in its place) is not code
        for const in consts:
            if isinstance(const, types.CodeType):
                self._code(const, globals_)
            else:
                self.visit(const) if isinstance(const, (*_PLAIN, tuple, frozenset)) \
                    else self.put("const", repr(type(const)))
        for name in code.co_names:
            if name in globals_ and not name.startswith("__"):
                self.put("global", name)
                self._value(globals_[name], name)


@functools.lru_cache(maxsize=None)
def _version(module: str) -> str:
    """The version of the package that holds `module` (its ``__version__``, Python's for the
    standard library, else empty)."""
    top = sys.modules.get(module.split(".")[0])
    path = getattr(top, "__file__", None)
    if path is None or str(Path(path).resolve()).startswith(_STDLIB_ROOTS):
        return sys.version
    return str(getattr(top, "__version__", ""))  # the source digest identifies the rest


@functools.lru_cache(maxsize=None)
def _source_digest(module: str) -> str:
    """sha256 of a module's source file ("" for built-in modules)."""
    path = getattr(sys.modules.get(module), "__file__", None)
    if path is None or not Path(path).is_file():
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _qualified(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{getattr(obj, '__module__', '')}.{name}"

