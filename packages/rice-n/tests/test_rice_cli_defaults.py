"""CLI defaults equal the config dataclasses' defaults (issue 22): every TrainConfig field is a flag parsed
by its type, its help shows the dataclass default, and bad values are one line, exit 2, nothing created."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from rice_n._flags import overrides, show_default
from rice_n.cli import CLI_OWN_FIELDS, build_parser, main, train_fields
from rice_n.train.config import PRESETS, TrainConfig, preset


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise AssertionError(name)


def test_every_field_is_a_flag_whose_help_shows_the_dataclass_default() -> None:
    train = _subparser("train")
    flags = {a.dest: a for a in train._actions}
    default = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        assert field.name in flags, field.name
        action = flags[field.name]
        if field.name in CLI_OWN_FIELDS:
            assert action.default == getattr(default, field.name), field.name
        else:
            assert action.default is None, field.name  # unset: the preset's value
            assert f"default {show_default(getattr(default, field.name))})" in (action.help or ""), field.name


def test_no_flags_give_the_dataclass_and_each_flag_sets_its_field_by_type() -> None:
    train = _subparser("train")
    args = train.parse_args(["--out", "x"])
    built = preset(args.preset, protocol=args.protocol, mode=args.mode, seed=args.seed)
    assert built.replace(**overrides(args, train_fields())) == TrainConfig() == PRESETS[args.preset]
    argv = ["--out", "x", "--hidden", "64,32", "--lr", "1e-3", "--normalize-advantages", "FALSE"]
    argv += ["--entropy-schedule", "0:0.5,1e6:0.1", "--gamma", "0.5", "--extra", "note=a=b", "--algo", "a2c"]
    args = train.parse_args(argv)
    config = TrainConfig().replace(**overrides(args, train_fields()))
    assert config.hidden == (64, 32) and config.lr == 1e-3 and config.normalize_advantages is False
    assert config.entropy_schedule == ((0.0, 0.5), (1e6, 0.1)) and config.gamma == 0.5
    assert config.extra == {"note": "a=b"} and config.algo == "a2c"


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--normalize-advantages", "no", "expected true or false"),
        ("--stage-dims", "1", "expected true or false"),
        ("--gamma", "nan", "expected a finite number"),
        ("--clip-param", "x", "expected a finite number"),
        ("--minibatches", "1_0", "expected an integer"),
        ("--num-envs", "abc", "expected an integer"),
        ("--entropy-schedule", "0.5", "STEP:VALUE"),
        ("--extra", "novalue", "KEY=VALUE"),
        ("--algo", "sac", "invalid choice"),
        ("--gamma", "2", "gamma and gae_lambda must be in [0, 1]"),
        ("--minibatches", "0", "--minibatches must be >= 1"),
        ("--threads", "2.5", "expected an integer"),
    ],
)
def test_bad_field_values_are_one_line_and_create_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, needle: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("rice-n train: error:") and needle in err, err
    assert not out.exists()


def test_unknown_options_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", "x", "--no-such-field", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unrecognized arguments: --no-such-field" in err, err
