"""Issue 22: the public API (``__all__``) is fully annotated (what ``mypy --strict`` needs of it), and
boolean settings accept only true/false spellings."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import stable_grad_rl
from stable_grad_rl.config_cli import parse_value


def _unannotated(name: str, func: Any) -> list[str]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin slot without a signature
        return []
    missing = [
        f"{name}({p.name})"
        for p in sig.parameters.values()
        if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty
    ]
    if sig.return_annotation is inspect.Signature.empty and not name.endswith("__init__"):
        missing.append(f"{name} -> ?")
    return missing


def test_every_public_function_and_method_is_fully_annotated() -> None:
    missing: list[str] = []
    for name in stable_grad_rl.__all__:
        obj = getattr(stable_grad_rl, name)
        if inspect.isfunction(obj):
            missing += _unannotated(name, obj)
        elif inspect.isclass(obj):
            for attr, member in vars(obj).items():
                func = getattr(member, "__func__", member)
                if isinstance(func, property):
                    func = func.fget
                if inspect.isfunction(func) and (not attr.startswith("_") or attr == "__init__"):
                    missing += _unannotated(f"{name}.{attr}", func)
    assert missing == []


@pytest.mark.parametrize("raw", ["yes", "no", "1", "0", "on", "off", "y", "t", ""])
def test_booleans_accept_only_true_or_false(raw: str) -> None:
    with pytest.raises(ValueError, match="must be true or false"):
        parse_value("flag", bool, raw)
    assert parse_value("flag", bool, "True") is True and parse_value("flag", bool, "false") is False
