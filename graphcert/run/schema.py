"""Typed configuration schemas: one declaration serves command-line flags, YAML files and the
``config`` recorded in results.json.

A schema is a dataclass deriving from `Schema` whose fields are declared with `option`: the
annotation gives the type (bool, int, float, str, Path, ``X | None``, ``list[str]``,
``tuple[int, ...]``, dict), `option` the default, the constraint and the help. Creating an
instance converts and checks every field, then runs the class's cross-field `Schema.check`;
`add_flags` generates the flags (the only way flags are made); `Schema.from_dict` and
`Schema.from_yaml` read mappings and reject unknown keys.

The same rules hold for every source:

* booleans are true or false only: ``relax: "no"`` or ``relax: 1`` is an error, not truthy;
* integers accept whole numbers, also written as floats (``n_samples: 1e5``); 2.5 is an error;
* ``null`` (flag value ``none``) is accepted only where the default is None (``X | None``);
  NaN is never a valid number;
* numbers, booleans and null in YAML files follow the YAML 1.2 core schema: ``alpha: 1e-3``
  is the float 0.001 and ``n_pre: 020`` the integer 20, where PyYAML alone (YAML 1.1) reads
  the string "1e-3" and the octal 16; YAML 1.1 forms such as ``yes``, ``on``, ``0b11`` or
  ``3:20`` are strings, which numeric and boolean fields refuse. A quoted ``"1e-3"`` stays a
  string and is rejected in a numeric field, like any other string;
* YAML files may not repeat a key or use aliases (``*name``); error messages cut values
  to 200 characters;
* flags parse their text as numbers the same way (``--n-samples 1e5``).

Errors are `ValueError`s that name the key, the value and what was expected, and the file
for YAML (``run.yaml: alpha must be a number, got str '1e-3'``).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

import yaml

from graphcert.utils.validation import (
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_str,
    describe_interval,
    shown,
)

__all__ = ["Schema", "add_flags", "flag_values", "option", "read_yaml"]

_SCALARS = (bool, int, float, str, Path)
_WORDS = {bool: "a boolean", int: "a whole number", float: "a number", str: "a string",
          Path: "a path"}


@dataclass(frozen=True)
class Option:
    """What `option` records about a field besides its type and default."""

    help: str
    interval: str | None = None  # numbers (and list entries): e.g. "(0, 1)", "[1, inf)"
    choices: tuple | Callable[[], tuple] | None = None  # a callable (cheap: help lists it)
    # is read when checking, e.g. a registry that may grow
    keys: dict[str, tuple[type, str]] | None = None  # dict fields: keys that get flags
    renamed: dict | None = None  # earlier names of choices -> current ones (old results.json)


def option(default: Any = dataclasses.MISSING, *, help: str, **constraint) -> Any:
    """A schema field: default, help and constraint (`Option`'s interval, choices, keys).
    Mutable defaults (lists, dicts) are copied for every instance.

    Args:
        default (Any): the default (copied per instance if a list or dict).
        help (str): what the field is.
        **constraint: ``interval``, ``choices`` or ``keys`` (`Option`).

    Returns:
        Any: a ``dataclasses.field``.
    """
    metadata = {"schema": Option(help, **constraint)}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class FieldSpec:
    """A field's resolved type: scalar kind, container ("list", "tuple", "dict" or None),
    whether None is allowed, and its `Option`."""

    name: str
    kind: type | None  # scalar type, or the element type of a list / tuple; None for dict
    container: str | None
    optional: bool
    option: Option

    @property
    def choices(self) -> tuple | None:
        choices = self.option.choices
        return choices() if callable(choices) else choices

    def expected(self) -> str:
        """What a value must be, for help texts: "float in (0, 1)", "int >= 1", ..."""
        if self.container == "dict":
            text = "mapping"
        elif self.choices is not None and self.container is None:
            text = "one of " + ", ".join(map(str, self.choices))
        else:
            text = {bool: "bool", int: "int", float: "float", str: "str", Path: "path"}[self.kind]
            if self.option.interval is not None:
                text += " " + describe_interval(self.option.interval)
            if self.container:
                subset = "" if self.choices is None else \
                    " of " + ", ".join(map(str, self.choices))
                text = f"comma-separated {text}s{subset}"
        return text + (" or none" if self.optional else "")

    def check(self, value: Any, name: str | None = None) -> Any:
        """`value` converted to this field's type, or a ValueError naming the key."""
        name = name or self.name
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{name} must be {self._word()}, got None")
        if self.container == "dict":
            return self._check_dict(value, name)
        if self.container is not None:
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise ValueError(f"{name} must be a list of {_WORDS[self.kind][2:]}s, got "
                                 f"{type(value).__name__} {shown(value)}")
            if not value:
                raise ValueError(f"{name} must hold at least one value, got an empty list")
            items = [self._check_scalar(v, f"{name}[{i}]") for i, v in enumerate(value)]
            return items if self.container == "list" else tuple(items)
        return self._check_scalar(value, name)

    def _word(self) -> str:
        return {"dict": "a mapping", "list": "a list", "tuple": "a list"}.get(
            self.container, _WORDS.get(self.kind, "a value"))

    def _check_scalar(self, value: Any, name: str) -> Any:
        if self.kind is Path:
            if not isinstance(value, (str, Path)):
                raise ValueError(f"{name} must be a path, got {type(value).__name__} "
                                 f"{shown(value)}")
            return Path(value)
        value = _checked(self.kind, value, name, self.option.interval)
        if self.option.renamed:
            value = self.option.renamed.get(value, value)
        if self.choices is not None:
            check_choice(value, name, self.choices)
        return value

    def _check_dict(self, value: Any, name: str) -> dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValueError(f"{name} must be a mapping of names to values, got "
                             f"{type(value).__name__} {shown(value)}")
        checked = dict(value)
        for key, (kind, _) in (self.option.keys or {}).items():
            if key in checked:
                checked[key] = _checked(kind, checked[key], f"{name}.{key}")
        return checked


def _checked(kind: type, value: Any, name: str, interval: str | None = None) -> Any:
    """`value` as a `kind` (bool, str, int or float) in `interval` (graphcert.utils.validation):
    a bool is never a number, a number never a bool, an int accepts whole floats (1e5)."""
    if kind is bool:
        return check_bool(value, name)
    if kind is str:
        return check_str(value, name)
    if isinstance(value, (list, tuple, dict, set, str, bytes)) or value is None:
        raise ValueError(f"{name} must be {_WORDS[kind]}, got {type(value).__name__} "
                         f"{shown(value)}")
    check = check_int if kind is int else check_real
    return check(value, name, interval or "[-inf, inf]")


class Schema:
    """Base of typed configurations (dataclasses with `option` fields)."""

    #: fields that the common ``--seed`` flag sets (all of them at once)
    seed_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for spec in fields_of(type(self)).values():
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name)))
        self.check()

    def check(self) -> None:
        """Cross-field constraints (override); single fields are checked before."""

    @classmethod
    def defaults(cls) -> dict:
        """The default of every field (fresh copies of mutable ones).

        Returns:
            dict: field name -> default.
        """
        return {f.name: f.default if f.default is not dataclasses.MISSING else
                f.default_factory() for f in dataclasses.fields(cls)}

    def to_dict(self) -> dict:
        """Plain JSON-ready values (paths as strings, tuples as lists).

        Returns:
            dict: field name -> value.
        """
        return {name: _plain(getattr(self, name)) for name in fields_of(type(self))}

    @classmethod
    def from_dict(cls, values: dict, source: str | None = None):
        """The configuration of `values` (defaults for missing keys); `source` (a file) is
        named in errors about its values.

        Args:
            values (dict): field name -> value.
            source (str, optional): the file the values come from.

        Returns:
            Schema: an instance of the class.
        """
        specs = fields_of(cls)
        prefix = f"{source}: " if source else ""
        _refuse_unknown(values, specs, prefix)
        checked = {}
        for key, value in values.items():
            try:
                checked[key] = specs[key].check(value)
            except ValueError as error:
                raise ValueError(f"{prefix}{error}") from None
        try:
            return cls(**checked)
        except ValueError as error:
            raise ValueError(f"{prefix}{error}") from None

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides):
        """The mapping in YAML file `path`, with `overrides` (flags) winning.

        Args:
            path (str or Path): the YAML file.
            **overrides: field name -> value, winning over the file.

        Returns:
            Schema: an instance of the class.
        """
        values = read_yaml(path)
        specs = fields_of(cls)
        _refuse_unknown(values, specs, f"{path}: ")
        for key, value in values.items():  # the file's own values, named with the file
            if key not in overrides:
                try:
                    specs[key].check(value)
                except ValueError as error:
                    raise ValueError(f"{path}: {error}") from None
        return cls.from_dict({**values, **overrides})


