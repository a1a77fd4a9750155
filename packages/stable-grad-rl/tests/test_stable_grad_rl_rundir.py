"""The run-folder contract: refusal, --overwrite, one-line bad-input errors, safe --resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from stable_grad_rl.cli import main

TASK = ["--set", "n_phases=2", "--set", "n_samples=128", "--set", "batch_size=32", "--set", "log_every=10"]


def ns_argv(out: Path, *extra: str, steps: int = 30) -> list[str]:
    return ["train", "--algo", "nonstationary", "--kind", "plain", "--depth", "2", "--width", "16",
            "--steps", str(steps), "--checkpoint-every", "10", "--no-progress", "--out", str(out),
            *TASK, *extra]  # fmt: skip


def strip(path: Path) -> list[dict]:
    return [
        {k: v for k, v in json.loads(ln).items() if k != "wall_time"} for ln in path.read_text().splitlines()
    ]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_existing_run_is_refused_then_overwritten(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(ns_argv(out)) == 0
    before = snapshot(out)
    capsys.readouterr()
    assert main(ns_argv(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds a run" in err[0] and "--overwrite" in err[0]
    assert snapshot(out) == before  # metrics.jsonl and everything else untouched
    assert main([*ns_argv(out), "--resume"]) == 0  # finished: returned as is
    assert snapshot(out) == before
    assert main([*ns_argv(out, steps=20), "--overwrite"]) == 0
    assert strip(out / "metrics.jsonl")[-1]["iteration"] == 40
    assert (out / "config.json").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_foreign_folder_is_refused_even_with_overwrite(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    for flag in ([], ["--overwrite"], ["--resume"]):
        assert main([*ns_argv(tmp_path), *flag]) == 2
        assert "holds no stable-grad-rl run" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--lr", "inf"], "lr"),
        (["--lr", "nan"], "lr"),
        (["--lr", "-1"], "lr"),
        (["--checkpoint-every", "0"], "checkpoint_every"),
        (["--set", "lr=Infinity"], "lr"),
        (["--depth", "0"], "depth"),
        (["--device", "cuda:99" if torch.cuda.is_available() else "cuda"], "cuda"),
        (["--device", "warp-drive"], "warp-drive"),
    ],
)
def test_bad_train_input_one_line_nothing_created(tmp_path: Path, capsys, extra, needle) -> None:
    out = tmp_path / "new" / "run"
    assert main([*ns_argv(out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("stable-grad-rl train: error:") and needle in err[0], err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("env", ["NoSuchEnv-v0", "MinAtar/NoSuchGame-v1", "Pendulum-v1"])
def test_bad_env_one_line_nothing_created(tmp_path: Path, capsys, env: str) -> None:
    out = tmp_path / "run"
    assert main(["train", "--algo", "pqn", "--env", env, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and (env in err[0] or "Discrete" in err[0]), err
    assert not out.exists()


def test_out_under_a_regular_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    assert main(ns_argv(tmp_path / "file" / "run")) == 2
    assert main(ns_argv(tmp_path / "file")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("not a directory" in e for e in err)
    assert (tmp_path / "file").read_text() == "x"


class Opaque:
    """An object only a full unpickler can rebuild."""


@pytest.mark.parametrize("damage", ["truncated", "foreign", "pickled", "mismatched", "no-config"])
def test_resume_rejects_bad_checkpoints(tmp_path: Path, capsys, damage: str) -> None:
    out = tmp_path / "run"
    assert main(ns_argv(out)) == 0
    (out / "summary.json").unlink()  # an unfinished run
    ckpt = out / "checkpoint.pt"
    if damage == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[:200])
    elif damage == "foreign":
        torch.save({"weights": torch.zeros(3)}, ckpt)
    elif damage == "pickled":
        torch.save({"iteration": 1, "model": Opaque()}, ckpt)
    elif damage == "mismatched":
        state = torch.load(ckpt, weights_only=True)
        state["model"] = {"0.weight": torch.zeros(2, 2)}
        torch.save(state, ckpt)
    else:
        (out / "config.json").write_text(json.dumps({"version": "0.1.0"}))
    before = snapshot(out)
    capsys.readouterr()
    assert main([*ns_argv(out), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("checkpoint" in err[0] or "config" in err[0]), err
    assert snapshot(out) == before


def test_resume_after_kill_cleans_temp_files_and_torn_line(tmp_path: Path) -> None:
    steps = 400
    ref = tmp_path / "ref"
    assert main(ns_argv(ref, steps=steps)) == 0
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "stable_grad_rl", *ns_argv(out, steps=steps)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "checkpoint.pt").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "checkpoint.pt").exists()
    (out / ".checkpoint.pt.dead0001").write_bytes(b"")  # what a kill inside torch.save leaves
    with (out / "metrics.jsonl").open("a") as fh:
        fh.write('{"iteration": 99999, "ph')  # a torn last line
    assert main(ns_argv(out, steps=steps)) == 2  # refused without --resume
    assert main([*ns_argv(out, steps=steps), "--resume"]) == 0
    assert not list(out.glob(".checkpoint.*"))
    assert strip(out / "metrics.jsonl") == strip(ref / "metrics.jsonl")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["phase_accuracy"] == json.loads((ref / "summary.json").read_text())["phase_accuracy"]


def test_multi_seed_validates_every_seed_first(tmp_path: Path, capsys) -> None:
    assert main([*ns_argv(tmp_path / "multi"), "--num-seeds", "2"]) == 0
    seed1 = tmp_path / "multi" / "seed_1"
    (seed1 / "summary.json").unlink()
    (seed1 / "checkpoint.pt").write_bytes(b"garbage")
    before = snapshot(tmp_path / "multi")
    capsys.readouterr()
    assert main([*ns_argv(tmp_path / "multi"), "--num-seeds", "2", "--resume"]) == 2
    assert "seed_1" in capsys.readouterr().err
    assert snapshot(tmp_path / "multi") == before
