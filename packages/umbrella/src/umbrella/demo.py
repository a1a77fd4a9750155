"""Run the ``demo`` subcommand of every installed component and summarize the outcomes.

Contract with the components: ``python -m <module> demo --out DIR --seed S`` writes its outputs
under ``DIR``, including ``DIR/demo.json`` whose ``key_figure`` entry is one short string (for
example ``"IGD 0.031"``) and whose ``figures`` entry holds its headline numbers. It prints a line per
stage as it runs; umbrella streams those lines, prefixed with the component's name. Exit code 0 means
success, 3 means "not built yet"; anything else is a failure.

Each demo runs in an empty staging folder of its own and replaces ``OUT/<component>`` only when it
succeeded, so a rerun into the same ``--out`` never hands a component a folder it would refuse.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umbrella.components import COMPONENTS, Component
from umbrella.outdir import staging_folder, swap_in

NOT_BUILT_EXIT_CODE = 3
KEY_FIGURE_WIDTH = 40
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class DemoOutcome:
    """What one component's demo did."""

    component: str
    status: str  # "ok", "missing" (not built yet), "not installed", "failed", "timeout"
    key_figure: str
    seconds: float
    cpu_seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)


def load_prctl() -> Callable[..., int] | None:
    """Linux's prctl from the C library, loaded in the parent (never import in a forked child)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: demos then outlive a killed umbrella
        return None


PRCTL = load_prctl()


def die_with_parent() -> None:
    """In the child before exec: ask Linux to kill this process when its parent dies."""
    if PRCTL is not None:
        PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def stream_lines(pipe: Any, prefix: str, echo: Callable[[str], None]) -> None:
    """Echo every line read from a child's output pipe, prefixed, until the pipe closes."""
    for line in iter(pipe.readline, ""):
        echo(f"{prefix}{line.rstrip()}")
    pipe.close()


def run_component_demo(
    component: Component,
    out: Path,
    seed: int,
    timeout: float,
    echo: Callable[[str], None] = print,
) -> DemoOutcome:
    """Run one component's demo in a subprocess, stream its lines, and classify the result.

    The demo writes into a fresh staging folder that becomes ``out/<component>`` once the demo exits
    0; after a failure the staging folder is removed and an earlier result stays as it was.
    """
    if component.installed_version() is None:
        return DemoOutcome(component.dist, "not installed", component.install_line, 0.0)
    out.mkdir(parents=True, exist_ok=True)
    target = staging_folder(out, component.dist)
    try:
        return run_in_folder(component, target, out, seed, timeout, echo)
    finally:
        if target.is_dir():
            shutil.rmtree(target)


def run_in_folder(
    component: Component,
    target: Path,
    out: Path,
    seed: int,
    timeout: float,
    echo: Callable[[str], None],
) -> DemoOutcome:
    """Run the demo into ``target``; on success swap it in as ``out/<component>``."""
    command = [sys.executable, "-m", component.module, "demo", "--out", str(target), "--seed", str(seed)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    reader = threading.Thread(target=stream_lines, args=(process.stdout, f"[{component.dist}] ", echo))
    reader.start()
    timed_out = threading.Event()

    def kill_on_timeout() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill_on_timeout)
    timer.start()
    _, status, usage = os.wait4(process.pid, 0)
    timer.cancel()
    reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    if timed_out.is_set():
        return DemoOutcome(component.dist, "timeout", f"over {timeout:.0f} s", seconds, cpu)
    if process.returncode == NOT_BUILT_EXIT_CODE:
        return DemoOutcome(component.dist, "missing", "not built yet", seconds, cpu)
    if process.returncode != 0:
        return DemoOutcome(component.dist, "failed", f"exit code {process.returncode}", seconds, cpu)
    key_figure, figures = read_demo_json(target / "demo.json")
    swap_in(target, out, component.dist)
    return DemoOutcome(component.dist, "ok", key_figure, seconds, cpu, figures)


def read_demo_json(path: Path) -> tuple[str, dict[str, Any]]:
    """The ``key_figure`` string and ``figures`` of a component's demo.json (a note when absent)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        figures = data.get("figures", {})
        return str(data["key_figure"]), figures if isinstance(figures, dict) else {}
    except FileNotFoundError:
        return "no demo.json", {}
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return "demo.json has no key_figure", {}


def default_jobs() -> int:
    """How many demos run at once by default: one per core, at most two (each demo is single-threaded)."""
    return max(1, min(2, os.cpu_count() or 1))


def run_demos(
    out: Path,
    seed: int = 0,
    only: list[str] | None = None,
    timeout: float = 1800.0,
    jobs: int = 1,
    echo: Callable[[str], None] = print,
) -> list[DemoOutcome]:
    """Run the demos of the selected components (all by default), ``jobs`` at a time, in table order."""
    selected = [c for c in COMPONENTS if not only or c.dist in only]
    lock = threading.Lock()

    def locked_echo(line: str) -> None:
        with lock:
            echo(line)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_component_demo, c, out, seed, timeout, locked_echo) for c in selected]
        return [f.result() for f in futures]


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """Render rows as a plain-text table with aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def shorten(text: str, width: int = KEY_FIGURE_WIDTH) -> str:
    """Cut a string to ``width`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_table(outcomes: list[DemoOutcome]) -> str:
    """The one summary table that ``umbrella demo`` prints (under 100 columns)."""
    rows = [
        [o.component, o.status, shorten(o.key_figure), f"{o.seconds:.0f}", f"{o.cpu_seconds:.0f}"]
        for o in outcomes
    ]
    total = ["total", "", "", "", f"{sum(o.cpu_seconds for o in outcomes):.0f}"]
    return format_table([*rows, total], ["component", "status", "key figure", "wall s", "CPU s"])
