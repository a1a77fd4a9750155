"""Ray Tune engine: each grid point a Tune trial writing the same run folder as the local engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparse_drl.cli import main
from sparse_drl.io import read_jsonl

pytestmark = pytest.mark.scaleout

GRID = [
    "sweep", "--agent", "dqn", "--steps", "300", "--sizes", "16x1", "--sparsities", "0", "0.5",
    "--seed", "0", "--learning-starts", "100", "--eval-every", "100", "--log-every", "100",
    "--eval-episodes", "1",
]  # fmt: skip
TRIALS = ["16x1_s0_seed0", "16x1_s0.5_seed0"]


def metrics(run: Path) -> list[dict[str, object]]:
    return [{k: v for k, v in r.items() if k != "time_s"} for r in read_jsonl(run / "metrics.jsonl")]


def test_ray_trials_equal_local_and_resume(
    ray_instance: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert main([*GRID, "--out", str(local)]) == 0
    monkeypatch.chdir(tmp_path)
    assert main([*GRID, "--engine", "ray", "--out", "ray"]) == 0  # a relative --out, as users type it
    for name in TRIALS:
        assert metrics(remote / name) == metrics(local / name)
        assert (remote / name / "checkpoint.pt").exists()
        a = json.loads((local / name / "summary.json").read_text())
        b = json.loads((remote / name / "summary.json").read_text())
        assert a["final_eval_return"] == b["final_eval_return"]
    capsys.readouterr()
    # a plain re-run is refused; with --resume it skips finished trials ...
    assert main([*GRID, "--engine", "ray", "--out", str(remote)]) == 2
    assert main([*GRID, "--engine", "ray", "--out", str(remote), "--resume"]) == 0
    assert "2 already finished" in capsys.readouterr().out
    # ... and resumes an unfinished one from its checkpoint (here: a longer run of one trial)
    (remote / TRIALS[1] / "summary.json").unlink()
    with (remote / TRIALS[1] / "metrics.jsonl").open("a") as fh:
        fh.write('{"step": 3')  # torn line of a killed trial
    assert main([*GRID, "--engine", "ray", "--out", str(remote), "--resume"]) == 0
    assert "1 already finished" in capsys.readouterr().out
    assert metrics(remote / TRIALS[1]) == metrics(local / TRIALS[1])


def test_the_ray_node_is_on_the_loopback_address(ray_instance) -> None:
    """The tests' Ray instance uses 127.0.0.1 as its node address (Ray would otherwise take the
    machine's network address and listen on every interface)."""
    import ray

    nodes = ray.nodes()
    assert {node["NodeManagerAddress"] for node in nodes} == {"127.0.0.1"}
