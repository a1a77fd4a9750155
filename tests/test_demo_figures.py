"""Installed exactly as umbrella's README says, `umbrella demo` runs every component, and each README's
demo figures are what the demo prints.

The venv holds only what umbrella's install block installs (no test extras, which could hide a missing
dependency of a demo). Each package README holds, right after a line ``<!-- demo-figures -->``, a fenced
json block equal to the ``figures`` of the demo's ``demo.json`` for ``--seed 0``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from venvs import venv_environment

from umbrella.components import COMPONENTS

ROOT = Path(__file__).resolve().parents[1]
FIGURES_BLOCK = re.compile(r"^<!-- demo-figures -->\s*\n```json\s*\n(?P<body>.*?)^```\s*$", re.M | re.S)
CHECKED = list(COMPONENTS)


def readme_figures(dist: str) -> dict:
    """The demo figures that a package's README states."""
    text = (ROOT / "packages" / dist / "README.md").read_text(encoding="utf-8")
    match = FIGURES_BLOCK.search(text)
    assert match, f"packages/{dist}/README.md has no '<!-- demo-figures -->' json block"
    return json.loads(match.group("body"))


@pytest.fixture(scope="session")
def demo_run(
    umbrella_venv: tuple[Path, object], tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``umbrella demo --out DIR --seed 0`` in the fresh venv installed by umbrella's README block (once)."""
    venv, _ = umbrella_venv
    out = tmp_path_factory.mktemp("umbrella-demo") / "out"
    command = ["umbrella", "demo", "--out", str(out), "--seed", "0"]
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, env=venv_environment(venv)
    )
    return completed, out


def test_demo_exits_0_with_a_summary(demo_run) -> None:
    completed, out = demo_run
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert [c["status"] for c in summary["components"]] == ["ok"] * len(CHECKED)
    table = completed.stdout.split("component  ", 1)[1].split("\ntotal", 1)[0]
    assert max(len(line) for line in table.splitlines()) <= 100
    assert "all demos:" in completed.stdout
    for component in CHECKED:
        assert f"[{component.dist}] " in completed.stdout, f"{component.dist} streamed no progress line"


@pytest.mark.parametrize("component", CHECKED, ids=lambda c: c.dist)
def test_readme_states_the_demo_figures(component, demo_run) -> None:
    _, out = demo_run
    demo = json.loads((out / component.dist / "demo.json").read_text())
    assert demo["figures"] == readme_figures(component.dist)
    assert len(demo["key_figure"]) <= 40
