"""CLI defaults equal the config dataclasses' defaults (issue 22): one source of truth, held by a test."""

from __future__ import annotations

import argparse
import re

from rice_n.cli import build_parser
from rice_n.train.config import PRESETS, TrainConfig


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise AssertionError(name)


def test_train_defaults_are_the_dataclass_defaults() -> None:
    train = _subparser("train")
    args = train.parse_args(["--out", "x"])
    default = TrainConfig()
    assert PRESETS[args.preset] == default  # the default preset is the dataclass
    assert args.seed == default.seed and args.mode == default.mode and args.protocol == default.protocol
    # options left at None take the preset's value; the help shows the dataclass default
    helps = {a.dest: a.help or "" for a in train._actions}
    for dest in ("episodes", "num_envs", "hidden", "lr", "epochs"):
        assert getattr(args, dest) is None, dest
    assert re.search(r"default 256,256", helps["hidden"]) and default.hidden == (256, 256)
    assert re.search(r"default 5e-4", helps["lr"]) and default.lr == 5e-4
    assert args.threads == 1


def test_every_config_field_named_by_a_flag_has_the_dataclass_default() -> None:
    train = _subparser("train")
    fields = TrainConfig.__dataclass_fields__
    for action in train._actions:
        if action.dest in fields and action.default is not None:
            assert action.default == getattr(TrainConfig(), action.dest), action.dest
