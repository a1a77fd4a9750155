"""Evaluation and comparison: metrics.json keys, random baseline, masks, CLI train/evaluate/compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rice_n import BatchRiceEnv
from rice_n.cli import main
from rice_n.evaluate import METRIC_KEYS, RandomActor, evaluate_policy, run_episodes, write_evaluation

KEYS = ("temperature_rise", "gross_output", "climate_index", "economic_index", "episode_reward")


def test_random_actor_respects_masks() -> None:
    env = BatchRiceEnv(num_envs=2, protocol="bilateral")
    actor = RandomActor(env.action_nvec, seed=0)
    mask = np.ones((2, 27, env.mask_dim), dtype=np.int8)
    mask[..., 10:17] = 0  # mitigation levels 0..6 forbidden
    a = np.stack([actor(None, mask, 0) for _ in range(50)])
    assert a[..., 1].min() == 7 and a[..., 1].max() == 9
    assert a[..., 111:].max() == 1 and a[..., :111].max() == 9 and a.min() == 0
    strict = BatchRiceEnv(num_envs=2, protocol="bilateral", mask_violation="raise")
    _, masked = run_episodes(strict, RandomActor(strict.action_nvec, seed=1))
    assert masked == 0


def test_evaluate_random_writes_simulate_keys(tmp_path: Path) -> None:
    res = evaluate_policy("random", episodes=4, seed=3)
    again = evaluate_policy("random", episodes=4, seed=3)
    assert res.per_episode == again.per_episode  # deterministic given the seed
    payload = write_evaluation(res, tmp_path, plots=True)
    data = json.loads((tmp_path / "metrics.json").read_text())
    for key in KEYS:
        assert isinstance(data[key], float) and np.isfinite(data[key])
        assert data[key] == pytest.approx(np.mean(data["per_episode"][key]))
    assert 3.5 < data["temperature_rise"] < 6.0 and data["episodes"] == 4
    assert data["climate_index"] == pytest.approx(
        (data["temperature_rise"] - 7.006738662719727) / (1.2506777048110962 - 7.006738662719727)
    )
    assert len(res.trajectory["year"]) == 21 and res.trajectory["year"][0] == 2015  # as simulate
    assert res.trajectory["year"][-1] == 2115
    assert "evaluation.png" in payload["plots"] and (tmp_path / "evaluation.png").stat().st_size > 0
    assert set(METRIC_KEYS) <= set(data)


def test_cli_train_evaluate_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    run, ev, cmp_ = tmp_path / "run", tmp_path / "eval", tmp_path / "cmp"
    args = [
        "train",
        "--episodes",
        "8",
        "--num-envs",
        "4",
        "--hidden",
        "16,16",
        "--out",
        str(run),
        "--seed",
        "1",
    ]
    assert main(args) == 0
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["episodes"] for x in lines] == [4, 8] and "mean_episode_reward" in lines[0]
    assert (run / "learning_curve.png").is_file()
    assert main(["train", *args[1:], "--resume", "--episodes", "12"]) == 0
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3
    assert main(["evaluate", "--policy", str(run), "--out", str(ev), "--episodes", "3", "--seed", "2"]) == 0
    data = json.loads((ev / "metrics.json").read_text())
    assert all(k in data for k in KEYS) and data["masked_actions"] == 0
    assert main(["compare", str(run), str(ev), "random", "--out", str(cmp_), "--episodes", "3"]) == 0
    summary = json.loads((cmp_ / "compare.json").read_text())
    assert [p["name"] for p in summary["policies"]] == ["run", "eval", "random"]
    assert summary["pareto_front"] and 0.0 < summary["hypervolume"] < 1.0
    assert (cmp_ / "compare.csv").is_file() and (cmp_ / "learning_curves.png").is_file()
    assert "hypervolume" in capsys.readouterr().out


def test_cli_errors_name_the_bad_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--policy", str(tmp_path / "missing"), "--out", str(tmp_path / "e")]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["evaluate", "--policy", "random", "--out", str(tmp_path), "--episodes", "0"]) == 2
    assert "--episodes must be >= 1, got 0" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path), "--preset", "sac"]) == 2
    assert "unknown preset 'sac'" in capsys.readouterr().err
    assert main(["compare", "nowhere", "--out", str(tmp_path)]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_cli_evaluate_random_with_negotiation(tmp_path: Path) -> None:
    args = ["evaluate", "--policy", "random", "--protocol", "bilateral", "--episodes", "2", "--no-plots"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["config"]["protocol"] == "bilateral" and data["masked_actions"] == 0
    rows = (tmp_path / "trajectory.csv").read_text().splitlines()
    assert len(rows) == 22 and rows[1].startswith("2015") and rows[-1].startswith("2115")
