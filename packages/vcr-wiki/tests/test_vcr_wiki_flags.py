"""One source of defaults: the flags of ``build``/``show``/``eval`` come from the config dataclasses."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from vcr_wiki._flags import field_default, flag_name
from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.cli import SHOW_EXCLUDE, build_parser, main
from vcr_wiki.eval.evaluate import EvalConfig

REQUIRED = {
    "build": ["--input", "p.jsonl", "--out", "o"],
    "show": ["--input", "p.jsonl", "--out", "o"],
    "eval": ["--dataset", "d", "--model", "oracle", "--out", "o"],
}


def _sub(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


@pytest.mark.parametrize(
    ("command", "cls", "exclude"),
    [("build", BuildConfig, ()), ("show", BuildConfig, SHOW_EXCLUDE), ("eval", EvalConfig, ("extra",))],
)
def test_cli_defaults_equal_the_dataclass_defaults(command: str, cls: type, exclude: tuple[str, ...]) -> None:
    sub = _sub(command)
    args = build_parser().parse_args([command, *REQUIRED[command]])
    actions: dict[str, argparse.Action] = {}
    for a in sub._actions:
        actions.setdefault(a.dest, a)
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        action = actions[f.name]
        assert flag_name(f.name) in action.option_strings  # reachable by its own name
        default = field_default(f)
        if default is dataclasses.MISSING:
            assert action.required
            continue
        assert getattr(args, f.name) == default == action.default, f.name
        assert action.help is not None and action.help.endswith("(default: %(default)s)")  # shown in --help


def test_build_and_eval_configs_from_the_bare_command_are_the_dataclass_defaults() -> None:
    from vcr_wiki.cli import _config

    assert _config(build_parser().parse_args(["build", *REQUIRED["build"]])) == BuildConfig()
    args = build_parser().parse_args(["eval", *REQUIRED["eval"]])
    from vcr_wiki._flags import config_values

    assert EvalConfig(**config_values(args, args.config_fields)) == EvalConfig("d", "oracle", "o")


@pytest.mark.parametrize(
    "extra",
    [
        ["--n", "1_0"],
        ["--n", "٣"],  # an Arabic-Indic digit
        ["--mask-p", "nan"],
        ["--mask-p", "inf"],
        ["--seed", "x"],
        ["--shard-size", "1.5"],
        ["--lang", "fr"],
        ["--width", "-3"],
        ["--censor", "missing-words.txt"],
    ],
)
def test_bad_build_values_are_one_line_and_create_nothing(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["build", "--input", str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and err.startswith("vcr-wiki build: error: ")
    assert extra[1] in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["yes", "no", "1", "on", ""])
def test_eval_booleans_take_only_true_or_false(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--dataset", "d", "--model", "oracle", "--out", str(tmp_path / "o"), "--fresh", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "true or false" in err
    assert not (tmp_path / "o").exists()


def test_eval_boolean_spellings() -> None:
    parse = build_parser().parse_args
    base = ["eval", *REQUIRED["eval"]]
    assert parse([*base, "--fresh"]).fresh is True
    assert parse([*base, "--fresh", "FALSE"]).fresh is False
    assert parse([*base, "--progress", "false"]).progress is False
    assert parse([*base, "--no-progress"]).progress is False
    assert (
        parse([*base, "--bootstrap", "7"]).n_resamples
        == 7
        == parse([*base, "--n-resamples", "7"]).n_resamples
    )