def _refuse_unknown(values: dict, specs: dict, prefix: str) -> None:
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise ValueError(f"{prefix}unknown configuration keys {unknown}; known: "
                         f"{sorted(specs)}")


def fields_of(cls: type) -> dict[str, FieldSpec]:
    """The `FieldSpec` of every field of schema class `cls`, in declaration order."""
    cached = cls.__dict__.get("_field_specs")
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    specs = {}
    for f in dataclasses.fields(cls):
        if "schema" not in f.metadata:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with option()")
        specs[f.name] = _spec(f.name, hints[f.name], f.metadata["schema"])
    cls._field_specs = specs
    return specs


def _spec(name: str, hint: Any, opt: Option) -> FieldSpec:
    args = typing.get_args(hint)
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and \
        type(None) in args
    if optional:
        (hint,) = [a for a in args if a is not type(None)]
    origin = typing.get_origin(hint)
    if hint in _SCALARS:
        return FieldSpec(name, hint, None, optional, opt)
    if origin is dict or hint is dict:
        return FieldSpec(name, None, "dict", optional, opt)
    if origin in (list, tuple) and typing.get_args(hint)[0] in _SCALARS:
        return FieldSpec(name, typing.get_args(hint)[0], origin.__name__, optional, opt)
    raise TypeError(f"field {name}: unsupported type {hint}")


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


