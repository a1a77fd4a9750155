"""Run-folder contract: bad input is one line and exit 2 with nothing created; refusal, overwrite, resume."""

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

from sparse_drl import __version__
from sparse_drl.cli import main
from sparse_drl.io import read_jsonl
from sparse_drl.rundir import MARKER

TINY = [
    "--agent", "sac", "--steps", "200", "--learning-starts", "100", "--critic-width", "16",
    "--critic-depth", "1", "--actor-width", "16", "--batch-size", "32", "--eval-every", "100",
    "--log-every", "100", "--eval-episodes", "1",
]  # fmt: skip


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Exit code and stderr lines of ``sparse-drl ARGS`` run in this process."""
    try:
        code = main(args)
    except SystemExit as err:
        code = int(err.code) if isinstance(err.code, int) else 2
    return code, capsys.readouterr().err.strip().splitlines()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--lr", "inf"], "lr must be a finite number"),
        (["--lr", "nan"], "must be a finite number"),
        (["--set", "tau=nan"], "tau must be a finite number"),
        (["--set", "clipped_double_q=false", "--set", "tau=x"], "tau must be a finite number"),
        (["--env", "NoSuchEnv-v0"], "NoSuchEnv-v0"),
        (["--env", "CartPole-v1"], "Box action space"),
        (["--set", "sparsity_method=bogus"], "bogus"),
        (["--set", "no_such_field=1"], "no_such_field"),
        (["--checkpoint-every", "0"], "checkpoint_every"),
        (["--method", "bogus"], "bogus"),
        (["--sparsity", "1.5"], "1.5"),
        (["--resume", "--overwrite"], "not allowed with"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    out = tmp_path / "new" / "run"
    code, err = run_cli(["train", *TINY, "--out", str(out), *extra], capsys)
    assert code == 2
    assert len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "new").exists()


def test_cuda_without_cuda(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, err = run_cli(["train", *TINY, "--device", "cuda", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and len(err) == 1 and "CUDA is not available" in err[0]
    assert not (tmp_path / "r").exists()


def test_out_under_regular_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    code, err = run_cli(["train", *TINY, "--out", str(tmp_path / "file" / "run")], capsys)
    assert code == 2 and len(err) == 1 and "not a folder" in err[0]
    code, err = run_cli(["train", *TINY, "--out", str(tmp_path / "file")], capsys)
    assert code == 2 and len(err) == 1 and "not a folder" in err[0]
    assert (tmp_path / "file").read_text() == "x"


def test_existing_run_refused_untouched(finished_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(finished_run)
    code, err = run_cli(["train", *TINY, "--out", str(finished_run)], capsys)
    assert code == 2 and len(err) == 1 and "already holds a run" in err[0]
    assert snapshot(finished_run) == before
    # a finished run resumed with the same options is a no-op
    code, _ = run_cli(["train", *TINY, "--out", str(finished_run), "--resume"], capsys)
    assert code == 0 and snapshot(finished_run) == before


def test_foreign_folder_refused_even_with_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    for flag in ([], ["--overwrite"], ["--resume"]):
        code, err = run_cli(["train", *TINY, "--out", str(tmp_path), *flag], capsys)
        assert code == 2 and len(err) == 1 and "holds no sparse-drl run" in err[0]
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_overwrite_replaces_run(
    tmp_path: Path, finished_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    for name in (MARKER, "config.json", "metrics.jsonl", "summary.json", "checkpoint.pt"):
        (out / name).write_bytes((finished_run / name).read_bytes())
    (out / "metrics.jsonl").write_text('{"step": 999}\n')
    code, _ = run_cli(["train", *TINY, "--sparsity", "0.5", "--out", str(out), "--overwrite"], capsys)
    assert code == 0
    assert [r["step"] for r in read_jsonl(out / "metrics.jsonl")] == [100, 200]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the staging folder was swapped in


def test_marker_written_first_and_names_the_kind(finished_run: Path) -> None:
    marker = json.loads((finished_run / MARKER).read_text())
    assert marker == {"package": "sparse-drl", "kind": "train", "version": __version__}


@pytest.mark.parametrize("name", ["config.json", "summary.json", "metrics.jsonl"])
def test_users_run_named_file_without_marker_refused_with_any_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / name).write_text('{"package": "sparse-drl", "config": {}, "step": 1}\n')
    before = snapshot(tmp_path)
    for flag in ([], ["--overwrite"], ["--resume"]):
        code, err = run_cli(["train", *TINY, "--out", str(tmp_path), *flag], capsys)
        assert code == 2 and len(err) == 1 and "holds no sparse-drl run" in err[0], err
    assert snapshot(tmp_path) == before


def test_overwrite_refuses_a_run_holding_a_users_file(
    tmp_path: Path, finished_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    for p in finished_run.iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    (out / "notes.md").write_text("my notes")
    before = snapshot(out)
    code, err = run_cli(["train", *TINY, "--out", str(out), "--overwrite"], capsys)
    assert code == 2 and len(err) == 1 and "notes.md" in err[0], err
    assert snapshot(out) == before


def test_run_killed_after_marker_resumes_or_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"package": "sparse-drl", "kind": "train", "version": "0"}))
    (out / f".{MARKER}.x1y2z3.tmp").write_text("")  # a sweep's or seed's marker write cut short is ignored
    code, err = run_cli(["train", *TINY, "--steps", "100", "--out", str(out)], capsys)
    assert code == 2 and len(err) == 1 and "--resume or --overwrite" in err[0], err
    code, err = run_cli(["train", *TINY, "--steps", "100", "--out", str(out), "--resume"], capsys)
    assert code == 0, err
    assert [r["step"] for r in read_jsonl(out / "metrics.jsonl")] == [100]
    assert not list(out.glob(".*.tmp"))


def test_failed_overwrite_keeps_the_old_run(
    tmp_path: Path, finished_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sparse_drl.agents.sac import SAC

    out = tmp_path / "run"
    out.mkdir()
    for p in finished_run.iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    before = snapshot(out)

    def crash(self: SAC, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the user stops the new run half-way

    monkeypatch.setattr(SAC, "train", crash)
    with pytest.raises(KeyboardInterrupt):
        main(["train", *TINY, "--out", str(out), "--overwrite"])
    assert snapshot(out) == before
    assert len(list(tmp_path.glob(".run.sparse-drl-staging-*"))) == 1
    monkeypatch.undo()
    code, _ = run_cli(["train", *TINY, "--out", str(out), "--overwrite", "--steps", "100"], capsys)
    assert code == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # leftover removed
    assert [r["step"] for r in read_jsonl(out / "metrics.jsonl")] == [100]


def test_seed_list_root_has_its_own_marker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "seeds"
    code, err = run_cli(["train", *TINY, "--steps", "100", "--seed", "0", "0", "--out", str(out)], capsys)
    assert code == 2 and len(err) == 1 and "twice" in err[0] and not out.exists()
    code, _ = run_cli(["train", *TINY, "--steps", "100", "--seed", "0", "1", "--out", str(out)], capsys)
    assert code == 0
    assert json.loads((out / MARKER).read_text())["kind"] == "seeds"
    assert json.loads((out / "seed1" / MARKER).read_text())["kind"] == "train"
    code, err = run_cli(["train", *TINY, "--steps", "100", "--out", str(out)], capsys)
    assert code == 2 and len(err) == 1 and "holds a sparse-drl seeds" in err[0], err


def _copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    (dst / "summary.json").unlink()  # unfinished: resume must read the checkpoint
    return dst


class Foreign:
    """A class that ``weights_only=True`` loading must refuse to unpickle."""


@pytest.mark.parametrize("case", ["truncated", "foreign", "pickled", "config-without-config"])
def test_resume_bad_checkpoint_or_config(
    tmp_path: Path, finished_run: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    out = _copy_run(finished_run, tmp_path / "run")
    ckpt = out / "checkpoint.pt"
    if case == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[:1000])
    elif case == "foreign":
        torch.save({"model": torch.zeros(3)}, ckpt)
    elif case == "pickled":
        torch.save({"config": Foreign(), "networks": {}}, ckpt)
    else:
        (out / "config.json").write_text('{"version": "0.1"}')
    before = snapshot(out)
    code, err = run_cli(["train", *TINY, "--steps", "300", "--out", str(out), "--resume"], capsys)
    assert code == 2 and len(err) == 1, err
    assert "checkpoint" in err[0] or "config" in err[0]
    assert snapshot(out) == before


def test_resume_after_kill_drops_torn_line_and_temp_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "sparse_drl",
        "train",
        *TINY,
        "--steps",
        "3000",
        "--checkpoint-every",
        "100",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.Popen([*args, "--out", str(out)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(read_jsonl(out / "metrics.jsonl")) < 3:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "checkpoint.pt").exists() and not (out / "summary.json").exists()
    with (out / "metrics.jsonl").open("a") as fh:
        fh.write('{"step": 12')  # torn line
    (out / ".checkpoint.pt.abc123.tmp").write_bytes(b"")
    # refused without --resume, untouched
    done = subprocess.run(
        [*args, "--steps", "1500", "--out", str(out)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "already holds a run" in done.stderr
    done = subprocess.run(
        [*args, "--steps", "1500", "--out", str(out), "--resume"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    steps = [r["step"] for r in read_jsonl(out / "metrics.jsonl")]
    assert steps == list(range(100, 1501, 100))
    assert not list(out.glob(".*.tmp"))
    assert (out / "summary.json").exists()


def test_outputs_get_the_users_umask(finished_run: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    for name in ("config.json", "checkpoint.pt", "summary.json", "metrics.jsonl"):
        assert (finished_run / name).stat().st_mode & 0o777 == 0o666 & ~mask, name
