"""CLI flags derived from a config dataclass: one ``--field-name`` per field, parsed by the field's type.

The flags default to None (the preset's value is kept); the help shows the dataclass default, and a test
holds the two equal. Values are parsed strictly: integers and floats as ASCII numbers (no NaN or inf),
booleans only as ``true``/``false``, tuples comma-separated; a bad value is one line, exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import typing
from collections.abc import Callable, Iterable
from typing import Any

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def parse_int(text: str) -> int:
    """An ASCII integer (``1_0``, non-ASCII digits and floats refused)."""
    if not _INT.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return int(text)


def parse_float(text: str) -> float:
    """A finite ASCII number (NaN and inf refused)."""
    if not _FLOAT.fullmatch(text.strip()) or not math.isfinite(float(text)):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return float(text)


def parse_bool(text: str) -> bool:
    """``true`` or ``false`` (any case); nothing else."""
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value == "true"


def parse_int_tuple(text: str) -> tuple[int, ...]:
    """Comma-separated integers, e.g. ``256,256``."""
    return tuple(parse_int(x) for x in text.split(","))


def parse_schedule(text: str) -> tuple[tuple[float, float], ...]:
    """Comma-separated ``STEP:VALUE`` points, e.g. ``0:0.5,1e6:0.1``."""
    points = []
    for item in text.split(","):
        step, sep, value = item.partition(":")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected STEP:VALUE points, got {text!r}")
        points.append((parse_float(step), parse_float(value)))
    return tuple(points)


def parse_key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (a non-empty key)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


_PARSERS: dict[Any, tuple[Callable[[str], Any], str]] = {
    int: (parse_int, "INT"),
    float: (parse_float, "FLOAT"),
    bool: (parse_bool, "true|false"),
    str: (str, "TEXT"),
    tuple[int, ...]: (parse_int_tuple, "INT,INT,..."),
    tuple[tuple[float, float], ...]: (parse_schedule, "STEP:VALUE,..."),
}


def show_default(value: Any) -> str:
    """A default as the user would type it (tuples comma-separated, schedules as STEP:VALUE)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(":".join(f"{x:g}" for x in v) if isinstance(v, tuple) else str(v) for v in value)
    if isinstance(value, dict):
        return "none"
    return str(value)


def add_dataclass_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    skip: Iterable[str] = (),
    choices: dict[str, Iterable[str]] | None = None,
    helps: dict[str, str] | None = None,
) -> list[str]:
    """Add ``--field-name`` for every field of dataclass ``cls`` not in ``skip``; returns the field names.

    A ``dict`` field becomes a repeatable ``--field-name KEY=VALUE``. Every flag defaults to None.
    """
    hints = typing.get_type_hints(cls)
    instance = cls()
    names = []
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        default = getattr(instance, field.name)
        flag = "--" + field.name.replace("_", "-")
        text = (helps or {}).get(field.name, field.name.replace("_", " "))
        if typing.get_origin(hints[field.name]) is dict:
            parser.add_argument(
                flag,
                action="append",
                type=parse_key_value,
                metavar="KEY=VALUE",
                default=None,
                help=f"{text} (repeatable; default none)",
            )
        else:
            parse, metavar = _PARSERS[hints[field.name]]
            options = list((choices or {}).get(field.name, ()))
            parser.add_argument(
                flag,
                type=parse,
                default=None,
                metavar="|".join(options) if options else metavar,
                choices=options or None,
                help=f"{text} (default {show_default(default)})",
            )
        names.append(field.name)
    return names


def overrides(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The fields the user set (non-None flags), ``KEY=VALUE`` lists turned into dicts."""
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(args, name)
        if value is not None:
            out[name] = dict(value) if isinstance(value, list) else value
    return out
