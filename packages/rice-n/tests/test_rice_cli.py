"""The ``rice-n simulate`` interface, its bad-input errors, and ``rice-n demo``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rice_n.cli import main

N = 27
REQUIRED = ["t", "year", "T_AT", "T_LO", "M_AT", "M_UP", "M_LO", "gross_output", "consumption", "capital"]
REQUIRED += ["labor", "reward"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_simulate_plan_reproduces_index_bound(tmp_path: Path) -> None:
    plan = [10] + [0] * 56  # savings a=10: upstream's worst-climate bound
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "out"
    assert main(["simulate", "--actions", str(tmp_path / "plan.json"), "--out", str(out), "--no-plots"]) == 0
    rows = read_csv(out / "trajectory.csv")
    assert len(rows) == 21 and rows[0]["t"] == "0" and rows[-1]["year"] == "2115"
    assert all(col in rows[0] for col in REQUIRED)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["temperature_rise"] == pytest.approx(7.006739, rel=1e-5)
    assert metrics["gross_output"] == pytest.approx(9673.532, rel=1e-5)
    for key in ("temperature_rise", "gross_output", "climate_index", "economic_index", "episode_reward"):
        assert key in metrics
    assert float(rows[-1]["T_AT"]) - float(rows[0]["T_AT"]) == pytest.approx(metrics["temperature_rise"])


def test_simulate_per_region_plan_and_plots(tmp_path: Path) -> None:
    plan = [[2, 5, 3] + [0] * 27 + [1] * 27 for _ in range(N)]
    plan[0][1] = 9
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "o"
    assert main(["simulate", "--actions", str(tmp_path / "plan.json"), "--out", str(out)]) == 0
    for name in ("temperature.png", "carbon.png", "consumption.png", "mitigation.png", "regions.csv"):
        assert (out / name).stat().st_size > 0
    regions = read_csv(out / "regions.csv")
    assert len(regions) == 21 * N
    assert float(regions[N]["mitigation"]) == pytest.approx(0.9)  # t=1, region 0
    assert not list(out.glob(".*.tmp"))


def test_simulate_named_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "n"
    assert (
        main(["simulate", "--savings", "0.25", "--mitigation", "0.5", "--out", str(out), "--no-plots"]) == 0
    )
    rows = read_csv(out / "trajectory.csv")
    assert float(rows[1]["mean_mitigation"]) == pytest.approx(0.5)
    assert "temperature rise" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ([1, 2, 3], "has 3 entries; expected 57"),
        ([11] + [0] * 56, "out of range"),
        ([[0] * 57] * 26, "26 per-region vectors"),
        ([0.5] + [0] * 56, "not an integer"),
        ("x", "non-empty JSON list"),
        ([None] + [0] * 56, "not a finite number"),
    ],
)
def test_simulate_bad_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], plan: object, message: str
) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    assert main(["simulate", "--actions", str(tmp_path / "plan.json"), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_simulate_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--savings", "1.5", "--out", str(tmp_path)]) == 2
    assert "savings must be a number in [0, 1]" in capsys.readouterr().err
    assert main(["simulate", "--actions", str(tmp_path / "nope.json"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_demo_writes_key_figure_and_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--seed", "0", "--episodes", "4"]) == 0
    demo = json.loads((tmp_path / "demo.json").read_text())
    assert len(demo["key_figure"]) <= 40 and demo["key_figure"].startswith("PPO reward")
    figures = demo["figures"]
    assert all(isinstance(v, float) and float(f"{v:.3g}") == v for v in figures.values())
    assert figures["moderate_temperature_rise"] < figures["bau_temperature_rise"]
    out = capsys.readouterr().out
    assert [line[:5] for line in out.splitlines() if line.startswith("[")] == [
        "[1/4]",
        "[2/4]",
        "[3/4]",
        "[4/4]",
    ]
    # a second demo into the same folder replaces the first; a foreign folder is refused
    assert main(["demo", "--out", str(tmp_path), "--seed", "0", "--episodes", "4"]) == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    assert main(["demo", "--out", str(tmp_path / "other")]) == 2
