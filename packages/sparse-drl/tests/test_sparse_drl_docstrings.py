"""Every public name (each module's ``__all__``) and each of its public methods has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import sparse_drl


def undocumented() -> list[str]:
    """Public names of sparse_drl without a docstring (inherited ones count, as help() shows them)."""
    missing = []
    for info in pkgutil.walk_packages(sparse_drl.__path__, "sparse_drl."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if not inspect.getdoc(module):
            missing.append(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not inspect.getdoc(obj):
                missing.append(f"{info.name}.{name}")
            if inspect.isclass(obj):
                missing += [
                    f"{info.name}.{name}.{attr}"
                    for attr, value in vars(obj).items()
                    if not attr.startswith("_")
                    and inspect.isfunction(value)
                    and not inspect.getdoc(getattr(obj, attr))
                ]
    return missing


def test_every_public_name_has_a_docstring() -> None:
    assert undocumented() == []
