"""Run the ``demo`` subcommand of every installed component and summarize the outcomes.

Contract with the components: ``python -m <module> demo --out DIR --seed S`` writes its outputs
under ``DIR``, including ``DIR/demo.json`` whose ``key_figure`` entry is one short string (for
example ``"IGD 0.031"``). Exit code 0 means success, 3 means "not built yet"; anything else is a
failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from umbrella.components import COMPONENTS, Component

NOT_BUILT_EXIT_CODE = 3


@dataclass(frozen=True)
class DemoOutcome:
    """What one component's demo did."""

    component: str
    status: str  # "ok", "missing" (not built yet), "not installed", "failed", "timeout"
    key_figure: str
    seconds: float


def run_component_demo(component: Component, out: Path, seed: int, timeout: float) -> DemoOutcome:
    """Run one component's demo in a subprocess and classify the result."""
    if component.installed_version() is None:
        return DemoOutcome(component.dist, "not installed", component.install_line, 0.0)
    target = out / component.dist
    target.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", component.module, "demo", "--out", str(target), "--seed", str(seed)]
    start = time.perf_counter()
    try:
        completed = subprocess.run(command, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return DemoOutcome(component.dist, "timeout", f"over {timeout:.0f} s", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if completed.returncode == NOT_BUILT_EXIT_CODE:
        return DemoOutcome(component.dist, "missing", "not built yet", seconds)
    if completed.returncode != 0:
        return DemoOutcome(component.dist, "failed", f"exit code {completed.returncode}", seconds)
    return DemoOutcome(component.dist, "ok", read_key_figure(target / "demo.json"), seconds)


def read_key_figure(path: Path) -> str:
    """The ``key_figure`` string of a component's demo.json, or a note saying why it is absent."""
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["key_figure"])
    except FileNotFoundError:
        return "no demo.json"
    except (json.JSONDecodeError, KeyError, TypeError):
        return "demo.json has no key_figure"


def run_demos(
    out: Path, seed: int = 0, only: list[str] | None = None, timeout: float = 1800.0
) -> list[DemoOutcome]:
    """Run the demos of the selected components (all by default), one after another."""
    selected = [c for c in COMPONENTS if not only or c.dist in only]
    return [run_component_demo(c, out, seed, timeout) for c in selected]


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """Render rows as a plain-text table with aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_table(outcomes: list[DemoOutcome]) -> str:
    """The one summary table that ``umbrella demo`` prints."""
    rows = [[o.component, o.status, o.key_figure, f"{o.seconds:.1f}"] for o in outcomes]
    return format_table(rows, ["component", "status", "key figure", "seconds"])
