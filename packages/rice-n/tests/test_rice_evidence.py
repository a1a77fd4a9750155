"""``rice-n evidence`` (the protocol experiment, issue 21): results per seed, 95 % bootstrap intervals, the
gate sentence, resume, parallel workers, bad input refused before anything is created; the README table
is the committed results file's table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rice_n._io import MARKER
from rice_n.cli import main
from rice_n.experiment import bootstrap_ci, contrasts, format_table, gate, summarize

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "docs" / "evidence" / "results.json"
TINY = ["--seeds", "0", "1", "--episodes", "1", "--eval-episodes", "1", "--protocols", "none"]


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


def _row(protocol: str, seed: int, temp: float) -> dict[str, object]:
    m = {
        "temperature_rise": temp,
        "gross_output": 100.0 + seed,
        "episode_reward": 1.0,
        "climate_index": 0.5,
        "economic_index": 0.5,
        "mean_mitigation": 0.1,
        "mean_savings": 0.2,
    }
    return {"protocol": protocol, "seed": seed, "train_cpu_s": 1.0, "trained": m, "untrained": dict(m)}


def test_bootstrap_interval_is_deterministic_and_holds_the_mean() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    lo, hi = bootstrap_ci(values)
    assert (lo, hi) == bootstrap_ci(values) and lo < 4.0 < hi and lo >= 1.0 and hi <= 10.0
    assert bootstrap_ci([2.5]) == (2.5, 2.5)


def test_gate_says_yes_only_when_the_interval_excludes_zero() -> None:
    rows = [_row("none", s, 4.0 + 0.01 * s) for s in range(5)]
    same = rows + [_row("bilateral", s, 4.0 + 0.01 * ((s * 3) % 5)) for s in range(5)]
    lower = rows + [_row("bilateral", s, 2.0 + 0.01 * s) for s in range(5)]
    assert gate(contrasts(same)).startswith("Gate: no, no protocol changes")
    assert gate(contrasts(lower)).startswith("Gate: yes, negotiation changes")
    assert "bilateral -2.00 °C [-2.00, -2.00]" in gate(contrasts(lower))
    summary = summarize(lower)
    assert summary["bilateral"]["trained"]["temperature_rise"]["values"] == [2.0, 2.01, 2.02, 2.03, 2.04]


def test_evidence_runs_resumes_and_refuses_its_folder_without_a_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "ev"
    assert main(["evidence", "--out", str(out), *TINY]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [(r["protocol"], r["seed"]) for r in results["rows"]] == [("none", 0), ("none", 1)]
    assert results["seeds"] == [0, 1] and results["gate"].startswith("Gate: ")
    table = (out / "table.md").read_text()
    assert table == format_table(results) and "| none | trained |" in table
    assert (out / "protocols.png").stat().st_size > 0
    assert json.loads((out / MARKER).read_text())["kind"] == "evidence"
    capsys.readouterr()
    assert main(["evidence", "--out", str(out), *TINY]) == 2
    assert "holds a evidence; pass --resume or --overwrite" in _one_line(capsys)
    before = (out / "results.json").read_bytes()
    assert main(["evidence", "--out", str(out), *TINY[:-1], "bilateral", "--resume"]) == 2
    assert "holds an experiment with other settings" in _one_line(capsys)
    assert (out / "results.json").read_bytes() == before
    # killed after two runs: their rows are kept, the other runs continue their run folders
    (out / "rows" / "none-seed1.json").unlink()
    (out / "results.json").unlink()
    assert main(["evidence", "--out", str(out), *TINY, "--resume"]) == 0
    again = json.loads((out / "results.json").read_text())
    strip = [{k: v for k, v in r.items() if k != "train_cpu_s"} for r in results["rows"]]
    assert [{k: v for k, v in r.items() if k != "train_cpu_s"} for r in again["rows"]] == strip
    assert again["summary"] == results["summary"]


def test_evidence_killed_right_after_its_marker_resumes_with_worker_processes(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from rice_n._io import write_marker

    out = tmp_path / "ev"
    out.mkdir()
    write_marker(out, "evidence")
    argv = ["evidence", "--out", str(out), "--seeds", "3", "4", "--episodes", "1", "--eval-episodes", "1"]
    assert main([*argv, "--protocols", "climate-club", "--workers", "2", "--resume"]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(r["protocol"], r["seed"]) for r in rows] == [("climate-club", 3), ("climate-club", 4)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seeds", "0", "0"], "--seeds repeats a seed"),
        (["--seeds", "-1"], "--seeds must be integers >= 0"),
        (["--seeds", "1_0"], "--seeds must be integers >= 0"),
        (["--seeds", ","], "--seeds must be integers >= 0"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--episodes", "0"], "--episodes must be >= 1"),
        (["--eval-episodes", "0"], "--eval-episodes must be >= 1"),
        (["--protocols", "none,open-market"], "--protocols must name some of"),
        (["--address", "127.0.0.1:6379"], "--address needs --engine ray"),
    ],
)
def test_evidence_bad_input_is_one_line_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "ev"
    assert main(["evidence", "--out", str(out), *extra]) == 2
    assert message in _one_line(capsys)
    assert not out.exists()


def test_readme_table_is_the_committed_results_table() -> None:
    results = json.loads(RESULTS.read_text())
    readme = (HERE.parent / "README.md").read_text()
    assert format_table(results) in readme
    assert len(results["seeds"]) >= 5 and len(results["rows"]) == 3 * len(results["seeds"])
    for name in ("none", "bilateral", "climate-club"):
        assert sorted(r["seed"] for r in results["rows"] if r["protocol"] == name) == results["seeds"]
