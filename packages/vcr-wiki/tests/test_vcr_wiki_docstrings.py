"""Every public module, class, function and method of vcr_wiki has a docstring (issue 22)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import vcr_wiki


def _undocumented() -> list[str]:
    missing = []
    for info in pkgutil.walk_packages(vcr_wiki.__path__, "vcr_wiki."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if not (module.__doc__ or "").strip():
            missing.append(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            doc = (obj.__doc__ or "").strip()
            if not doc or doc.startswith(f"{name}("):  # a dataclass's generated signature is no docstring
                missing.append(f"{info.name}.{name}")
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    fn = value.fget if isinstance(value, property) else value
                    if not attr.startswith("_") and inspect.isfunction(fn) and not (fn.__doc__ or "").strip():
                        missing.append(f"{info.name}.{name}.{attr}")
    return missing


def test_every_public_name_has_a_docstring() -> None:
    assert _undocumented() == []
