"""Sweeps: run-folder layout, refusal, the Ray engine's absence message, workers that die with the parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from sparse_drl.cli import main
from sparse_drl.io import read_jsonl
from sparse_drl.rundir import MARKER

GRID = [
    "--agent", "dqn", "--sizes", "16x1", "--sparsities", "0", "0.5", "--seed", "0",
    "--learning-starts", "100", "--eval-every", "100", "--log-every", "100", "--eval-episodes", "1",
]  # fmt: skip


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    try:
        code = main(args)
    except SystemExit as err:
        code = int(err.code) if isinstance(err.code, int) else 2
    return code, capsys.readouterr().err.strip().splitlines()


def test_ray_engine_without_ray_gives_pip_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    out = tmp_path / "sweep"
    code, err = run_cli(["sweep", *GRID, "--steps", "200", "--engine", "ray", "--out", str(out)], capsys)
    assert code == 2 and len(err) == 1 and 'pip install "sparse-drl[ray]"' in err[0], err
    assert not out.exists()


def test_sweep_refuses_foreign_folder_and_bad_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data.csv").write_text("a,b\n")
    code, err = run_cli(["sweep", *GRID, "--steps", "200", "--out", str(tmp_path)], capsys)
    assert code == 2 and len(err) == 1 and "holds no sparse-drl sweep" in err[0]
    out = tmp_path / "new"
    for bad in (["--lr", "inf"], ["--sizes", "16"], ["--sparsities", "1.0"], ["--workers", "0"]):
        code, err = run_cli(["sweep", *GRID, "--steps", "200", "--out", str(out), *bad], capsys)
        assert code == 2 and len(err) == 1, (bad, err)
        assert not out.exists()


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out.update(int(t) for t in text)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and PR_SET_PDEATHSIG")
def test_workers_die_with_parent_and_write_nothing_after(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "sparse_drl", "sweep", *GRID, "--steps", "50000", "--workers", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.Popen([*cmd, "--out", str(out)], env=env, stdout=subprocess.DEVNULL)
    runs = [out / "16x1_s0_seed0", out / "16x1_s0.5_seed0"]
    deadline = time.time() + 180
    while time.time() < deadline and not all(read_jsonl(r / "metrics.jsonl") for r in runs):
        time.sleep(0.2)
    assert all(read_jsonl(r / "metrics.jsonl") for r in runs), "workers did not start writing"
    workers = _children(proc.pid)
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "a worker outlived its parent by more than 5 s"
    before = {p: p.stat().st_mtime_ns for r in runs for p in r.iterdir()}
    time.sleep(2)
    after = {p: p.stat().st_mtime_ns for r in runs for p in r.iterdir()}
    assert before == after


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_existing_sweep_needs_resume_or_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    tiny = [*GRID, "--steps", "100", "--out", str(out)]
    assert run_cli(["sweep", *tiny], capsys)[0] == 0
    assert json.loads((out / MARKER).read_text())["kind"] == "sweep"
    before = snapshot(out)
    code, err = run_cli(["sweep", *tiny], capsys)
    assert code == 2 and len(err) == 1 and "already holds a sweep" in err[0]
    code, err = run_cli(["sweep", *tiny, "--seed", "1", "--resume"], capsys)
    assert code == 2 and "differs from the requested one" in err[0]
    # a failed --overwrite (nobody listens at the address) keeps the old sweep, within seconds
    start = time.monotonic()
    bad_address = ["--engine", "ray", "--address", "127.0.0.1:1"]
    code, err = run_cli(["sweep", *tiny, "--seed", "1", "--overwrite", *bad_address], capsys)
    assert code == 2 and len(err) == 1 and "127.0.0.1:1" in err[0], err
    assert time.monotonic() - start < 10
    assert snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]
    # a user's notes inside a trial folder: --overwrite refused, the notes kept; --resume leaves them
    (out / "16x1_s0_seed0" / "notes.txt").write_text("mine")
    code, err = run_cli(["sweep", *tiny, "--seed", "1", "--overwrite"], capsys)
    assert code == 2 and len(err) == 1 and "16x1_s0_seed0/notes.txt" in err[0], err
    assert run_cli(["sweep", *tiny, "--resume"], capsys)[0] == 0
    assert (out / "16x1_s0_seed0" / "notes.txt").read_text() == "mine"
    (out / "16x1_s0_seed0" / "notes.txt").unlink()
    assert run_cli(["sweep", *tiny, "--seed", "1", "--overwrite"], capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["16x1_s0.5_seed1", "16x1_s0_seed1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]


@pytest.mark.parametrize("name", ["sweep-config.json", "summary.json", "config.json", "metrics.jsonl"])
def test_sweep_refuses_users_folder_with_any_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / name).write_text('{"package": "sparse-drl"}\n')
    before = snapshot(tmp_path)
    for flag in ([], ["--overwrite"], ["--resume"]):
        code, err = run_cli(["sweep", *GRID, "--steps", "100", "--out", str(tmp_path), *flag], capsys)
        assert code == 2 and len(err) == 1 and "holds no sparse-drl sweep" in err[0], err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--seed", "0", "0"], "twice"),
        (["--address", "127.0.0.1:6379"], "--engine ray only"),
        (["--engine", "ray", "--workers", "2"], "--engine local only"),
        (["--engine", "ray", "--address", "127.0.0.1:1"], "cannot reach"),
        (["--engine", "ray", "--address", "nonsense"], "HOST:PORT"),
        (["--engine", "ray", "--address", "127.0.0.1:99999"], "HOST:PORT"),
    ],
)
def test_sweep_bad_options_one_line_nothing_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    out = tmp_path / "new"
    code, err = run_cli(["sweep", *GRID, "--steps", "100", "--out", str(out), *extra], capsys)
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("found", "needle"),
    [(ConnectionError("Could not find any running Ray instance"), "no running Ray instance"),
     ("127.0.0.1:1", "cannot reach a Ray cluster at 127.0.0.1:1")],
)  # fmt: skip
def test_address_auto_resolved_and_reached_before_anything(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    found: object,
    needle: str,
) -> None:
    def canonicalize(address: str) -> str:
        assert address == "auto"
        if isinstance(found, Exception):
            raise found
        return str(found)

    fake = types.SimpleNamespace(canonicalize_bootstrap_address=canonicalize)
    monkeypatch.setitem(sys.modules, "ray._private.services", fake)  # Ray's own lookup, without Ray
    out = tmp_path / "new"
    code, err = run_cli(
        ["sweep", *GRID, "--steps", "100", "--engine", "ray", "--address", "auto", "--out", str(out)], capsys
    )
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert list(tmp_path.iterdir()) == []
