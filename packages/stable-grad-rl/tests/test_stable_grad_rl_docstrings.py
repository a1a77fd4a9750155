"""Every public module, class, function and method of the package has a docstring (lists any that lack one)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import stable_grad_rl


def _undocumented() -> list[str]:
    missing = []
    for info in pkgutil.walk_packages(stable_grad_rl.__path__, "stable_grad_rl."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if not module.__doc__:
            missing.append(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not inspect.getdoc(obj):
                missing.append(f"{info.name}.{name}")
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    func = getattr(member, "__func__", member)
                    public = not attr.startswith("_")
                    if (
                        public
                        and (inspect.isfunction(func) or isinstance(func, property))
                        and not func.__doc__
                    ):
                        missing.append(f"{info.name}.{name}.{attr}")
    return missing


def test_every_public_name_has_a_docstring() -> None:
    assert _undocumented() == []
