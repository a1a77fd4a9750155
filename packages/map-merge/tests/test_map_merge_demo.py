"""The digits pipeline on real fine-tuned models meets the paper-style quality targets (two tasks)."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from map_merge.demo import DEMO_TASKS, run_experiment
from map_merge.digits import build_digits_problem


def test_map_beats_random_with_far_fewer_evaluations_than_the_grid() -> None:
    problem = build_digits_problem(DEMO_TASKS[:2], seed=0)
    result = run_experiment(problem, DEMO_TASKS[:2], seed=0, progress=False)
    assert result["map_evaluations"] == 12
    assert result["evaluation_ratio"] >= 30
    assert min(result["surrogate_r2_on_grid"]) >= 0.75
    assert result["quality"]["map_real"]["igd"] <= 0.06
    assert result["quality"]["map_real"]["igd"] < result["quality"]["random"]["igd"]
