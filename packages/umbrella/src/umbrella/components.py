"""The five research packages that umbrella reaches, and what is installed of them."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass


@dataclass(frozen=True)
class Component:
    """One research package: its distribution name, import name and a one-line summary."""

    dist: str
    module: str
    summary: str

    @property
    def install_line(self) -> str:
        """The pip line that installs this component through umbrella's extra."""
        return f'pip install "umbrella[{self.dist}]"'

    def installed_version(self) -> str | None:
        """Installed version of the component, or None when it is not installed."""
        try:
            return importlib.metadata.version(self.dist)
        except importlib.metadata.PackageNotFoundError:
            return None


COMPONENTS: tuple[Component, ...] = (
    Component("sparse-drl", "sparse_drl", "one-shot random pruning for deep-RL networks"),
    Component("stable-grad-rl", "stable_grad_rl", "gradient-flow interventions for deep-RL scaling"),
    Component("rice-n", "rice_n", "RICE-N climate-economy simulator and negotiation MARL"),
    Component("map-merge", "map_merge", "model merging with an amortized Pareto front"),
    Component("vcr-wiki", "vcr_wiki", "Visual Caption Restoration dataset builder and evaluation"),
)
"""The five research packages, in the order ``umbrella info`` and ``umbrella demo`` list them."""

BY_MODULE: dict[str, Component] = {c.module: c for c in COMPONENTS}
BY_DIST: dict[str, Component] = {c.dist: c for c in COMPONENTS}


def get_component(name: str) -> Component:
    """Look a component up by distribution or import name; raise ValueError naming the bad value."""
    component = BY_DIST.get(name) or BY_MODULE.get(name)
    if component is None:
        known = ", ".join(c.dist for c in COMPONENTS)
        raise ValueError(f"unknown component {name!r}; known components: {known}")
    return component
