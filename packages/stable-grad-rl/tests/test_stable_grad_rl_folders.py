"""The folder-ownership rule: marker first, foreign folders refused, staged --overwrite, Ray addresses."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from stable_grad_rl.cli import main
from stable_grad_rl.folders import MARKER
from stable_grad_rl.nonstationary import NonStationaryTrainer

TASK = ["--set", "n_phases=2", "--set", "n_samples=64", "--set", "batch_size=32", "--set", "log_every=10"]
GRID = ["sweep", "--algo", "nonstationary", "--depths", "3", "--widths", "8", "--interventions", "baseline",
        "--num-seeds", "1", "--steps", "10", *TASK]  # fmt: skip


def ns_argv(out: Path, *extra: str) -> list[str]:
    return ["train", "--algo", "nonstationary", "--depth", "2", "--width", "8", "--steps", "10",
            "--checkpoint-every", "5", "--no-progress", "--out", str(out), *TASK, *extra]  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("name", ["config.json", "summary.json", "metrics.jsonl"])
@pytest.mark.parametrize("command", ["train", "sweep"])
def test_user_folder_with_run_file_names_is_refused(tmp_path: Path, capsys, name: str, command: str) -> None:
    (tmp_path / name).write_text('{"iteration": 1, "mine": true}\n')
    before = snapshot(tmp_path)
    argv = ns_argv(tmp_path) if command == "train" else [*GRID, "--out", str(tmp_path)]
    for flag in ([], ["--overwrite"], ["--resume"]):
        assert main([*argv, *flag]) == 2
        assert "holds no stable-grad-rl" in one_error_line(capsys)
    assert snapshot(tmp_path) == before


def test_marker_first_and_kinds_kept_apart(tmp_path: Path, capsys) -> None:
    assert main(ns_argv(tmp_path / "run")) == 0
    marker = json.loads((tmp_path / "run" / MARKER).read_text())
    assert marker["package"] == "stable-grad-rl" and marker["kind"] == "train" and marker["version"]
    before = snapshot(tmp_path / "run")
    assert main([*GRID, "--out", str(tmp_path / "run"), "--overwrite"]) == 2  # a run is no sweep
    assert "holds a stable-grad-rl run, not a sweep" in one_error_line(capsys)
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / MARKER).write_text('{"package": "someone-else", "kind": "train"}')
    assert main([*ns_argv(tmp_path / "fake"), "--overwrite"]) == 2
    assert "not a stable-grad-rl marker" in one_error_line(capsys)
    assert snapshot(tmp_path / "run") == before


@pytest.mark.parametrize("flag", ["--resume", "--overwrite"])
def test_run_killed_before_or_while_writing_its_first_config(tmp_path: Path, flag: str) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"package": "stable-grad-rl", "kind": "train", "version": "0.1.0"}))
    (out / ".config.json.k1ll3d").write_text('{"conf')  # the temp file of the interrupted write
    assert main(ns_argv(out)) == 2  # still refused without a flag
    assert main([*ns_argv(out), flag]) == 0
    assert (out / "summary.json").exists() and not list(out.glob(".config.json.*"))
    assert not [p for p in tmp_path.iterdir() if p.name != "run"]  # no staging folder left


def test_failed_overwrite_keeps_the_old_run_and_a_rerun_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    assert main(ns_argv(out)) == 0
    before = snapshot(out)
    original = NonStationaryTrainer.step

    def crash(self: NonStationaryTrainer) -> object:
        if self.iteration == 7:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(NonStationaryTrainer, "step", crash)
    with pytest.raises(KeyboardInterrupt):
        main([*ns_argv(out, "--seed", "3"), "--overwrite"])
    assert snapshot(out) == before  # the old result is intact while the new one is unfinished
    monkeypatch.setattr(NonStationaryTrainer, "step", original)
    dead = tmp_path / ".run.staging-999999999"  # a staging folder of a killed process
    dead.mkdir()
    (dead / MARKER).write_text("{}")
    (tmp_path / ".run.staging-1-notes").mkdir()  # not ours (no marker): kept
    assert main([*ns_argv(out, "--seed", "3"), "--overwrite"]) == 0
    assert json.loads((out / "config.json").read_text())["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.staging-1-notes", "run"]


def test_multi_seed_parent_folder_is_owned(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main([*ns_argv(tmp_path), "--num-seeds", "2"]) == 2
    assert "holds no stable-grad-rl" in one_error_line(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("address", ["127.0.0.1:1", "auto", "no-port", "127.0.0.1:99999"])
def test_bad_ray_address_fails_fast_and_touches_nothing(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "no-ray"))  # no Ray instance "on this machine"
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    old = tmp_path / "old"  # an earlier sweep (its marker and result files)
    old.mkdir()
    (old / MARKER).write_text(json.dumps({"package": "stable-grad-rl", "kind": "sweep", "version": "0.1.0"}))
    (old / "results.json").write_text("[]")
    before = snapshot(old)
    for out, flag in ((tmp_path / "new", []), (old, ["--overwrite"])):
        start = time.monotonic()
        argv = [*GRID, "--engine", "ray", "--address", address, "--out", str(out), *flag]
        assert main(argv) == 2
        assert time.monotonic() - start < 10
        assert address in one_error_line(capsys)
    assert not (tmp_path / "new").exists()
    assert snapshot(old) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_auto_reads_the_local_cluster_file_only_when_asked(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:1\n")
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main([*GRID, "--engine", "ray", "--address", "auto", "--out", str(tmp_path / "s")]) == 2
    assert "auto (127.0.0.1:1)" in one_error_line(capsys)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [(["--address", "127.0.0.1:6379"], "--address"), (["--engine", "ray", "--workers", "2"], "--workers")],
)
def test_options_that_do_nothing_with_the_engine_are_refused(tmp_path: Path, capsys, extra, needle) -> None:
    assert main([*GRID, *extra, "--out", str(tmp_path / "s")]) == 2
    assert needle in one_error_line(capsys)
    assert not (tmp_path / "s").exists()


def test_demo_reruns_into_a_folder_left_by_a_killed_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import stable_grad_rl.demo as demo

    monkeypatch.setattr(demo, "DEMO_TASK", {"n_phases": 2, "steps_per_phase": 10, "n_samples": 64,
                                            "batch_size": 32, "log_every": 5})  # fmt: skip
    monkeypatch.setattr(demo, "DEMO_LAYERS", 4)
    out = tmp_path / "demo"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"package": "stable-grad-rl", "kind": "demo", "version": "0"}))
    (out / "plain").mkdir()  # killed inside the first run, before its config.json
    (out / "plain" / MARKER).write_text(json.dumps({"package": "stable-grad-rl", "kind": "train"}))
    assert main(["demo", "--out", str(out)]) == 0
    assert json.loads((out / "demo.json").read_text())["key_figure"]
    assert os.listdir(tmp_path) == ["demo"]
    capsys.readouterr()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "demo.json").write_text("{}")  # a user's file of the demo's name, no marker
    assert main(["demo", "--out", str(tmp_path / "mine")]) == 2
    assert "holds no stable-grad-rl demo" in one_error_line(capsys)
