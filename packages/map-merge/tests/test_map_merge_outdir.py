"""Issue 24 for map-merge: output folders owned by a marker, foreign folders untouched, NaN weights refused,
options checked before anything is created, killed runs cleaned up by their rerun."""

from __future__ import annotations

import json
import shutil
import socket
import sys
import types
from pathlib import Path

import pytest
import torch

from map_merge import outdir
from map_merge.cli import main

DEAD_PID = 4_194_305  # above Linux's largest pid_max: no process has it


def fails(argv: list[str], capsys: pytest.CaptureFixture[str], text: str) -> None:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ": error: " in err and text in err, err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def user_folder(path: Path) -> dict[str, bytes]:
    path.mkdir()
    (path / "README.md").write_text("my notes\n")
    (path / "front.png").write_bytes(b"my picture")
    (path / "metrics.json").write_text('{"mine": 1}\n')
    (path / "config.json").write_text('{"mine": 2}\n')
    return snapshot(path)


def pick_args(root: Path, out: Path, *more: str) -> list[str]:
    return [
        "pick",
        "--front",
        str(root / "out" / "front.json"),
        "--preference",
        "1",
        "1",
        "--out",
        str(out),
        *more,
    ]


@pytest.mark.parametrize("flag", [[], ["--resume"], ["--overwrite"]])
def test_front_refuses_a_users_folder_with_any_flag(tiny_run, tmp_path, capsys, flag) -> None:
    before = user_folder(tmp_path / "mine")
    fails(["front", str(tiny_run), "--out", str(tmp_path / "mine"), *flag], capsys, "holds no map-merge run")
    assert snapshot(tmp_path / "mine") == before


def test_pick_plot_and_merge_refuse_a_users_folder(finished_front, tmp_path, capsys) -> None:
    from map_merge import stream_merge

    before = user_folder(tmp_path / "mine")
    fails(pick_args(finished_front, tmp_path / "mine"), capsys, "holds no map-merge run")
    fails(pick_args(finished_front, tmp_path / "mine", "--overwrite"), capsys, "holds no map-merge run")
    front = str(finished_front / "out" / "front.json")
    fails(
        ["plot", "--front", front, "--out", str(tmp_path / "mine"), "--overwrite"], capsys, "no map-merge run"
    )
    fails(
        ["pick", "--front", front, "--preference", "1", "1", "--out", str(finished_front / "out")],
        capsys,
        "front, not a pick",
    )
    models = [str(finished_front / f"{t}.safetensors") for t in ("a", "b")]
    with pytest.raises(ValueError, match="holds no map-merge merge"):
        stream_merge(str(finished_front / "base.safetensors"), models, [0.5, 0.5], tmp_path / "mine")
    assert snapshot(tmp_path / "mine") == before


def test_the_marker_comes_first_and_pick_replaces_only_with_overwrite(
    finished_front, tmp_path, capsys
) -> None:
    marker = json.loads((finished_front / "out" / outdir.MARKER).read_text())
    assert marker["package"] == "map-merge" and marker["kind"] == "front" and marker["version"]
    out = tmp_path / "nested" / "merged"
    assert main(pick_args(finished_front, out)) == 0
    assert json.loads((out / outdir.MARKER).read_text())["kind"] == "pick"
    first = snapshot(out)
    fails(pick_args(finished_front, out), capsys, "holds a pick; pass --overwrite")
    assert snapshot(out) == first
    assert main(["pick", "--front", str(finished_front / "out" / "front.json"), "--preference", "1", "0",
                 "--out", str(out), "--overwrite"]) == 0  # fmt: skip
    assert (
        json.loads((out / "pick.json").read_text())["predicted"]
        != json.loads(first["pick.json"])["predicted"]
    )
    assert sorted(p.name for p in out.parent.iterdir()) == ["merged"]  # no staging or retired folder left


def test_pick_refuses_nan_weights_and_creates_nothing(finished_front, tmp_path, capsys) -> None:
    from safetensors.torch import load_file, save_file

    weights = load_file(str(finished_front / "b.safetensors"))
    weights["weight"][1, 2] = float("nan")
    save_file(weights, str(tmp_path / "b-nan.safetensors"))
    data = json.loads((finished_front / "out" / "front.json").read_text())
    data["config"]["models"]["b"] = str(tmp_path / "b-nan.safetensors")
    (tmp_path / "front.json").write_text(json.dumps(data))
    argv = ["pick", "--front", str(tmp_path / "front.json"), "--preference", "1", "1"]
    fails([*argv, "--out", str(tmp_path / "new" / "merged")], capsys, "holds NaN or infinite weights")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b-nan.safetensors", "front.json"]


