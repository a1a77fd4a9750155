"""The folder-ownership rule (issue 24): a marker written first, foreign folders never touched, --overwrite
swapping in a complete result only, and protocol member lists checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rice_n._io import MARKER, write_marker
from rice_n.cli import main


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


def test_simulate_writes_the_marker_and_overwrite_swaps_in_the_new_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), "--no-plots"]) == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["package"] == "rice-n" and marker["kind"] == "simulate" and marker["version"]
    before = _snapshot(out)
    assert main(["simulate", "--out", str(out), "--no-plots", "--mitigation", "0.5"]) == 2
    assert "holds a simulate; pass --overwrite" in _one_line(capsys)
    assert _snapshot(out) == before
    assert main(["simulate", "--out", str(out), "--no-plots", "--mitigation", "0.5", "--overwrite"]) == 0
    assert (out / "metrics.json").read_bytes() != before["metrics.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]  # no staging or old folder left
    # a kill during an earlier --overwrite left a staging folder: the rerun removes it
    (tmp_path / ".sim.rice-n-staging-999999999").mkdir()
    assert main(["simulate", "--out", str(out), "--no-plots", "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]


@pytest.mark.parametrize("name", ["metrics.json", "trajectory.csv", "config.json", "README.md"])
@pytest.mark.parametrize("flag", [[], ["--overwrite"]])
def test_simulate_never_touches_a_users_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, flag: list[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text("the user's own file\n")
    assert main(["simulate", "--out", str(out), "--no-plots", *flag]) == 2
    assert "holds no rice-n simulation" in _one_line(capsys)
    assert _snapshot(out) == {name: b"the user's own file\n"}


def test_a_folder_of_another_kind_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, "train")
    assert main(["simulate", "--out", str(out), "--no-plots", "--overwrite"]) == 2
    assert "holds a rice-n train, not a rice-n simulation" in _one_line(capsys)
    assert list(out.iterdir()) == [out / MARKER]


@pytest.mark.parametrize("name", ["config.json", "summary.json", "metrics.jsonl"])
@pytest.mark.parametrize("flag", ["--overwrite", "--resume"])
def test_train_never_touches_a_users_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, flag: str
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text('{"mine": true}\n')
    assert main(["train", "--episodes", "1", "--out", str(out), "--no-plots", flag]) == 2
    assert "holds no rice-n training run" in _one_line(capsys)
    assert _snapshot(out) == {name: b'{"mine": true}\n'}


def test_train_killed_after_its_marker_resumes_or_is_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, "train")  # what a run killed before writing its config.json leaves
    base = ["train", "--episodes", "1", "--num-envs", "1", "--no-plots", "--out", str(out)]
    assert main([*base, "--resume"]) == 0
    assert (out / "config.json").is_file() and (out / "metrics.jsonl").is_file()
    first = json.loads((out / "metrics.jsonl").read_text())
    (tmp_path / "run2").mkdir()
    write_marker(tmp_path / "run2", "train")
    assert main([*base[:-1], str(tmp_path / "run2"), "--overwrite"]) == 0
    again = json.loads((tmp_path / "run2" / "metrics.jsonl").read_text())
    for key in ("mean_episode_reward", "temperature_rise", "policy_loss", "value_loss", "entropy"):
        assert again[key] == first[key]
    assert json.loads((tmp_path / "run2" / MARKER).read_text())["kind"] == "train"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run2"]


@pytest.mark.parametrize("members", ["", ",,,", "1_0", "\u0661", "0,,1", "1.5e", "nan"])
def test_club_members_must_be_ascii_integers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], members: str
) -> None:
    out = tmp_path / "o"
    args = ["simulate", "--protocol", "climate-club", "--set", f"members={members}", "--out", str(out)]
    assert main(args) == 2
    _one_line(capsys)
    assert not out.exists()
