"""Sweeps: the sweep-folder contract, the local pool dying with its parent, the ray engine's missing-extra error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stable_grad_rl.cli import main

GRID = ["sweep", "--algo", "nonstationary", "--depths", "3", "--widths", "8", "--interventions", "baseline",
        "multiskip", "--num-seeds", "1", "--set", "n_phases=2", "--set", "n_samples=128", "--set",
        "batch_size=32", "--set", "log_every=10", "--steps", "30"]  # fmt: skip


def test_sweep_folder_refused_resumed_overwritten(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sweep"
    assert main([*GRID, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".stable-grad-rl-run.json", "baseline_L3_W8_s0", "multiskip_L3_W8_s0", "results.json", "sweep.json"
    ]  # fmt: skip
    finished = (out / "baseline_L3_W8_s0" / "summary.json").stat().st_mtime_ns
    (out / "multiskip_L3_W8_s0" / "summary.json").unlink()  # an unfinished trial
    capsys.readouterr()
    assert main([*GRID, "--out", str(out)]) == 2
    assert "already holds a sweep" in capsys.readouterr().err
    assert main([*GRID, "--out", str(out), "--resume"]) == 0
    assert (out / "baseline_L3_W8_s0" / "summary.json").stat().st_mtime_ns == finished  # skipped
    assert (out / "multiskip_L3_W8_s0" / "summary.json").exists()  # continued
    assert main([*GRID, "--out", str(out), "--resume", "--num-seeds", "2"]) == 2  # another grid
    assert "differs" in capsys.readouterr().err
    assert main([*GRID, "--out", str(out), "--overwrite", "--interventions", "kron"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".stable-grad-rl-run.json", "kron_L3_W8_s0", "results.json", "sweep.json"
    ]  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["sweep"]  # the staging folder was swapped in
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    assert main([*GRID, "--out", str(tmp_path / "other"), "--overwrite"]) == 2
    assert main([*GRID, "--out", str(tmp_path / "w"), "--workers", "0"]) == 2
    assert (
        main([*GRID, "--out", str(tmp_path / "w"), "--address", "127.0.0.1:6379"]) == 2
    )  # with --engine local: refused, never contacted
    assert not (tmp_path / "w").exists()


def test_ray_engine_without_ray_names_the_extra(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main([*GRID, "--engine", "ray", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install "stable-grad-rl[ray]"' in err[0]
    assert not (tmp_path / "s").exists()


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        out += [int(c) for c in children]
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_pool_workers_die_with_parent(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    argv = [*GRID, "--steps", "3000", "--interventions", "baseline", "multiskip", "kron", "--workers", "2",
            "--out", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "stable_grad_rl", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 180
    workers: list[int] = []
    while time.time() < deadline:
        workers = [c for c in _children(proc.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
        if len(workers) == 2 and list(out.glob("*/metrics.jsonl")):
            break
        time.sleep(0.1)
    assert len(workers) == 2, "the pool did not start"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "a worker outlived its parent"
    before = {str(p): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    time.sleep(2)
    assert {str(p): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
    assert not (out / "results.json").exists()
    assert json.loads((out / "sweep.json").read_text())["trials"][0] == "baseline_L3_W8_s0"
