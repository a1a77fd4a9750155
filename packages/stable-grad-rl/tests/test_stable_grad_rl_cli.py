"""CLI and run files: train (JSON lines, checkpoints, exact --resume), sweep in processes, plot, demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stable_grad_rl import (
    NetworkConfig,
    NonStationaryTrainer,
    SweepConfig,
    TrainConfig,
    run_sweep,
    run_training,
)
from stable_grad_rl.cli import main

TINY_TASK = {"n_phases": 2, "steps_per_phase": 30, "n_samples": 128, "batch_size": 32, "log_every": 10}


def tiny_config(seed: int = 0) -> TrainConfig:
    net = NetworkConfig(kind="multiskip", depth=1, width=16, layernorm=True)
    return TrainConfig(
        algo="nonstationary", network=net, seed=seed, algo_config=dict(TINY_TASK), checkpoint_every=20
    )


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_train_cli_writes_metrics_and_checkpoint(tmp_path: Path, capsys) -> None:
    argv = ["train", "--algo", "nonstationary", "--kind", "plain", "--depth", "3", "--width", "16",
            "--optimizer", "kron", "--steps", "30", "--out", str(tmp_path), "--seed", "1", "--no-progress",
            "--set", "n_phases=2", "--set", "n_samples=128", "--set", "log_every=10"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["optimizer"] == "kron" and len(summary["phase_accuracy"]) == 2
    records = read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 10, 20, 30, 40, 50, 60]
    assert len(records[-1]["grad_norms"]) == len(json.loads((tmp_path / "layers.json").read_text())) == 4
    assert (tmp_path / "checkpoint.pt").exists()
    assert json.loads((tmp_path / "config.json").read_text())["config"]["network"]["kind"] == "plain"


def test_resume_continues_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full = run_training(tiny_config(), tmp_path / "full", progress=False)
    original = NonStationaryTrainer.step

    def crash_at_45(self):
        if self.iteration == 45:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(NonStationaryTrainer, "step", crash_at_45)
    with pytest.raises(KeyboardInterrupt):
        run_training(tiny_config(), tmp_path / "cut", progress=False)
    assert not (tmp_path / "cut" / "summary.json").exists()
    monkeypatch.setattr(NonStationaryTrainer, "step", original)
    resumed = run_training(tiny_config(), tmp_path / "cut", resume=True, progress=False)
    assert resumed["phase_accuracy"] == full["phase_accuracy"]
    strip = lambda recs: [{k: v for k, v in r.items() if k != "wall_time"} for r in recs]  # noqa: E731
    assert strip(read_jsonl(tmp_path / "cut" / "metrics.jsonl")) == strip(
        read_jsonl(tmp_path / "full" / "metrics.jsonl")
    )
    with pytest.raises(ValueError, match="differs"):
        run_training(tiny_config(seed=5), tmp_path / "cut", resume=True, progress=False)


def test_rl_train_resume(tmp_path: Path) -> None:
    argv = ["train", "--algo", "pqn", "--env", "CartPole-v1", "--depth", "2", "--width", "16", "--steps", "2048",
            "--set", "num_envs=4", "--set", "num_steps=32", "--set", "num_minibatches=4", "--checkpoint-every", "4",
            "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    first = json.loads((tmp_path / "summary.json").read_text())
    (tmp_path / "summary.json").unlink()
    assert main([*argv, "--resume"]) == 0  # resumes from the last checkpoint (the final iteration)
    assert json.loads((tmp_path / "summary.json").read_text())["global_step"] == first["global_step"] == 2048


def test_sweep_in_processes_and_plot(tmp_path: Path) -> None:
    cfg = SweepConfig(depths=(3,), widths=(8,), interventions=("baseline", "multiskip"), seeds=(0,),
                      algo_config=dict(TINY_TASK))  # fmt: skip
    results = run_sweep(cfg, tmp_path / "sweep", workers=2)
    assert sorted(r["name"] for r in results) == ["baseline_L3_W8_s0", "multiskip_L3_W8_s0"]
    assert {r["network"]["depth"] for r in results} == {3, 0}  # 3 plain layers <-> 0 residual blocks
    saved = json.loads((tmp_path / "sweep" / "results.json").read_text())
    assert [r["final_accuracy"] for r in saved] == [r["final_accuracy"] for r in results]
    run = tmp_path / "sweep" / "baseline_L3_W8_s0"
    assert (
        main(["plot", "--sweep", str(tmp_path / "sweep"), "--runs", str(run), "--out", str(tmp_path / "p")])
        == 0
    )
    assert (tmp_path / "p" / "table.json").exists()
    plot_again = ["plot", "--sweep", str(tmp_path / "sweep"), "--out"]
    assert main([*plot_again, str(tmp_path / "p")]) == 0  # its own earlier plot folder: replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "table.json").write_text("{}")
    assert main([*plot_again, str(tmp_path / "mine")]) == 2  # a user's folder: refused, untouched
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["table.json"]
    assert {p.name for p in (tmp_path / "p").glob("*.png")} == {
        "final_accuracy_vs_depth.png",
        "grad_first_last_ratio_vs_depth.png",
        "gradflow_baseline_L3_W8_s0.png",
    }


def test_demo_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import stable_grad_rl.demo as demo

    monkeypatch.setattr(demo, "DEMO_TASK", dict(TINY_TASK))
    monkeypatch.setattr(demo, "DEMO_LAYERS", 6)
    assert main(["demo", "--out", str(tmp_path), "--seed", "0"]) == 0
    stdout = capsys.readouterr().out
    assert (
        "[1/4] training plain (L6 W64" in stdout and "[2/4] training ln_only" in stdout and "[4/4]" in stdout
    )
    result = json.loads((tmp_path / "demo.json").read_text())
    assert result["key_figure"].startswith("shifted: plain") and " LN " in result["key_figure"]
    assert len(result["key_figure"]) <= 40
    assert all(isinstance(v, (int, float)) for v in result["figures"].values())
    assert len(result["heatmaps"]) == 3
    assert main(["demo", "--out", str(tmp_path), "--seed", "0"]) == 0  # a previous demo is replaced
    assert json.loads((tmp_path / "demo.json").read_text())["figures"] == result["figures"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    assert main(["demo", "--out", str(tmp_path / "other")]) == 2


def test_cli_errors(tmp_path: Path, capsys) -> None:
    assert main(["train", "--algo", "pqn", "--set", "bogus=1", "--out", str(tmp_path)]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["train", "--depth", "0", "--out", str(tmp_path)]) == 2
    assert "depth" in capsys.readouterr().err
    assert main(["train", "--kind", "transformer"]) == 2
    assert main(["plot", "--out", str(tmp_path)]) == 2
    assert main(["train", "--algo", "dqn", "--preset", "atari", "--out", str(tmp_path)]) == 2
    assert main(["train", "--device", "warp-drive", "--out", str(tmp_path)]) == 2
