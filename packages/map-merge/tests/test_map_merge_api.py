"""The public API: every public name documented; one source of defaults for the CLI, config and API."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import map_merge
from map_merge.amortized import DESIGNS, METHODS, amortized_front
from map_merge.cli import build_parser
from map_merge.config import FrontConfig


def undocumented() -> list[str]:
    """Public modules, classes, functions and methods of map_merge without a docstring."""
    missing = []
    for info in pkgutil.iter_modules(map_merge.__path__):
        if info.name.startswith("_"):
            continue
        name = f"map_merge.{info.name}"
        module = importlib.import_module(name)
        missing += [] if module.__doc__ else [name]
        for attr, obj in vars(module).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                missing += [] if inspect.getdoc(obj) else [f"{name}.{attr}"]
            if inspect.isclass(obj):
                for method, member in vars(obj).items():
                    member = getattr(member, "__func__", member)
                    if not method.startswith("_") and (
                        inspect.isfunction(member) or isinstance(member, property)
                    ):
                        missing += [] if member.__doc__ else [f"{name}.{attr}.{method}"]
    return missing


def test_every_public_name_has_a_docstring() -> None:
    assert undocumented() == []
    assert all(
        getattr(map_merge, name).__doc__ for name in map_merge.__all__ if callable(getattr(map_merge, name))
    )


def test_cli_config_and_api_defaults_are_one() -> None:
    signature = inspect.signature(amortized_front).parameters
    config = {f.name: f for f in dataclasses.fields(FrontConfig)}
    for name in ("maximize", "method", "design", "budget", "seed", "link", "preference"):
        assert config[name].default == signature[name].default, name
    assert config["bounds"].default_factory() == list(signature["bounds"].default)  # type: ignore[misc]
    front = next(a for a in build_parser()._actions if a.dest == "command").choices["front"]  # type: ignore[union-attr]
    actions = {a.dest: a for a in front._actions}
    for name in ("seed", "method", "design", "budget"):  # None: the config's value (default above) is kept
        assert actions[name].default is None
        assert (
            f"default {signature[name].default if signature[name].default is not None else 'the'}"
            in actions[name].help
        )
    assert tuple(actions["method"].choices) == METHODS and tuple(actions["design"].choices) == DESIGNS
