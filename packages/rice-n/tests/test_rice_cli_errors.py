"""Bad inputs of every subcommand: one line on stderr, exit code 2, nothing created; the user's umask."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rice_n.cli import main


def one_line_error(capsys: pytest.CaptureFixture[str], needle: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "error:" in err and needle in err, err
    assert "Traceback" not in err


def test_plan_with_a_400_digit_integer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plan.json").write_text("[" + "9" * 400 + "," + ",".join(["0"] * 56) + "]")
    out = tmp_path / "o"
    assert main(["simulate", "--actions", str(tmp_path / "plan.json"), "--out", str(out)]) == 2
    one_line_error(capsys, "out of range")
    assert not out.exists()


def test_actions_naming_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--actions", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "is a folder")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["simulate", "evaluate", "train"])
def test_out_under_a_regular_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    (tmp_path / "file").write_text("x")
    extra = {"simulate": [], "evaluate": ["--policy", "random"], "train": ["--episodes", "1"]}[command]
    assert main([command, *extra, "--out", str(tmp_path / "file" / "sub")]) == 2
    one_line_error(capsys, "not a folder")
    assert (tmp_path / "file").read_text() == "x"


def test_region_table_with_a_python_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "regions.yml"
    table.write_text("- !!python/object/apply:os.system ['echo pwned']\n")
    assert main(["simulate", "--regions", str(table), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "not plain YAML")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--device", "bogus"], "unknown device 'bogus'"),
        (["--device", "cuda:7"], "cuda"),
        (["--lr", "inf"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--checkpoint-every", "0"], "checkpoint_every"),
        (["--episodes", "0"], "--episodes"),
        (["--threads", "0"], "--threads"),
        (["--hidden", "a,b"], "--hidden"),
        (["--protocol", "climate-club"], "members"),
        (["--protocol", "climate-club", "--set", "members=0,99"], "99"),
        (["--protocol", "bilateral", "--set", "x=1"], "no parameter 'x'"),
        (["--protocol", "climate-club", "--set", "members"], "KEY=VALUE"),
    ],
)
def test_train_bad_arguments_create_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    out = tmp_path / "deep" / "run"
    assert main(["train", "--episodes", "2", "--out", str(out), *args]) == 2
    one_line_error(capsys, needle)
    assert not (tmp_path / "deep").exists()


def test_outputs_get_the_users_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        assert main(["simulate", "--out", str(tmp_path / "o"), "--no-plots"]) == 0
    finally:
        os.umask(old)
    for f in (tmp_path / "o").iterdir():
        assert f.stat().st_mode & 0o777 == 0o644, f


def test_simulate_refuses_a_previous_output_unless_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    assert main(["simulate", "--out", str(out), "--no-plots"]) == 0
    before = (out / "metrics.json").read_bytes()
    assert main(["simulate", "--out", str(out), "--no-plots", "--mitigation", "0.5"]) == 2
    one_line_error(capsys, "--overwrite")
    assert (out / "metrics.json").read_bytes() == before
    assert main(["simulate", "--out", str(out), "--no-plots", "--mitigation", "0.5", "--overwrite"]) == 0
    assert (out / "metrics.json").read_bytes() != before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert main(["simulate", "--out", str(tmp_path / "other"), "--overwrite"]) == 2
    one_line_error(capsys, "holds no rice-n simulation")


def test_simulate_seed_drives_only_the_random_policy(tmp_path: Path) -> None:
    def run(name: str, *args: str) -> dict:
        assert main(["simulate", "--out", str(tmp_path / name), "--no-plots", *args]) == 0
        return json.loads((tmp_path / name / "metrics.json").read_text())

    a, b = run("a", "--seed", "1"), run("b", "--seed", "2")
    assert a["temperature_rise"] == b["temperature_rise"]  # a fixed policy draws nothing
    r1, r1b, r2 = (
        run(n, "--policy", "random", "--seed", s) for n, s in (("r1", "1"), ("r1b", "1"), ("r2", "2"))
    )
    assert r1["temperature_rise"] == r1b["temperature_rise"] != r2["temperature_rise"]


def test_simulate_without_matplotlib_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import rice_n.plots

    monkeypatch.setattr(rice_n.plots, "_pyplot", lambda: None)
    assert main(["simulate", "--out", str(tmp_path / "o")]) == 0
    assert "no PNG plots" in capsys.readouterr().err
    assert not list((tmp_path / "o").glob("*.png"))


def test_simulate_club_protocol_from_the_registry(tmp_path: Path) -> None:
    args = ["--protocol", "climate-club", "--set", "members=0,1,5", "--set", "min_mitigation=0.7"]
    assert main(["simulate", "--out", str(tmp_path / "o"), "--no-plots", *args]) == 0
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["config"]["protocol"] == {
        "name": "climate-club",
        "params": {"members": [0, 1, 5], "min_mitigation": 0.7, "tariff": 0.3},
    }
