"""Meta-package: ``umbrella.rice_n`` and friends resolve lazily to the installed components."""

from __future__ import annotations

import importlib
from types import ModuleType

from umbrella.components import BY_MODULE, COMPONENTS, Component, get_component

__version__ = "0.1.0"

__all__ = [
    "COMPONENTS",
    "Component",
    "__version__",
    "get_component",
    "map_merge",
    "rice_n",
    "sparse_drl",
    "stable_grad_rl",
    "vcr_wiki",
]


def __getattr__(name: str) -> ModuleType:
    """Import a component on first access; a missing one names the pip line that installs it."""
    component = BY_MODULE.get(name)
    if component is None:
        raise AttributeError(f"module 'umbrella' has no attribute {name!r}")
    try:
        module = importlib.import_module(component.module)
    except ImportError as error:
        raise ImportError(
            f"umbrella.{name} needs the {component.dist!r} package, which is not installed; "
            f"run: {component.install_line}"
        ) from error
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return sorted(__all__)
