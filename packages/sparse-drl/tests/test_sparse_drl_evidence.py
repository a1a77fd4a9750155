"""``sparse-drl evidence``: a tiny real run, resume after a lost cell, folder rules, report and README."""

import json
import re
import shutil
from pathlib import Path

import pytest

from sparse_drl.cli import main
from sparse_drl.evidence import EvidenceScale, cell_key, run_evidence
from sparse_drl.evidence_report import BEGIN, END, bootstrap_ci, readme_block, render_tables, summarize

PKG = Path(__file__).resolve().parents[1]
TINY = EvidenceScale(
    "tiny",
    rl_steps=120,
    rl_widths=(4, 8),
    rl_lrs=(1e-3,),
    rl_sweep_seeds=1,
    rl_num_envs=2,
    rl_batch=8,
    rl_eval_episodes=1,
    probe_width=16,
    probe_phases=1,
    probe_steps=3,
    probe_lrs=(1e-3, 1e-2),
    probe_sweep_seeds=1,
    seeds=(0, 1),
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ev") / "out"
    return out, run_evidence(out, scale=TINY, log=lambda _: None)


def test_tiny_run_writes_every_cell_and_the_tables(tiny_run: tuple[Path, dict]) -> None:
    out, results = tiny_run
    assert json.loads((out / ".sparse-drl-run.json").read_text())["kind"] == "evidence"
    names = {(a["block"], a["name"]) for a in results["arms"]}
    assert ("rl", "sparse90-w8") in names and any(n.startswith("dense-matched") for _, n in names)
    for arm in results["arms"]:  # every seed at the arm's chosen lr
        lr = results["chosen_lr"][f"{arm['block']}/{arm['name']}"]
        for seed in TINY.seeds:
            assert (out / "cells" / f"{cell_key(arm['block'], arm['name'], seed, lr)}.json").is_file()
    matched = next(a for a in results["arms"] if a["block"] == "rl" and a["name"].startswith("dense-m"))
    sparse = next(a for a in results["arms"] if a["name"] == "sparse90-w8")
    assert abs(matched["params"] - sparse["nonzero_params"]) < 0.5 * sparse["nonzero_params"]
    assert (out / "table.md").read_text() == render_tables(results)
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(results))
    assert (out / "evidence.png").stat().st_size > 1000


def test_resume_reruns_only_lost_cells_and_gives_the_same_numbers(tiny_run: tuple[Path, dict]) -> None:
    out, results = tiny_run
    copy = out.parent / "copy"
    shutil.copytree(out, copy)
    lost = sorted((copy / "cells").glob("rl-*.json"))[0]
    lost.unlink()
    (copy / "results.json").unlink()
    (copy / "cells" / ".x.json.abc123.tmp").write_text("{")  # a killed write
    with pytest.raises(ValueError, match="pass --resume or --overwrite"):
        run_evidence(copy, scale=TINY, log=lambda _: None)
    again = run_evidence(copy, scale=TINY, resume=True, log=lambda _: None)
    drop = ("cpu_s", "wall_s")
    strip = [{k: v for k, v in c.items() if k not in drop} for c in again["cells"]]
    assert strip == [{k: v for k, v in c.items() if k not in drop} for c in results["cells"]]
    assert again["summary"] == results["summary"]
    assert not list((copy / "cells").glob(".*.tmp"))
    with pytest.raises(ValueError, match="another scale or other seeds"):
        run_evidence(copy, scale=TINY, seeds=[0, 2], resume=True, log=lambda _: None)


