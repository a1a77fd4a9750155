"""Command-line flags derived from the config dataclasses: one source of names, types and defaults.

Every field of a config dataclass becomes ``--field-name`` (underscores as dashes) parsed by the field's
type, with the dataclass default in its help; ``--set KEY=VALUE`` is parsed the same way. Booleans take
``true``/``false`` (any case) and nothing else, as in stable-grad-rl; integers take ASCII
digits only; floats must be finite.
"""

from __future__ import annotations

import argparse
import math
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

__all__ = ["FALSE", "TRUE", "add_config_flags", "config_fields", "flag_name", "parse_value"]

TRUE = ("true",)
FALSE = ("false",)
_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def config_fields(cls: type) -> dict[str, tuple[type, Any]]:
    """``{field name: (type, default)}`` of a config dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: (hints[f.name], f.default) for f in fields(cls)}


def flag_name(field: str) -> str:
    """The command-line flag of a config field: ``clipped_double_q`` -> ``--clipped-double-q``."""
    return "--" + field.replace("_", "-")


def parse_value(kind: type, text: str, name: str) -> Any:
    """``text`` read as a value of field ``name`` of type ``kind`` (bool, int, float or str);
    ``ValueError`` with a one-line message naming the field and the value otherwise."""
    raw = text.strip()
    if kind is bool:
        if raw.lower() in TRUE:
            return True
        if raw.lower() in FALSE:
            return False
        raise ValueError(f"{name} must be true or false, got {text!r}")
    if kind is int:
        if not _INT.match(raw):
            raise ValueError(f"{name} must be an integer, got {text!r}")
        return int(raw)
    if kind is float:
        if not _FLOAT.match(raw) or not math.isfinite(float(raw)):
            raise ValueError(f"{name} must be a finite number, got {text!r}")
        return float(raw)
    if kind is str:
        return text
    raise TypeError(f"{name}: fields of type {kind!r} cannot be set from the command line")


def _show(value: Any) -> str:
    """A default as the command line spells it (booleans as true/false)."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _arg_type(kind: type, name: str) -> Callable[[str], Any]:
    """An argparse ``type=`` callable: parse by ``kind``, errors as argparse's one-line usage errors."""

    def convert(text: str) -> Any:
        try:
            return parse_value(kind, text, name)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = kind.__name__
    return convert


def add_config_flags(
    parser: argparse._ActionsContainer,
    configs: dict[str, type],
    *,
    skip: Iterable[str] = (),
    aliases: dict[str, list[str]] | None = None,
    choices: dict[str, Iterable[str]] | None = None,
) -> list[str]:
    """Add to ``parser`` (a parser or an argument group) one flag per field of the config dataclasses in ``configs`` (``{label: class}``, e.g. one per
    agent), except ``skip``; the help shows each class's default (``sac 0.005; dqn -`` when they differ).
    Flags default to None, so only the given ones reach the config. Returns the fields added."""
    specs = {label: config_fields(cls) for label, cls in configs.items()}
    names: list[str] = []
    for spec in specs.values():
        names += [n for n in spec if n not in names and n not in set(skip)]
    for name in names:
        kind = next(spec[name][0] for spec in specs.values() if name in spec)
        defaults = {label: spec[name][1] for label, spec in specs.items() if name in spec}
        if len(defaults) == len(specs) and len({repr(d) for d in defaults.values()}) == 1:
            shown = f"default {_show(next(iter(defaults.values())))}"
        else:
            shown = "; ".join(f"{label} default {_show(d)}" for label, d in defaults.items())
            if len(defaults) < len(specs):
                shown = f"{'/'.join(defaults)} only: {shown}"
        allowed = list((choices or {})[name]) if name in (choices or {}) else None
        parser.add_argument(
            flag_name(name),
            *(aliases or {}).get(name, []),
            dest=name,
            type=_arg_type(kind, name),
            choices=allowed,
            metavar="{" + ",".join(allowed) + "}" if allowed else kind.__name__.upper(),
            help=f"{name} ({kind.__name__}; {shown})",
        )
    return names
