"""CLI flags derived from the config dataclasses: every field reachable with its default; typed --set."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from sparse_drl.agents import DQNConfig, SACConfig
from sparse_drl.cli import agent_options, build_parser, main
from sparse_drl.flags import config_fields, flag_name, parse_value

CONFIGS = {"sac": SACConfig, "dqn": DQNConfig}


def _train_actions() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


@pytest.mark.parametrize("agent", sorted(CONFIGS))
def test_every_field_is_a_flag_whose_help_shows_the_dataclass_default(agent: str) -> None:
    actions = _train_actions()
    for name, (kind, default) in config_fields(CONFIGS[agent]).items():
        if name in ("seed", "lr"):  # --seed takes a list of seeds; --lr also sets SAC's two rates
            assert name in actions
            continue
        action = actions[name]
        assert flag_name(name) in action.option_strings
        shown = str(default).lower() if isinstance(default, bool) else repr(default)
        assert action.help is not None
        assert f"{agent} default {shown}" in action.help or action.help.endswith(f"; default {shown})"), (
            name,
            action.help,
        )
        assert action.default is None  # an absent flag leaves the dataclass default
        assert action.type is not None and action.type.__name__ == kind.__name__


@pytest.mark.parametrize("agent", sorted(CONFIGS))
def test_no_flags_give_the_dataclass_defaults(agent: str) -> None:
    args = build_parser().parse_args(["train", "--agent", agent])
    cfg = CONFIGS[agent].from_dict(agent_options(args))
    assert cfg == CONFIGS[agent]()


def test_flags_and_set_reach_every_kind_of_field() -> None:
    argv = [
        "train",
        "--tau",
        "0.01",
        "--num-critics",
        "1",
        "--clipped-double-q",
        "false",
        "--set",
        "temp_lr=3e-4",
    ]
    opts = agent_options(build_parser().parse_args(argv))
    assert opts == {"tau": 0.01, "num_critics": 1, "clipped_double_q": False, "temp_lr": 3e-4}
    argv = ["train", "--agent", "dqn", "--eps-end", "0.1", "--critic-width", "32", "--set", "double_q=FALSE"]
    opts = agent_options(build_parser().parse_args(argv))
    assert opts == {"eps_end": 0.1, "width": 32, "double_q": False}


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        (bool, "False", False),
        (bool, "TRUE", True),
        (bool, "true", True),
        (bool, "false", False),
        (int, "-3", -3),
        (float, "1e-3", 1e-3),
        (float, "2", 2.0),
        (str, "CartPole-v1", "CartPole-v1"),
    ],
)
def test_parse_value_accepts(kind: type, text: str, value: object) -> None:
    assert parse_value(kind, text, "f") == value


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        *[
            (bool, "nope"),
            (bool, ""),
            (bool, "2"),
            (bool, "yes"),
            (bool, "no"),
            (bool, "1"),
            (bool, "0"),
            (int, "abc"),
            (int, "1_0"),
            (int, "1.5"),
            (int, "٣"),
        ],
        *[(float, "nan"), (float, "inf"), (float, "-inf"), (float, "x"), (float, "1_0")],
    ],
)
def test_parse_value_refuses(kind: type, text: str) -> None:
    with pytest.raises(ValueError, match=r"^f must be"):
        parse_value(kind, text, "f")


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--set", "tau=nan"], "tau must be a finite number, got 'nan'"),
        (["--set", "tau=x"], "tau must be a finite number, got 'x'"),
        (["--set", "num_envs=abc"], "num_envs must be an integer, got 'abc'"),
        (["--set", "clipped_double_q=maybe"], "clipped_double_q must be true or false"),
        (["--set", "no_such_field=1"], "no_such_field"),
        (["--set", "seed=3"], "--set seed"),
        (["--set", "tau"], "KEY=VALUE"),
        (["--tau", "inf"], "tau must be a finite number"),
        (["--num-envs", "abc"], "num_envs must be an integer"),
        (["--double-q", "false"], "--double-q does not apply to sac"),
        (["--arch", "resnet"], "invalid choice"),
    ],
)
def test_bad_values_one_line_exit_2_nothing_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    out = tmp_path / "run"
    try:
        code = main(["train", "--steps", "10", "--out", str(out), *extra])
    except SystemExit as err:
        code = err.code  # type: ignore[assignment]
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err_lines) == 1 and needle in err_lines[0], err_lines
    assert list(tmp_path.iterdir()) == []


def test_sweep_flags_leave_out_the_grid_fields() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    dests = {a.dest for a in sub.choices["sweep"]._actions}
    assert {"tau", "eps_start", "num_critics"} <= dests
    assert not {"critic_width", "critic_sparsity", "width", "actor_sparsity"} & dests
    fields = {f.name for f in dataclasses.fields(SACConfig)}
    assert fields - dests == {"critic_width", "critic_depth", "actor_sparsity", "critic_sparsity"}
