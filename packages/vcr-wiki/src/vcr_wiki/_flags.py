"""CLI flags derived from a config dataclass, the one source of defaults: one flag per field, named like
the field (``shard_size`` -> ``--shard-size``), parsed by the field's type, defaulting to the field's
default. Booleans take only ``true``/``false`` (a bare ``--flag`` is true); integers only ASCII digits;
floats only finite values. A bad value is argparse's one-line error, exit 2, before anything runs."""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

_INT = re.compile(r"[+-]?[0-9]+")


def parse_bool(text: str) -> bool:
    """``true`` or ``false`` (any case); anything else is an argparse error."""
    low = text.strip().lower()
    if low not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return low == "true"


def parse_int(text: str) -> int:
    """An integer written with ASCII digits (no ``1_0``, no other scripts' digits)."""
    if not _INT.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return int(text)


def parse_float(text: str) -> float:
    """A finite float (no NaN, no inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


_PARSERS: dict[Any, Callable[[str], Any]] = {int: parse_int, float: parse_float, str: str, bool: parse_bool}


def _base_type(hint: Any) -> Any:
    """``int`` for ``int`` and ``int | None``; other hints unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def field_default(f: dataclasses.Field[Any]) -> Any:
    """The dataclass default of field ``f`` (its factory called), or ``dataclasses.MISSING``."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def flag_name(name: str) -> str:
    """The flag of a field: ``shard_size`` -> ``--shard-size``."""
    return "--" + name.replace("_", "-")


def add_config_flags(
    parser: argparse.ArgumentParser,
    cls: type[Any],
    helps: Mapping[str, str],
    *,
    exclude: Iterable[str] = (),
    choices: Mapping[str, Sequence[str]] | None = None,
    parsers: Mapping[str, Callable[[str], Any]] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """Add one flag per field of dataclass ``cls`` (but ``exclude``) to ``parser``; returns the fields.

    ``helps`` gives each field's help (required for every added field); ``choices``, ``parsers`` (a value
    parser replacing the type's) and ``aliases`` (more option strings) are per field. A field without a
    default is a required flag."""
    skipped = set(exclude)
    hints = typing.get_type_hints(cls)
    added = []
    for f in dataclasses.fields(cls):
        if f.name in skipped:
            continue
        base = _base_type(hints[f.name])
        parse = (parsers or {}).get(f.name) or _PARSERS.get(base)
        if parse is None:
            raise TypeError(f"{cls.__name__}.{f.name}: no CLI parser for {hints[f.name]!r}")
        default = field_default(f)
        names = [flag_name(f.name), *(aliases or {}).get(f.name, ())]
        kwargs: dict[str, Any] = {"dest": f.name, "type": parse, "help": helps[f.name]}
        if default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
            kwargs["help"] += " (default: %(default)s)"
        if base is bool and f.name not in (parsers or {}):
            kwargs.update(nargs="?", const=True, metavar="true|false")
        if f.name in (choices or {}):
            kwargs["choices"] = list((choices or {})[f.name])
        parser.add_argument(*names, **kwargs)
        added.append(f.name)
    return added


def config_values(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The parsed values of fields ``names`` (as returned by ``add_config_flags``), by field name."""
    return {name: getattr(args, name) for name in names}