def test_cli_refuses_bad_options_and_foreign_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "user"
    user.mkdir()
    (user / "config.json").write_text("{}")
    cases = [
        (["--out", str(user), "--quick"], "holds no sparse-drl evidence"),
        (["--out", str(tmp_path / "a"), "--workers", "2", "--engine", "ray"], "--workers applies"),
        (["--out", str(tmp_path / "a"), "--address", "127.0.0.1:1"], "--address applies"),
        (["--out", str(tmp_path / "a"), "--seeds", "1", "1"], "distinct seeds"),
        (["--out", str(tmp_path / "a"), "--workers", "0"], "--workers must be"),
        (["--out", str(tmp_path / "a"), "--engine", "ray", "--address", "127.0.0.1:1"], "cannot reach"),
    ]
    for argv, message in cases:
        assert main(["evidence", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user"]
    assert (user / "config.json").read_text() == "{}"
    with pytest.raises(SystemExit) as exc:
        main(["evidence", "--out", str(tmp_path / "b"), "--quick", "--full"])
    assert exc.value.code == 2


def _fake(scores: dict[str, list[float]], block: str = "rl") -> dict:
    arms = [{"block": block, "name": n, "params": 10, "nonzero_params": 1} for n in scores]
    other = "plasticity" if block == "rl" else "rl"
    arms += [{"block": other, "name": n, "params": 10, "nonzero_params": 1} for n in scores]
    cells = [
        {"block": b, "arm": n, "seed": s, "lr": 0.1, "score": v, "cpu_s": 1.0}
        for b in ("rl", "plasticity")
        for n, vals in scores.items()
        for s, v in enumerate(vals)
    ]
    results = {
        "scale": {"name": "t", "rl_steps": 1, "rl_lrs": [0.1], "rl_sweep_seeds": 1, "probe_phases": 1}
        | {"probe_steps": 1, "probe_lrs": [0.1], "probe_sweep_seeds": 1},
        "seeds": list(range(len(next(iter(scores.values()))))),
        "rl_env": "x",
        "arms": arms,
        "chosen_lr": {f"{a['block']}/{a['name']}": 0.1 for a in arms},
        "cells": cells,
        "cpu_s_cells": 1.0,
    }
    results["summary"] = summarize(results)
    return results


def test_gate_and_verdict_sentences_follow_the_numbers() -> None:
    effect = _fake(
        {
            "dense-w4": [5.0, 5.1, 5.2, 5.0, 5.1],
            "dense-w8": [3.0, 3.1, 2.9, 3.0, 3.2],
            "sparse90-w4": [4.0] * 5,
            "sparse90-w8": [6.0, 6.1, 6.2, 6.0, 6.1],
            "dense-matched-w3": [4.0, 4.1, 4.2, 4.0, 4.1],
        }
    )["summary"]["rl"]
    assert "dense degrades as it grows" in effect["gate"]
    assert effect["verdict"].startswith("Verdict: the effect appears")
    flat = _fake(
        {
            "dense-w4": [5.0, 5.1, 5.2, 5.0, 5.1],
            "dense-w8": [5.5, 5.6, 5.4, 5.5, 5.7],
            "sparse90-w4": [4.0] * 5,
            "sparse90-w8": [6.0, 6.1, 6.2, 6.0, 6.1],
            "dense-matched-w3": [4.0, 4.1, 4.2, 4.0, 4.1],
        }
    )["summary"]["rl"]
    assert "does not degrade" in flat["gate"]
    assert "does not appear" in flat["verdict"] and "dense did not degrade first" in flat["verdict"]
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    mean, lo, hi = bootstrap_ci([0.0, 1.0, 2.0, 3.0, 4.0])
    assert mean == 2.0 and 0.0 <= lo < mean < hi <= 4.0


def test_readme_evidence_section_is_rendered_from_the_committed_results() -> None:
    results = json.loads((PKG / "evidence" / "results.json").read_text())
    readme = (PKG / "README.md").read_text()
    found = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), readme, flags=re.S)
    assert found is not None, "README has no evidence section"
    assert found.group(0) == readme_block(results)
    assert summarize(results) == json.loads(json.dumps(results["summary"]))
    assert (PKG / "evidence" / "table.md").read_text() == render_tables(results)
