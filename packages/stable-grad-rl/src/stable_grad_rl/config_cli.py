"""Command-line options derived from the config dataclasses: one source of defaults and types.

Every field becomes ``--field-name`` with the field's type and the dataclass default (shown in
``--help``); ``--set KEY=VALUE`` values are parsed by the same rules. Booleans are ``true`` or
``false`` only; floats must be finite; integers are plain decimal integers.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

_INT = re.compile(r"[+-]?[0-9]+")
_BOOLS = {"true": True, "false": False}


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type annotation of every field of dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def field_defaults(cls: type) -> dict[str, Any]:
    """Default value of every field of dataclass ``cls`` (default factories called)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _optional_inner(annotation: Any) -> Any | None:
    """``X`` for ``X | None``, else ``None``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0]
    return None


def parse_value(name: str, annotation: Any, raw: str) -> Any:
    """Parse the text ``raw`` for field ``name`` of type ``annotation``; ``ValueError`` naming both."""
    inner = _optional_inner(annotation)
    if inner is not None:
        return None if raw.strip().lower() in ("none", "null") else parse_value(name, inner, raw)
    text = raw.strip()
    if annotation is bool:
        if text.lower() not in _BOOLS:
            raise ValueError(f"{name} must be true or false, got {raw!r}")
        return _BOOLS[text.lower()]
    if annotation is int:
        if not text.isascii() or not _INT.fullmatch(text):
            raise ValueError(f"{name} must be an integer, got {raw!r}")
        return int(text)
    if annotation is float:
        try:
            value = float(text) if text.isascii() else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {raw!r}")
        return value
    if annotation is str:
        return raw
    if typing.get_origin(annotation) is tuple:
        item = typing.get_args(annotation)[0]
        parts = [p for p in text.split(",")] if text else []
        return tuple(parse_value(f"{name} entry", item, p) for p in parts)
    raise ValueError(f"{name} cannot be set from the command line")


def _argparse_type(name: str, annotation: Any) -> Any:
    def convert(raw: str) -> Any:
        try:
            return parse_value(name, annotation, raw)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from err

    convert.__name__ = getattr(annotation, "__name__", str(annotation))
    return convert


def _metavar(annotation: Any) -> str:
    inner = _optional_inner(annotation)
    base = inner if inner is not None else annotation
    if typing.get_origin(base) is tuple:
        base = typing.get_args(base)[0]
    return getattr(base, "__name__", "VALUE").upper()


def add_field_options(
    parser: argparse.ArgumentParser | Any,
    cls: type,
    *,
    skip: Iterable[str] = (),
    helps: dict[str, str] | None = None,
    choices: dict[str, Sequence[str]] | None = None,
) -> list[str]:
    """Add ``--field-name`` for every field of dataclass ``cls`` not in ``skip``; return the field names.

    Each option has the field's type, its dataclass default and ``(default: ...)`` in its help. Booleans
    become ``--name`` / ``--no-name``; tuples take several values.
    """
    helps, choices = helps or {}, choices or {}
    defaults, annotations = field_defaults(cls), field_types(cls)
    names = []
    for name, annotation in annotations.items():
        if name in skip:
            continue
        names.append(name)
        flag = "--" + name.replace("_", "-")
        default = defaults[name]
        text = helps.get(name, f"{cls.__name__}.{name}")
        if annotation is bool:
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=f"{text} (default: {default})",
            )
            continue
        kwargs: dict[str, Any] = {"default": default, "help": f"{text} (default: {_show(default)})"}
        if typing.get_origin(annotation) is tuple:
            item = typing.get_args(annotation)[0]
            kwargs.update(nargs="*" if not default else "+", type=_argparse_type(f"--{name}", item))
        else:
            kwargs["type"] = _argparse_type(flag, annotation)
        if name in choices:
            kwargs["choices"] = list(choices[name])
            if _optional_inner(annotation) is not None:
                kwargs["choices"].append(None)
        kwargs["metavar"] = "{" + ",".join(choices[name]) + "}" if name in choices else _metavar(annotation)
        if kwargs.get("nargs") and name in choices:
            kwargs["metavar"] = None
        parser.add_argument(flag, **kwargs)
    return names


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value)) if value else "empty"
    return str(value)


def add_union_options(
    parser: argparse.ArgumentParser | Any,
    classes: dict[str, type],
    *,
    skip: Iterable[str] = (),
    selector: str = "--algo",
) -> list[str]:
    """Options for the union of the fields of several dataclasses (one per ``selector`` value).

    An option that is not given leaves the chosen class's own default; its help lists every class's
    default. Return the field names.
    """
    seen: dict[str, Any] = {}
    owners: dict[str, list[str]] = {}
    for key, cls in classes.items():
        for name, annotation in field_types(cls).items():
            if name in skip:
                continue
            if name in seen and seen[name] != annotation:
                raise TypeError(f"field {name} has different types across {sorted(classes)}")
            seen[name] = annotation
            owners.setdefault(name, []).append(key)
    for name, annotation in seen.items():
        flag = "--" + name.replace("_", "-")
        where = ", ".join(f"{key}: {_show(field_defaults(classes[key])[name])}" for key in owners[name])
        text = f"{selector} setting; default per {selector} ({where})"
        if annotation is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text
            )
        else:
            parser.add_argument(
                flag, type=_argparse_type(flag, annotation), default=argparse.SUPPRESS,
                metavar=_metavar(annotation), help=text,
            )  # fmt: skip
    return sorted(seen)


def collect(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The values of the options ``names`` that ``args`` holds (options left at SUPPRESS are absent)."""
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def parse_sets(items: Iterable[str], cls: type, what: str) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` items by the field types of dataclass ``cls``; ``ValueError`` on unknown keys."""
    annotations = field_types(cls)
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        if key not in annotations:
            raise ValueError(f"--set {key}: unknown {what} field; known: {', '.join(sorted(annotations))}")
        out[key] = parse_value(f"--set {key}", annotations[key], raw)
    return out
