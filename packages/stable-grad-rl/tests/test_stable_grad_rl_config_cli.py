"""One source of defaults: CLI options derived from the config dataclasses, typed --set values."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from stable_grad_rl import NetworkConfig, SweepConfig, TrainConfig
from stable_grad_rl.cli import ALGO_CONFIGS, ALGO_SKIP, _algo_config, build_parser, main
from stable_grad_rl.config_cli import collect, field_defaults, field_types, parse_value


def test_train_defaults_are_the_dataclass_defaults() -> None:
    args = build_parser().parse_args(["train"])
    assert NetworkConfig(**collect(args, field_types(NetworkConfig))) == NetworkConfig()
    train = collect(args, [f.name for f in fields(TrainConfig) if f.name not in ("network", "algo_config")])
    assert TrainConfig(**train) == TrainConfig()
    for algo in ALGO_CONFIGS:
        assert _algo_config(build_parser().parse_args(["train", "--algo", algo])) == {}


def test_sweep_defaults_are_the_dataclass_defaults() -> None:
    args = build_parser().parse_args(["sweep"])
    kept = [f.name for f in fields(SweepConfig) if f.name not in ("seeds", "algo_config", "base_network")]
    cfg = SweepConfig(**collect(args, kept), seeds=tuple(range(args.seed, args.seed + args.num_seeds)),
                      base_network=NetworkConfig(encoder=args.encoder, cnn_channels=tuple(args.cnn_channels),
                                                 head_std=args.head_std, activation=args.activation))  # fmt: skip
    assert cfg == SweepConfig()


def test_help_shows_every_field_with_its_default(capsys) -> None:
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--width INT hidden width (default: 512)" in text
    for cls in (TrainConfig, NetworkConfig):
        for name in field_types(cls).keys() - {"network", "algo_config"}:
            assert "--" + name.replace("_", "-") in text, name
    for key, cls in ALGO_CONFIGS.items():
        for name, default in field_defaults(cls).items():
            if name not in ALGO_SKIP:
                assert "--" + name.replace("_", "-") in text and f"{key}: {default}" in text, name
    assert main(["sweep", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert re.search(r"--algo \{pqn,ppo,dqn,nonstationary\} [^(]*\(default: nonstationary\)", text)


def test_options_reach_the_algorithm_config() -> None:
    args = build_parser().parse_args(["train", "--algo", "ppo", "--no-clip-vloss", "--num-envs", "2",
                                      "--set", "ent_coef=0.5", "--steps", "64"])  # fmt: skip
    assert _algo_config(args) == {"clip_vloss": False, "num_envs": 2, "ent_coef": 0.5, "total_timesteps": 64}


@pytest.mark.parametrize(
    ("annotation", "raw", "value"),
    [(bool, "true", True), (bool, "False", False), (int, "12", 12), (float, "1e-3", 1e-3),
     (tuple[int, ...], "1,2", (1, 2)), (tuple[int, ...], "", ()), (str | None, "none", None)],
)  # fmt: skip
def test_parse_value_by_type(annotation, raw, value) -> None:
    assert parse_value("x", annotation, raw) == value


@pytest.mark.parametrize(
    ("algo", "setting", "needle"),
    [
        ("ppo", "clip_vloss=no", "clip_vloss must be true or false"),
        ("ppo", "clip_vloss=1", "clip_vloss must be true or false"),
        ("dqn", "tau=x", "tau must be a finite number"),
        ("dqn", "tau=nan", "tau must be a finite number"),
        ("pqn", "gamma=inf", "gamma must be a finite number"),
        ("pqn", "num_envs=abc", "num_envs must be an integer"),
        ("pqn", "num_envs=1.5", "num_envs must be an integer"),
        ("pqn", "bogus=1", "bogus"),
        ("pqn", "tau=1", "tau"),  # a DQN field is no PQN setting
        ("pqn", "novalue", "KEY=VALUE"),
    ],
)
def test_bad_set_one_line_nothing_created(tmp_path: Path, capsys, algo, setting, needle) -> None:
    out = tmp_path / "run"
    assert main(["train", "--algo", algo, "--set", setting, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not out.exists()


@pytest.mark.parametrize(
    "extra",
    [["--gamma", "nan"], ["--tau", "inf"], ["--head-std", "-inf"], ["--num-envs", "x"],
     ["--algo", "pqn", "--tau", "0.5"], ["--steps", "0"], ["--width", "1e3"]],
)  # fmt: skip
def test_bad_options_one_line_nothing_created(tmp_path: Path, capsys, extra) -> None:
    out = tmp_path / "run"
    assert main(["train", *extra, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("stable-grad-rl train: error:"), err
    assert not out.exists()