def test_task_vectors_refuse_infinite_weights() -> None:
    from map_merge import CheckpointError, task_vectors

    base = {"w": torch.zeros(3)}
    with pytest.raises(CheckpointError, match="'w' holds NaN or infinite"):
        task_vectors(base, {"a": {"w": torch.tensor([0.0, float("inf"), 1.0])}})


def test_a_killed_front_leaves_no_temp_file_after_its_rerun(finished_front, tmp_path, capsys) -> None:
    root = tmp_path / "run"
    shutil.copytree(finished_front, root)
    out = root / "out"
    leftovers = [out / f".front.json.tmp-{DEAD_PID}", out / f".front.png.tmp-{DEAD_PID}"]
    for path in leftovers:
        path.write_text("half written")
    user_temp = out / ".notes.tmp"
    user_temp.write_text("not ours")
    assert main(["front", str(root / "run.json"), "--out", str(out), "--resume"]) == 0
    assert not any(path.exists() for path in leftovers) and user_temp.exists()
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


def test_front_overwrite_swaps_in_a_complete_run(finished_front, tmp_path) -> None:
    root = tmp_path / "run"
    shutil.copytree(finished_front, root)
    out = root / "out"
    (out / "evaluations.jsonl").write_text(
        (out / "evaluations.jsonl").read_text() + '{"c": [9, 9], "y": [0, 0]}\n'
    )
    stale = root / f".out{outdir.STAGING}{DEAD_PID}"  # a killed earlier --overwrite
    stale.mkdir()
    outdir.write_marker(stale, "front")
    assert main(["front", str(root / "run.json"), "--out", str(out), "--overwrite"]) == 0
    assert "[9, 9]" not in (out / "evaluations.jsonl").read_text()
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []


def test_budget_too_small_for_the_surrogates_is_refused_up_front(tiny_run, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    fails(["front", str(tiny_run), "--out", str(out), "--budget", "6"], capsys, "need at least 7 evaluations")
    fails(
        ["front", str(tiny_run), "--out", str(out), "--budget", "7", "--method", "bayesian"],
        capsys,
        "at least 8",
    )
    fails(
        ["front", str(tiny_run), "--out", str(out), "--budget", "6", "--method", "nested"],
        capsys,
        "at least 7",
    )
    assert not out.exists()


@pytest.mark.parametrize("option", [["--address", "127.0.0.1:6379"], ["--workers", "2"]])
def test_ray_options_with_the_local_engine_are_refused(tiny_run, tmp_path, capsys, option) -> None:
    fails(
        ["front", str(tiny_run), "--out", str(tmp_path / "out"), *option],
        capsys,
        "does nothing with --engine local",
    )
    assert not (tmp_path / "out").exists()


def test_an_unreachable_ray_address_is_refused_before_anything_is_touched(
    finished_front, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", types.ModuleType("ray"))  # reached only if the checks pass
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = str(finished_front / "run.json")
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        fails(
            ["front", config, "--out", str(tmp_path / "new"), "--engine", "ray", "--address", address],
            capsys,
            "no Ray cluster reachable",
        )
    fails(
        ["front", config, "--out", str(tmp_path / "new"), "--engine", "ray", "--address", "nowhere"],
        capsys,
        "expected HOST:PORT",
    )
    assert not (tmp_path / "new").exists()
    before = snapshot(finished_front / "out")
    argv = ["front", config, "--out", str(finished_front / "out"), "--engine", "ray", "--overwrite"]
    fails([*argv, "--address", f"127.0.0.1:{port}"], capsys, "no Ray cluster reachable")
    assert snapshot(finished_front / "out") == before


def test_demo_replaces_its_own_earlier_demo_but_no_other_folder(tmp_path, capsys, monkeypatch) -> None:
    import map_merge.demo

    runs = []

    def fake_demo(out: Path, seed: int = 0, progress: bool = True) -> dict[str, object]:
        runs.append(out)
        (out / "demo.json").write_text(json.dumps({"key_figure": f"run {len(runs)}"}))
        return {"key_figure": f"run {len(runs)}"}

    monkeypatch.setattr(map_merge.demo, "run_demo", fake_demo)
    out = tmp_path / "demo"
    out.mkdir()  # umbrella creates the folder before calling the demo
    assert main(["demo", "--out", str(out)]) == 0
    assert main(["demo", "--out", str(out)]) == 0
    assert json.loads((out / "demo.json").read_text())["key_figure"] == "run 2"
    before = user_folder(tmp_path / "mine")
    fails(["demo", "--out", str(tmp_path / "mine")], capsys, "holds no map-merge run")
    assert snapshot(tmp_path / "mine") == before and len(runs) == 2