# --------------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema for plain scalars, no aliases and no
    duplicate keys.

    Only the core schema's forms resolve to null, booleans, integers and floats (``true`` /
    ``false``; ``020`` is twenty, ``0o20`` sixteen, ``0x10`` sixteen; ``1e-3`` a float); the
    YAML 1.1 forms PyYAML reads otherwise (``yes``, ``on``, ``0b11``, ``3:20``, dates) stay
    strings, which a numeric or boolean field refuses, naming the key. Aliases (``*name``) are
    refused: a few hundred bytes of nested aliases expand to gigabytes.
    """

    yaml_implicit_resolvers: dict = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"aliases (*name) are not supported, write the value out "
                                 f"(line {mark.line + 1}, column {mark.column + 1})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise yaml.YAMLError(
                        f"duplicate key {shown(key)} (line {seen[key] + 1} and line "
                        f"{key_node.start_mark.line + 1})")
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _core_int(loader: yaml.SafeLoader, node) -> int:
    text = loader.construct_scalar(node)
    if text[:2] in ("0o", "0x"):
        return int(text, 8 if text[1] == "o" else 16)
    return int(text, 10)


def _core_float(loader: yaml.SafeLoader, node) -> float:
    text = loader.construct_scalar(node).lower()
    if text.lstrip("+-") in (".inf", ".nan"):
        return float(text.replace(".", ""))
    return float(text)


_CORE = {  # YAML 1.2.2, 10.3.2 (core schema): tag, regular expression, first characters
    "tag:yaml.org,2002:null": (r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    "tag:yaml.org,2002:bool": (r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    "tag:yaml.org,2002:int": (r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
                              list("-+0123456789")),
    "tag:yaml.org,2002:float": (r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                                r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
                                list("-+0123456789.")),
}
for _tag, (_pattern, _first) in _CORE.items():
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)
_Loader.add_constructor("tag:yaml.org,2002:int", _core_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _core_float)


def read_yaml(path: str | Path) -> dict:
    """The mapping in YAML file `path` (YAML 1.2 core schema, no aliases, no duplicate keys);
    errors name the file.

    Args:
        path (str or Path): the YAML file.

    Returns:
        dict: the mapping ({} for an empty file).
    """
    path = Path(path)
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory, expected a YAML file")
    if not os.path.exists(path):
        raise ValueError(f"{path} not found, expected a YAML file")
    try:
        values = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ValueError(f"{path} is not valid YAML: {problem}{where}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text (UTF-8) file, expected YAML") from None
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of setting names to values, got "
                         f"{type(values).__name__}")
    return values


# -------------------------------------------------------------------------------- flags
def add_flags(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One flag per field of schema `cls` (``--n-samples`` for n_samples; booleans as
    ``--relax / --no-relax``; lists comma-separated; declared dict keys as their own flags).
    Flags not given leave no attribute, so `flag_values` returns only what was typed.

    Args:
        parser (argparse.ArgumentParser): the parser.
        cls (type): the `Schema`.
        skip (tuple[str, ...]): fields without a flag.
    """
    defaults = cls.defaults()
    for name, spec in fields_of(cls).items():
        if name in skip:
            continue
        if spec.container == "dict":
            for key, (kind, text) in (spec.option.keys or {}).items():
                parser.add_argument(_flag(key), dest=f"{name}.{key}", metavar=kind.__name__,
                                    type=_parser(FieldSpec(key, kind, None, False, spec.option)),
                                    default=argparse.SUPPRESS, help=f"{text} ({name}.{key})")
            continue
        default = _plain(defaults[name])
        default_text = ",".join(map(str, default)) if isinstance(default, list) else \
            "none" if default is None else default
        text = f"{spec.option.help} ({spec.expected()}; default {default_text})".replace("%", "%%")
        if spec.kind is bool and spec.container is None:
            parser.add_argument(_flag(name), dest=name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=text)
        else:
            parser.add_argument(_flag(name), dest=name, type=_parser(spec),
                                default=argparse.SUPPRESS, help=text,
                                metavar=name.upper())


def flag_values(args: argparse.Namespace, cls: type) -> dict:
    """The fields of schema `cls` given as flags (dict keys gathered into their field).

    Args:
        args (argparse.Namespace): the parsed arguments.
        cls (type): the `Schema`.

    Returns:
        dict: field name -> value.
    """
    given = vars(args)
    values = {}
    for name, spec in fields_of(cls).items():
        if name in given:
            values[name] = given[name]
        keys = {key: given[f"{name}.{key}"] for key in (spec.option.keys or {})
                if f"{name}.{key}" in given}
        if keys:
            values[name] = keys
    return values


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parser(spec: FieldSpec) -> Callable[[str], Any]:
    """Text of a flag to a value of the field's type (checked later by `FieldSpec.check`)."""
    def parse(text: str) -> Any:
        if spec.optional and text.strip().lower() in ("none", "null"):
            return None
        if spec.container is not None:
            return [_scalar(spec.kind, part.strip()) for part in text.split(",")
                    if part.strip()]
        return _scalar(spec.kind, text)
    parse.__name__ = spec.expected()  # argparse names it in "invalid ... value" errors
    return parse


def _scalar(kind: type, text: str) -> Any:
    if kind in (int, float):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    return Path(text) if kind is Path else text
