"""The run-folder contract of ``rice-n train``: refuse, resume, overwrite; torn lines and stale temp files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from rice_n.cli import main

TINY = ["--hidden", "8", "--num-envs", "2", "--epochs", "1", "--no-plots", "--checkpoint-every", "1"]


@pytest.fixture(autouse=True)
def _no_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TQDM_DISABLE", "1")


def train(out: Path, *args: str) -> int:
    return main(["train", "--episodes", "2", "--seed", "3", "--out", str(out), *TINY, *args])


def test_existing_run_is_refused_and_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert train(run) == 0
    metrics = run / "metrics.jsonl"
    before, mtime = metrics.read_bytes(), metrics.stat().st_mtime_ns
    assert train(run) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err and "--overwrite" in err
    assert metrics.read_bytes() == before and metrics.stat().st_mtime_ns == mtime
    assert train(run, "--overwrite") == 0
    assert len(metrics.read_text().splitlines()) == 1


def test_foreign_folder_refused_even_with_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "thesis.tex").write_text("keep me")
    assert train(tmp_path, "--overwrite") == 2
    assert "holds no rice-n training run" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]


def test_resume_drops_a_torn_line_and_stale_temp_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["train", "--episodes", "4", "--seed", "3", "--out", str(run), *TINY]) == 0
    full = [json.loads(x)["mean_episode_reward"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    part = tmp_path / "part"
    assert train(part) == 0  # 1 iteration of 2, checkpointed
    with (part / "metrics.jsonl").open("a") as handle:
        handle.write('{"iteration": 2, "episo')  # torn by a kill
    (part / ".checkpoint.pt.abc123.tmp").write_bytes(b"")
    assert main(["train", "--episodes", "4", "--seed", "3", "--out", str(part), *TINY, "--resume"]) == 0
    rows = [json.loads(x) for x in (part / "metrics.jsonl").read_text().splitlines()]
    assert [r["mean_episode_reward"] for r in rows] == full
    assert not list(part.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (
            lambda run: (run / "checkpoint.pt").write_bytes((run / "checkpoint.pt").read_bytes()[:100]),
            "corrupt",
        ),
        (lambda run: (run / "checkpoint.pt").write_bytes(b"\x80\x04K\x01."), "corrupt"),  # a bare pickle
        (lambda run: (run / "config.json").write_text('{"seed": 3}'), "no 'config'"),
        (lambda run: (run / "config.json").write_text("{not json"), "not valid JSON"),
    ],
)
def test_resume_from_a_damaged_run_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: object, needle: str
) -> None:
    run = tmp_path / "run"
    assert train(run) == 0
    damage(run)  # type: ignore[operator]
    metrics = (run / "metrics.jsonl").read_bytes()
    assert train(run, "--resume") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err
    assert (run / "metrics.jsonl").read_bytes() == metrics
