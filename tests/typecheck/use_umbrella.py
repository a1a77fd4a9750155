"""A downstream script using umbrella's Python API, type-checked against the installed package."""

from __future__ import annotations

from types import ModuleType

import umbrella
from umbrella.components import Component, get_component


def components() -> list[str]:
    """The distribution names umbrella reaches, and one component's module through the lazy attribute."""
    rice: ModuleType = umbrella.rice_n
    print(rice.__name__)
    first: Component = umbrella.COMPONENTS[0]
    return [first.dist, get_component("rice_n").dist]
