"""With umbrella[all] installed: every component resolves, is importable and has a working CLI."""

from __future__ import annotations

import importlib
import importlib.metadata
import runpy
import sys

import pytest

import umbrella
from umbrella.cli import main
from umbrella.components import COMPONENTS


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.dist)
def test_lazy_attribute_is_the_installed_module(component) -> None:
    module = getattr(umbrella, component.module)
    assert module is importlib.import_module(component.module)
    assert module.__version__ == importlib.metadata.version(component.dist)


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.dist)
def test_component_cli_reports_its_version(
    component, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m <module> --version`` (run in this process: its ``__main__`` as the main module)."""
    monkeypatch.setattr(sys, "argv", [component.module, "--version"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_module(component.module, run_name="__main__", alter_sys=True)
    assert stop.value.code in (0, None)
    assert component.installed_version() in capsys.readouterr().out


def test_info_lists_installed_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    printed = capsys.readouterr().out
    assert "not installed" not in printed
    for component in COMPONENTS:
        assert f"{component.dist}" in printed
        assert component.installed_version() in printed


def test_umbrella_extras_are_satisfied_by_installed_siblings() -> None:
    for component in COMPONENTS:
        major, minor = (int(x) for x in component.installed_version().split(".")[:2])
        assert (major, minor) == (0, 1), f"{component.dist} is outside umbrella's range >=0.1,<0.2"
