"""CLI: train with checkpoints and --resume, sweep, plot, demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparse_drl.cli import main
from sparse_drl.io import read_jsonl

TINY = [
    "--learning-starts",
    "100",
    "--critic-width",
    "16",
    "--critic-depth",
    "1",
    "--actor-width",
    "16",
    "--batch-size",
    "32",
    "--eval-every",
    "100",
    "--log-every",
    "100",
    "--eval-episodes",
    "1",
]


def test_train_checkpoint_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert (
        main(["train", "--agent", "sac", "--steps", "200", "--sparsity", "0.8", "--out", str(out), *TINY])
        == 0
    )
    first = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in first] == [100, 200]
    assert (out / "checkpoint.pt").exists() and (out / "summary.json").exists()
    assert (
        main(["train", "--agent", "sac", "--steps", "200", "--sparsity", "0.8", "--out", str(out), *TINY])
        == 2
    )
    assert "already holds a run" in capsys.readouterr().err
    args = [
        "train",
        "--agent",
        "sac",
        "--steps",
        "300",
        "--sparsity",
        "0.8",
        "--out",
        str(out),
        "--resume",
        *TINY,
    ]
    assert main(args) == 0
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in records] == [100, 200, 300]
    assert records[:2] == first
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 300 and summary["pruned_zero_frac"] == 1.0
    assert summary["total_effective_params"] < 0.3 * summary["total_params"]
    assert {"critic_dormant_0.1", "critic_srank", "critic_grad_cos_mean", "critic_weight_norm"} <= set(
        records[-1]
    )
    bad = [
        "train",
        "--agent",
        "sac",
        "--steps",
        "300",
        "--sparsity",
        "0.5",
        "--out",
        str(out),
        "--resume",
        *TINY,
    ]
    assert main(bad) == 2


def test_sweep_and_plot(tmp_path: Path) -> None:
    # one worker, in this process (parallel workers: test_sparse_drl_sweep.py's kill test)
    out = tmp_path / "sweep"
    args = [
        "sweep",
        "--agent",
        "dqn",
        "--steps",
        "300",
        "--sizes",
        "16x1",
        "--sparsities",
        "0",
        "0.5",
        "--seed",
        "0",
        "--out",
        str(out),
        "--learning-starts",
        "100",
        "--eval-every",
        "150",
        "--log-every",
        "150",
        "--eval-episodes",
        "1",
    ]
    assert main(args) == 0
    table = (out / "sweep.csv").read_text().splitlines()
    assert len(table) == 3 and table[0].startswith("name,size,sparsity,seed")
    summary = json.loads((out / "sweep.json").read_text())["summary"]
    assert [row["sparsity"] for row in summary] == [0.0, 0.5]
    assert summary[1]["total_effective_params"] < summary[0]["total_effective_params"]
    assert main(["plot", str(out), "--out", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "scaling.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "diagnostics.png").stat().st_size > 1000


def test_demo_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from sparse_drl import demo

    monkeypatch.setattr(demo, "DEMO_CONFIG", dataclasses.replace(demo.DEMO_CONFIG, phases=2, steps=20))
    assert main(["demo", "--out", str(tmp_path), "--seed", "1"]) == 0
    assert main(["demo", "--out", str(tmp_path), "--seed", "1"]) == 0  # a rerun replaces its own demo
    assert json.loads((tmp_path / ".sparse-drl-run.json").read_text())["kind"] == "demo"
    result = json.loads((tmp_path / "demo.json").read_text())
    assert isinstance(result["key_figure"], str) and len(result["key_figure"]) <= 40
    assert "sparse" in result["key_figure"]
    assert all(isinstance(v, (int, float)) for v in result["figures"].values())


@pytest.mark.parametrize("command", ["demo", "plot"])
def test_demo_and_plot_refuse_a_users_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    mine = {"demo": "demo.json", "plot": "scaling.png"}[command]
    (tmp_path / mine).write_text("my own file")
    args = ["demo"] if command == "demo" else ["plot", str(tmp_path / "no-such-sweep")]
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"holds no sparse-drl {command}" in err[0], err
    assert [p.name for p in tmp_path.iterdir()] == [mine] and (tmp_path / mine).read_text() == "my own file"
