"""``stable-grad-rl evidence``: cells persisted and skipped on resume (same numbers), the folder rule, bad
input refused before anything is created, the report's intervals and verdicts, README == results.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from stable_grad_rl.cli import main
from stable_grad_rl.evidence import EvidenceConfig, best_lrs, local_runner, run_evidence
from stable_grad_rl.evidence_report import (
    bootstrap_ci,
    render_readme_section,
    render_table,
    verdicts,
)
from stable_grad_rl.folders import MARKER

TINY_PQN = {
    "num_envs": 4,
    "num_steps": 8,
    "num_minibatches": 2,
    "update_epochs": 1,
    "exploration_fraction": 0.5,
}
TINY = EvidenceConfig(
    scale="test", env="CartPole-v1", steps=64, width=8, arms=("plain", "multiskip"), depths=(2,),
    seeds=(0, 1), sweep_lrs=(1e-3, 3e-2), sweep_depth=2, sweep_seeds=(0,), algo_config=TINY_PQN,
)  # fmt: skip
CLI = ["evidence", "--env", "CartPole-v1", "--steps", "2048", "--width", "8", "--arms", "plain",
       "--depths", "2", "--seeds", "0", "--lrs", "1e-3", "--sweep-depth", "2", "--sweep-seeds", "0"]  # fmt: skip


def _numbers(results: dict[str, Any]) -> dict[str, Any]:
    """Everything but CPU/wall timings."""
    strip = {k: v for k, v in results.items() if k != "run"}
    for key in ("cells", "sweep_cells"):
        strip[key] = [{k: v for k, v in c.items() if k != "cpu_s"} for c in results[key]]
    return strip


def never(jobs: list[tuple[str, dict[str, Any], str]]) -> list[dict[str, Any]]:
    raise AssertionError(f"no cell should run, got {[j[0] for j in jobs]}")


def test_resume_after_a_kill_gives_the_uninterrupted_numbers(tmp_path: Path) -> None:
    whole = run_evidence(TINY, tmp_path / "whole", log=lambda _: None)
    assert len(whole["cells"]) == 4 and len(whole["sweep_cells"]) == 4
    assert sorted(p.name for p in (tmp_path / "whole").iterdir()) == [
        MARKER, "cells", "evidence.json", "evidence.png", "results.json", "table.md"
    ]  # fmt: skip
    calls = []

    def dies_after_two(jobs: list[tuple[str, dict[str, Any], str]]) -> list[dict[str, Any]]:
        if len(calls) == 2:
            raise KeyboardInterrupt  # the run is killed while the third batch of cells runs
        calls.append(len(jobs))
        return local_runner(1)(jobs)

    out = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        run_evidence(TINY, out, runner=dies_after_two, log=lambda _: None)
    finished = {p.name: p.stat().st_mtime_ns for p in (out / "cells").iterdir()}
    assert 0 < len(finished) < 12 and not (out / "results.json").exists()
    (out / ".cell-plain_L2_lr0.001_s0.tmp-999999999").mkdir()  # a dead process's scratch folder
    assert main(["evidence", "--out", str(out)]) == 2  # holds an evidence run: refused without a flag
    resumed = run_evidence(TINY, out, resume=True, log=lambda _: None)
    assert _numbers(resumed) == _numbers(whole)
    assert all((out / "cells" / n).stat().st_mtime_ns == t for n, t in finished.items())  # skipped
    assert not list(out.glob(".cell-*"))
    other = EvidenceConfig(**{**TINY.__dict__, "steps": 128})
    with pytest.raises(ValueError, match=r"steps in .* differ"):
        run_evidence(other, out, resume=True, log=lambda _: None)
    fewer = EvidenceConfig(**{**TINY.__dict__, "seeds": (1,)})  # a smaller grid: every cell is reused
    again = run_evidence(fewer, out, resume=True, runner=never, log=lambda _: None)
    assert again["summary"]["plain"]["2"]["per_seed"] == whole["summary"]["plain"]["2"]["per_seed"][1:]


def test_cli_runs_refuses_and_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ev"
    bad = [["--lrs", "nan"], ["--lrs", "inf"], ["--arms", "bogus"], ["--workers", "0"], ["--depths", "1"],
           ["--address", "127.0.0.1:6379"], ["--width", "0"], ["--quick", "--full"], ["--seeds", "0", "0"],
           ["--env", "NoSuchEnv-v0"]]  # fmt: skip
    for extra in bad:
        assert main([*CLI, "--out", str(out), *extra]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, (extra, err)
    assert not out.exists()
    assert main([*CLI, "--out", str(out)]) == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "evidence" and marker["package"] == "stable-grad-rl"
    table = (out / "table.md").read_text()
    assert "| plain (0.001) |" in table and "Gate" not in table  # one depth: no gate
    assert main([*CLI, "--out", str(out), "--overwrite", "--seeds", "1"]) == 0
    assert json.loads((out / "results.json").read_text())["config"]["seeds"] == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["ev"]  # the staging folder was swapped in
    user = tmp_path / "user"
    user.mkdir()
    (user / "results.json").write_text("mine")
    for flag in ([], ["--resume"], ["--overwrite"]):
        assert main([*CLI, "--out", str(user), *flag]) == 2
    assert [p.name for p in user.iterdir()] == ["results.json"]
    assert (user / "results.json").read_text() == "mine"


def test_bootstrap_interval_and_verdicts() -> None:
    lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert lo < 3.0 < hi and (lo, hi) == bootstrap_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert bootstrap_ci([2.0, 2.0]) == (2.0, 2.0) and all(math.isnan(v) for v in bootstrap_ci([]))

    def cells(arm: str, layers: int, values: list[float]) -> list[dict[str, Any]]:
        return [{"arm": arm, "layers": layers, "seed": s, "final_return": v} for s, v in enumerate(values)]

    def verdict(shallow: list[float], deep: list[float], ms: list[float], ln: list[float]) -> dict[str, str]:
        from stable_grad_rl.evidence_report import summarise

        study = [*cells("plain", 4, shallow), *cells("plain", 12, deep), *cells("multiskip", 12, ms),
                 *cells("ln", 12, ln), *cells("multiskip", 4, ms), *cells("ln", 4, ln)]  # fmt: skip
        arms = ["plain", "ln", "multiskip"]
        return verdicts(study, summarise(study, arms, [4, 12]), arms, [4, 12])

    apart = verdict([4.0, 4.1, 3.9], [2.0, 2.1, 1.9], [5.0, 5.1, 4.9], [4.0, 4.1, 3.9])
    assert apart["gate"].startswith("The problem exists here")
    assert apart["multiskip_vs_ln"].startswith(
        "multi-skip + LN is better than LN only at 4 layers, 12 layers"
    )
    same = verdict([4.0, 4.1, 3.9], [4.5, 3.0, 4.4], [4.0, 5.0, 3.0], [4.5, 3.5, 4.0])
    assert "does not degrade" in same["gate"] or "not resolved" in same["gate"]
    assert same["multiskip_vs_ln"].startswith("no difference")


def test_best_lr_is_the_highest_mean_return() -> None:
    sweep = [{"arm": "plain", "lr": 1e-3, "final_return": 2.0}, {"arm": "plain", "lr": 3e-2, "final_return": 3.0},
             {"arm": "multiskip", "lr": 1e-3, "final_return": 1.0},
             {"arm": "multiskip", "lr": 3e-2, "final_return": 1.0}]  # fmt: skip
    assert best_lrs(TINY, sweep) == {"plain": 3e-2, "multiskip": 1e-3}  # a tie goes to the smaller lr


@pytest.mark.parametrize("source", ["evidence/results.json", "evidence/kron/results.json"])
def test_readme_evidence_tables_are_generated_from_the_committed_results(source: str) -> None:
    pkg = Path(__file__).resolve().parents[1]
    results = json.loads((pkg / source).read_text())
    assert render_readme_section(results, source) in (pkg / "README.md").read_text()
    assert (pkg / source).with_name("table.md").read_text() == render_table(results)
    assert results["config"]["scale"] == "default" and len(results["config"]["seeds"]) >= 5
