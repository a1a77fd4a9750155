"""Folder ownership of ``demo`` and the protocol evidence, the marker check before removing a leftover,
and ``--address`` checked before anything is written (issue 24)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rice_n._io import MARKER, recover_leftovers, write_marker
from rice_n.cli import main


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("name", ["demo.json", "config.json", "run/metrics.jsonl", "moderate/metrics.json"])
def test_demo_never_touches_a_users_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / "mine"
    (out / name).parent.mkdir(parents=True)
    (out / name).write_text("the user's own file\n")
    assert main(["demo", "--out", str(out), "--episodes", "1"]) == 2
    assert "holds no rice-n demo" in _one_line(capsys)
    assert _snapshot(out) == {name: b"the user's own file\n"}


def test_demo_refuses_another_commands_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, "train")
    assert main(["demo", "--out", str(out)]) == 2
    assert "holds a rice-n train, not a rice-n demo" in _one_line(capsys)
    assert [p.name for p in out.iterdir()] == [MARKER]


def test_demo_replaces_its_own_folder_once_complete(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from rice_n.demo import run_demo

    out = tmp_path / "demo"
    assert run_demo(out, seed=0, episodes=1, eval_episodes=1) == 0
    assert json.loads((out / MARKER).read_text())["kind"] == "demo"
    assert json.loads((out / "run" / MARKER).read_text())["kind"] == "train"
    first = json.loads((out / "demo.json").read_text())
    (out / "stale.txt").write_text("from the first demo\n")
    assert run_demo(out, seed=0, episodes=1, eval_episodes=1) == 0
    assert not (out / "stale.txt").exists()  # the folder was replaced by a complete new demo
    assert json.loads((out / "demo.json").read_text())["figures"] == first["figures"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


@pytest.mark.parametrize("name", ["results.json", "table.md", "runs/none-seed0/config.json"])
@pytest.mark.parametrize("flag", [[], ["--resume"], ["--overwrite"]])
def test_evidence_never_touches_a_users_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, flag: list[str]
) -> None:
    from rice_n.experiment import main as experiment

    out = tmp_path / "mine"
    (out / name).parent.mkdir(parents=True)
    (out / name).write_text("the user's own file\n")
    assert experiment(["--out", str(out), "--seeds", "0", "--episodes", "1", *flag]) == 2
    assert "holds no rice-n evidence" in _one_line(capsys)
    assert _snapshot(out) == {name: b"the user's own file\n"}


def test_a_leftover_without_marker_is_never_removed(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    users = tmp_path / ".sim.rice-n-staging-999999999"  # a name like a staging folder, but not ours
    users.mkdir()
    (users / "notes.txt").write_text("mine\n")
    empty = tmp_path / ".sim.rice-n-old-999999998"  # ours, killed before its marker: empty
    empty.mkdir()
    marked = tmp_path / ".sim.rice-n-staging-999999997"
    marked.mkdir()
    write_marker(marked, "simulate")
    (marked / "metrics.json").write_text("{}")
    recover_leftovers(out)
    assert (users / "notes.txt").read_text() == "mine\n"
    assert not marked.exists()
    assert out.is_dir() and not empty.exists()  # an old folder of a killed swap is put back
    assert main(["simulate", "--out", str(out), "--no-plots"]) == 0
    assert (users / "notes.txt").read_text() == "mine\n"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("nohost", "--address must be auto, HOST:PORT or ray://HOST:PORT"),
        ("127.0.0.1:0", "--address must be auto"),
        ("127.0.0.1:1", "cannot reach a Ray cluster at 127.0.0.1:1"),
    ],
)
def test_ray_address_is_checked_before_anything_is_written(address: str, message: str) -> None:
    pytest.importorskip("torch")
    from rice_n.train.rllib import check_address

    with pytest.raises(ValueError, match=message):
        check_address(address)
