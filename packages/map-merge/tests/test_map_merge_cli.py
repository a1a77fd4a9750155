"""The CLI end to end on tiny safetensors models, and every bad input: one line, exit 2, nothing created."""

from __future__ import annotations

import argparse
import dataclasses
import json
import struct
import sys

import pytest

from map_merge.amortized import DESIGNS, METHODS
from map_merge.cli import build_parser, main
from map_merge.config import FrontConfig, read_config


def run_fails(argv: list[str], capsys, text: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("map-merge ") and ": error: " in err, err
    assert text in err, err
    return err


def test_front_pick_plot_and_a_rerun_that_evaluates_nothing(tiny_run, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["front", str(tiny_run), "--out", str(out), "--seed", "1"]) == 0
    first = (out / "front.json").read_bytes()
    data = json.loads(first)
    assert data["n_evaluations"] == 10 and data["samples"][0] == [0.0, 0.0]  # the base point is sampled
    capsys.readouterr()
    run_fails(
        ["front", str(tiny_run), "--out", str(out), "--seed", "1"], capsys, "pass --resume or --overwrite"
    )
    assert main(["front", str(tiny_run), "--out", str(out), "--seed", "1", "--resume"]) == 0
    assert (out / "front.json").read_bytes() == first
    assert len((out / "evaluations.jsonl").read_text().splitlines()) == 11
    merged = tmp_path / "merged"
    assert (
        main(["pick", "--front", str(out / "front.json"), "--preference", "1", "0", "--out", str(merged)])
        == 0
    )
    assert (merged / "model.safetensors").is_file() and (merged / "pick.json").is_file()
    assert main(["plot", "--front", str(out / "front.json"), "--out", str(tmp_path / "plots")]) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("base: [unclosed\nmodels: {", "not valid YAML"),
        ("!!python/object:os.system {}\n", "not valid YAML"),
        ("base: x\nmodels: {a: x, b: y}\nevaluator: m:f\nbudget: lots\n", "budget must be an integer"),
        ("- just\n- a list\n", "must be a mapping"),
        *[
            (
                f"base: x\nmodels: {{a: x, b: y}}\nevaluator: m:f\nmaximize: {word}\n",
                "maximize must be true or false",
            )
            for word in ("yes", "no", "on", "off", "Yes", "y")
        ],
    ],
)
def test_bad_configs(tmp_path, capsys, text: str, expected: str) -> None:
    pytest.importorskip("yaml")
    (tmp_path / "x").write_bytes(b"")
    (tmp_path / "y").write_bytes(b"")
    (tmp_path / "c.yaml").write_text(text)
    run_fails(["front", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out")], capsys, expected)
    assert not (tmp_path / "out").exists()


def test_out_under_a_regular_file(tiny_run, tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    run_fails(
        ["front", str(tiny_run), "--out", str(tmp_path / "file" / "out")], capsys, "is a file, not a folder"
    )


def test_pick_refuses_nan_coefficients_list_headers_and_foreign_configs(
    finished_front, tmp_path, capsys
) -> None:
    tiny_run, out = finished_front / "run.json", finished_front / "out"
    data = json.loads((out / "front.json").read_text())
    pick = ["pick", "--preference", "1", "1", "--out", str(tmp_path / "merged")]

    bad = json.loads(json.dumps(data))
    for row in bad["coefficients"]:
        row[0] = float("nan")
    (tmp_path / "nan.json").write_text(json.dumps(bad))
    run_fails([*pick, "--front", str(tmp_path / "nan.json")], capsys, "non-finite")

    header = json.dumps([1, 2]).encode()
    (tmp_path / "list.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    listed = data | {"config": data["config"] | {"base": str(tmp_path / "list.safetensors")}}
    (tmp_path / "list.json").write_text(json.dumps(listed))
    run_fails([*pick, "--front", str(tmp_path / "list.json")], capsys, "header is a JSON list")

    other = json.loads(tiny_run.read_text()) | {"evaluator": "tiny_tasks:build"}
    (tiny_run.parent / "other.json").write_text(json.dumps(other))  # beside the run: its paths resolve
    front = ["--front", str(out / "front.json"), "--reevaluate"]
    run_fails(
        [*pick, *front, "--config", str(tiny_run.parent / "other.json")], capsys, "is not this run's config"
    )
    assert not (tmp_path / "merged").exists()


def test_ray_engine_without_ray_names_the_extra(tiny_run, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    run_fails(
        ["front", str(tiny_run), "--out", str(tmp_path / "out"), "--engine", "ray"],
        capsys,
        'pip install "map-merge[ray]"',
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("word", "value"), [("true", True), ("false", False), ("True", True), ("FALSE", False)]
)
def test_config_booleans_accept_true_and_false(tmp_path, word: str, value: bool) -> None:
    pytest.importorskip("yaml")
    (tmp_path / "x").write_bytes(b"")
    (tmp_path / "y").write_bytes(b"")
    (tmp_path / "c.yaml").write_text(f"base: x\nmodels: {{a: x, b: y}}\nevaluator: m:f\nmaximize: {word}\n")
    assert read_config(tmp_path / "c.yaml").maximize is value


def _front_actions() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["front"]._actions}


def test_front_flags_hold_the_config_defaults() -> None:
    """One source of defaults: every `front` flag that overrides a FrontConfig field has the field's type,
    leaves the config's value alone unless given (default None), and shows the dataclass default."""
    actions = _front_actions()
    fields = {f.name: f for f in dataclasses.fields(FrontConfig)}
    overrides = {name for name in actions if name in fields}
    assert overrides == {"seed", "method", "design", "budget"}
    types = {"seed": int, "method": str, "design": str, "budget": int}
    for name in sorted(overrides):
        action, default = actions[name], fields[name].default
        assert action.default is None and action.type is types[name], name
        shown = "the method's own" if default is None else str(default)
        assert action.help is not None and action.help.endswith(f"default {shown})"), (name, action.help)
    assert tuple(actions["method"].choices or ()) == tuple(METHODS)
    assert tuple(actions["design"].choices or ()) == tuple(DESIGNS)
    args = build_parser().parse_args(["front", "c.yaml", "--out", "o"])
    assert all(getattr(args, name) is None for name in overrides)  # the config (or its default) wins
