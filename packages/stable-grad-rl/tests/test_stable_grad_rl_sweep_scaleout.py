"""Scale-out (run by ``nox -s scaleout`` with a local Ray): the ray engine writes the same run folders as
the local engine, per-trial metrics equal for the same seeds, and a re-run resumes unfinished trials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stable_grad_rl import SweepConfig, run_sweep, run_sweep_ray

pytestmark = pytest.mark.scaleout

TASK = {"n_phases": 2, "steps_per_phase": 30, "n_samples": 128, "batch_size": 32, "log_every": 10}


def _metrics(path: Path) -> list[dict]:
    return [
        {k: v for k, v in json.loads(ln).items() if k != "wall_time"} for ln in path.read_text().splitlines()
    ]


def test_ray_engine_matches_local_and_resumes(tmp_path: Path, stable_grad_rl_ray) -> None:
    cfg = SweepConfig(depths=(3,), widths=(8,), interventions=("baseline", "multiskip"), seeds=(0,),
                      algo_config=dict(TASK))  # fmt: skip
    local = run_sweep(cfg, tmp_path / "local")
    remote = run_sweep_ray(cfg, tmp_path / "ray")
    names = ["baseline_L3_W8_s0", "multiskip_L3_W8_s0"]
    assert [r["name"] for r in remote] == [r["name"] for r in local] == names
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == sorted(
        p.name for p in (tmp_path / "local").iterdir()
    )
    for name in names:
        assert _metrics(tmp_path / "ray" / name / "metrics.jsonl") == _metrics(
            tmp_path / "local" / name / "metrics.jsonl"
        )
    assert [r["final_accuracy"] for r in remote] == [r["final_accuracy"] for r in local]
    finished = (tmp_path / "ray" / names[0] / "summary.json").stat().st_mtime_ns
    (tmp_path / "ray" / names[1] / "summary.json").unlink()
    again = run_sweep_ray(cfg, tmp_path / "ray", resume=True)
    assert (tmp_path / "ray" / names[0] / "summary.json").stat().st_mtime_ns == finished
    assert [r["final_accuracy"] for r in again] == [r["final_accuracy"] for r in local]


def test_the_ray_node_is_on_the_loopback_address(stable_grad_rl_ray) -> None:
    """The tests' Ray instance uses 127.0.0.1 as its node address (Ray would otherwise take the
    machine's network address and listen on every interface)."""
    nodes = stable_grad_rl_ray.nodes()
    assert {node["NodeManagerAddress"] for node in nodes} == {"127.0.0.1"}
