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
from umbrella.outdir import claim


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
    # only a finished demo becomes out/<component>; a failed one leaves no staging folder behind
    assert (tmp_path / "out" / f"fake-{kind}").is_dir() == (status == "ok")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ([f"fake-{kind}"] if status == "ok" else [])


def test_a_failed_rerun_keeps_the_earlier_result(fake_component, tmp_path: Path) -> None:
    ok = fake_component("ok")
    run_component_demo(ok, tmp_path, 0, 60)
    before = (tmp_path / "fake-ok" / "demo.json").read_bytes()
    failing = InstalledFake(ok.dist, fake_component("failed").module, "a fake")
    assert run_component_demo(failing, tmp_path, 0, 60).status == "failed"
    assert (tmp_path / "fake-ok" / "demo.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


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


BAD_ARGUMENTS = [
    (["--jobs", "0"], "--jobs"),
    (["--jobs", "two"], "two"),
    (["--timeout", "-1"], "-1"),
    (["--timeout", "0"], "'0'"),
    (["--timeout", "nan"], "nan"),
    (["--timeout", "inf"], "inf"),
    (["--timeout=-inf"], "-inf"),
    (["--timeout", "1e300"], "1e300"),
    (["--timeout", "soon"], "soon"),
    (["--seed", "-1"], "-1"),
    (["--seed", "4294967296"], "4294967296"),
    (["--out", "file/inside"], "file"),
    (["--out", "mine"], "mine"),  # a user's folder: not empty, no umbrella marker
    (["--out", "other-marker"], "other-marker"),  # another package's run folder
    (["--out", "bad\0name"], "NUL"),
]


@pytest.mark.parametrize(
    ("argv", "named"), BAD_ARGUMENTS, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_bad_demo_arguments_exit_2_with_one_line_and_touch_nothing(
    tmp_path: Path, monkeypatch, argv: list[str], named: str, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("a file, not a folder")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text('{"mine": true}')
    (tmp_path / "other-marker").mkdir()
    (tmp_path / "other-marker" / ".umbrella-run.json").write_text('{"package": "rice-n", "kind": "train"}')
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert named in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine", "other-marker"]


def test_demo_twice_into_one_out_replaces_each_result(fake_component, tmp_path: Path, monkeypatch) -> None:
    from umbrella import demo as demo_module

    monkeypatch.setattr(demo_module, "COMPONENTS", (fake_component("ok"),))
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--jobs", "1"]) == 0
    first = (out / "fake-ok" / "demo.json").stat().st_ino
    marker = json.loads((out / ".umbrella-run.json").read_text())
    assert (marker["package"], marker["kind"]) == ("umbrella", "demo")
    assert main(["demo", "--out", str(out), "--jobs", "1"]) == 0
    assert (out / "fake-ok" / "demo.json").stat().st_ino != first  # a new result, swapped in
    assert sorted(p.name for p in out.iterdir()) == [".umbrella-run.json", "fake-ok", "summary.json"]


def dead_pid() -> int:
    """The id of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_rerun_removes_what_a_killed_demo_left(fake_component, tmp_path: Path, monkeypatch) -> None:
    from umbrella import demo as demo_module

    monkeypatch.setattr(demo_module, "COMPONENTS", (fake_component("ok"),))
    out = tmp_path / "out"
    out.mkdir()
    (out / ".umbrella-run.json").write_text('{"package": "umbrella", "kind": "demo", "version": "0.1.0"}')
    pid = dead_pid()
    for leftover in (f".stable-grad-rl.tmp-{pid}", f".rice-n.old-{pid}"):
        (out / leftover).mkdir()
        (out / leftover / "config.json").write_text("{}")
    (out / f".summary.json.tmp-{pid}").write_text("{")
    (out / "stable-grad-rl").mkdir()  # an earlier finished result of a component not run now: kept
    assert main(["demo", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".umbrella-run.json",
        "fake-ok",
        "stable-grad-rl",
        "summary.json",
    ]


def test_demo_with_nothing_installed_reports_and_succeeds(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert (tmp_path / ".umbrella-run.json").is_file()
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
    staging = tmp_path / "out" / f".{component.dist}.tmp-{parent.pid}"
    pid_file = staging / "pid"
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
    assert not (tmp_path / "out" / component.dist).exists()  # the killed demo never became a result
    claim(tmp_path / "out")  # what a rerun does first
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".umbrella-run.json"]
