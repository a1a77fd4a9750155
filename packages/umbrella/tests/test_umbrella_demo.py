"""umbrella demo: classification of component outcomes and the summary table."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from umbrella.cli import main
from umbrella.components import Component
from umbrella.demo import run_component_demo, summary_table


@dataclass(frozen=True)
class InstalledFake(Component):
    """A component that claims to be installed, backed by a module written by the test."""

    def installed_version(self) -> str | None:
        return "0.1.0"


MAIN_BODIES = {
    "ok": """
        out = sys.argv[sys.argv.index("--out") + 1]
        print("[1/2] thinking", flush=True)
        print("[2/2] answering", flush=True)
        figures = {"answer": 42}
        pathlib.Path(out, "demo.json").write_text(json.dumps({"key_figure": "answer 42", "figures": figures}))
    """,
    "long": """
        print("a key figure far longer than the table's column allows", flush=True)
        out = sys.argv[sys.argv.index("--out") + 1]
        pathlib.Path(out, "demo.json").write_text(json.dumps({"key_figure": "x" * 90}))
    """,
    "slow": """
        import os, time
        out = sys.argv[sys.argv.index("--out") + 1]
        pathlib.Path(out, "pid").write_text(str(os.getpid()))
        time.sleep(60)
    """,
    "missing": "sys.exit(3)",
    "failed": "sys.exit(1)",
}


@pytest.fixture
def fake_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def make(kind: str) -> Component:
        package = tmp_path / "lib" / f"fake_{kind}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        body = textwrap.dedent(MAIN_BODIES[kind])
        (package / "__main__.py").write_text("import json, pathlib, sys\n" + body)
        monkeypatch.setenv("PYTHONPATH", str(tmp_path / "lib"))
        return InstalledFake(f"fake-{kind}", f"fake_{kind}", "a fake")

    return make


@pytest.mark.parametrize(
    ("kind", "status", "figure"),
    [("ok", "ok", "answer 42"), ("missing", "missing", "not built yet"), ("failed", "failed", "exit code 1")],
)
def test_outcome_classification(fake_component, tmp_path: Path, kind: str, status: str, figure: str) -> None:
    outcome = run_component_demo(fake_component(kind), tmp_path / "out", seed=0, timeout=60)
    assert (outcome.status, outcome.key_figure) == (status, figure)
    assert (tmp_path / "out" / f"fake-{kind}").is_dir()


def test_summary_table_has_one_row_per_component(fake_component, tmp_path: Path) -> None:
    outcomes = [run_component_demo(fake_component(k), tmp_path, 0, 60) for k in ("ok", "failed", "long")]
    lines = summary_table(outcomes).splitlines()
    assert lines[0].split() == ["component", "status", "key", "figure", "wall", "s", "CPU", "s"]
    assert lines[2].startswith("fake-ok") and "answer 42" in lines[2]
    assert lines[3].startswith("fake-failed") and "failed" in lines[3]
    assert lines[5].startswith("total")
    assert max(len(line) for line in lines) <= 100


def test_progress_lines_stream_with_the_component_name(fake_component, tmp_path: Path) -> None:
    seen: list[str] = []
    outcome = run_component_demo(fake_component("ok"), tmp_path, 0, 60, echo=seen.append)
    assert seen == ["[fake-ok] [1/2] thinking", "[fake-ok] [2/2] answering"]
    assert outcome.figures == {"answer": 42}
    assert outcome.cpu_seconds > 0


def test_a_demo_over_its_time_is_killed(fake_component, tmp_path: Path) -> None:
    outcome = run_component_demo(fake_component("slow"), tmp_path, 0, timeout=1.0)
    assert outcome.status == "timeout"
    assert outcome.seconds < 30


def test_parallel_demos_keep_table_order(fake_component, tmp_path: Path, monkeypatch) -> None:
    from umbrella import demo as demo_module

    fakes = (fake_component("ok"), fake_component("failed"), fake_component("missing"))
    monkeypatch.setattr(demo_module, "COMPONENTS", fakes)
    outcomes = demo_module.run_demos(tmp_path, jobs=2, echo=lambda line: None)
    assert [o.status for o in outcomes] == ["ok", "failed", "missing"]


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--timeout", "-1"], ["--out", "file/inside"]])
def test_bad_demo_arguments_exit_2_and_create_nothing(tmp_path: Path, monkeypatch, argv, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *argv])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) <= 3  # argparse's usage + one error line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_demo_with_nothing_installed_reports_and_succeeds(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("not installed") == 5
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {c["status"] for c in summary["components"]} == {"not installed"}


def test_info_lists_every_component(capsys) -> None:
    assert main(["info"]) == 0
    printed = capsys.readouterr().out
    for name in ("sparse-drl", "stable-grad-rl", "rice-n", "map-merge", "vcr-wiki"):
        assert name in printed


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_demo_dies_with_a_killed_umbrella(fake_component, tmp_path: Path) -> None:
    component = fake_component("slow")
    script = (
        "import pathlib, sys\n"
        "from umbrella.components import Component\n"
        "from umbrella.demo import run_component_demo\n"
        "class Fake(Component):\n"
        "    def installed_version(self): return '0.1.0'\n"
        f"fake = Fake({component.dist!r}, {component.module!r}, 'a fake')\n"
        "run_component_demo(fake, pathlib.Path(sys.argv[1]), 0, 60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "out")])
    pid_file = tmp_path / "out" / component.dist / "pid"
    deadline = time.time() + 60
    while time.time() < deadline and not (pid_file.exists() and pid_file.read_text()):
        time.sleep(0.1)
    demo_pid = int(pid_file.read_text())
    assert alive(demo_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 5
    while time.time() < deadline and alive(demo_pid):
        time.sleep(0.1)
    assert not alive(demo_pid), "the demo outlived a killed umbrella by more than 5 s"
