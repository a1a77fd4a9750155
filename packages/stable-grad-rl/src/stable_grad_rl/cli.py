"""Command line interface of ``stable-grad-rl``: ``train``, ``sweep``, ``plot``, ``evidence`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import sys
import typing
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stable_grad_rl import __version__
from stable_grad_rl.agents import DQNConfig, PPOConfig, PQNConfig
from stable_grad_rl.config_cli import (
    add_field_options,
    add_union_options,
    collect,
    field_types,
    parse_sets,
    parse_value,
)
from stable_grad_rl.evidence import ARMS as EVIDENCE_ARMS
from stable_grad_rl.evidence import check_evidence
from stable_grad_rl.folders import check_folder, write_marker
from stable_grad_rl.networks import ACTIVATIONS, ENCODERS, MLP_KINDS, NetworkConfig
from stable_grad_rl.nonstationary import NonStationaryConfig
from stable_grad_rl.optim import OPTIMIZERS
from stable_grad_rl.rundir import atomic_write_json, inspect_run
from stable_grad_rl.sweep import (
    INTERVENTIONS,
    SweepConfig,
    aggregate,
    collect_results,
    run_sweep,
    run_sweep_ray,
)
from stable_grad_rl.train import ALGOS, TrainConfig, run_training

ALGO_CONFIGS: dict[str, type] = {
    "pqn": PQNConfig, "ppo": PPOConfig, "dqn": DQNConfig, "nonstationary": NonStationaryConfig,
}  # fmt: skip
#: TrainConfig and SweepConfig fields that the commands fill in themselves (not one option each).
TRAIN_SKIP = ("network", "algo_config")
SWEEP_SKIP = ("seeds", "algo_config", "base_network")
#: NetworkConfig fields that a sweep's interventions set.
SWEEP_NETWORK_SKIP = ("kind", "depth", "width", "layernorm")
CHOICES: dict[str, Any] = {
    "algo": ALGOS, "kind": MLP_KINDS, "activation": sorted(ACTIVATIONS), "encoder": ENCODERS,
    "optimizer": OPTIMIZERS, "interventions": sorted(INTERVENTIONS),
}  # fmt: skip
HELPS = {
    "algo": "agent, or the non-stationary supervised task",
    "env": "gymnasium id (ALE/... needs [atari], MinAtar/... [minatar])",
    "optimizer": "optimizer; None: the algorithm's baseline (RAdam for PQN/PPO, Adam otherwise)",
    "lr": "baseline learning rate; None: the algorithm's (Kron uses lr/3)",
    "seed": "random seed (first seed of a multi-seed run)",
    "log_every": "log every N iterations (RL)",
    "diag_every": "representation metrics every N iterations (RL)",
    "checkpoint_every": "checkpoint every N iterations (>= 1)",
    "device": "torch device, e.g. cpu, cuda or cuda:1",
    "kind": "MLP variant",
    "depth": "Linear layers (plain) or blocks (residual kinds)",
    "width": "hidden width",
    "layernorm": "LayerNorm in every hidden layer",
    "encoder": "CNN encoder for image observations",
    "cnn_channels": "CNN channels; empty: the encoder's default",
    "head_std": "orthogonal init gain of the output head",
    "activation": "hidden activation (paper: relu)",
    "depths": "depths in plain Linear layers",
    "widths": "widths",
    "interventions": "interventions (see README)",
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit 2), without the usage block."""

    def error(self, message: str) -> typing.NoReturn:
        """Print ``PROG: error: MESSAGE`` as one line and exit 2."""
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def _algo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--steps", type=_positive_int, default=None,
        help="total env steps (RL: total_timesteps) or steps per phase (nonstationary: steps_per_phase)",
    )  # fmt: skip
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="set a field of the algorithm's config (parsed by its type; booleans true/false)",
    )  # fmt: skip
    p.add_argument(
        "--preset",
        choices=("default", "atari"),
        default="default",
        help="atari: the paper's Atari settings (PQN/PPO)",
    )
    group = p.add_argument_group(
        "algorithm settings (fields of PQNConfig, PPOConfig, DQNConfig, NonStationaryConfig)"
    )
    add_union_options(group, ALGO_CONFIGS, skip=ALGO_SKIP)


def _positive_int(raw: str) -> int:
    try:
        value = parse_value("--steps", int, raw)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"--steps must be >= 1, got {raw!r}")
    return int(value)


def _mode_args(p: argparse.ArgumentParser, what: str) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help=f"continue the {what} in OUT")
    mode.add_argument(
        "--overwrite", action="store_true",
        help=f"replace the {what} in OUT (built beside it, swapped in once complete)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``stable-grad-rl`` command."""
    parser = _Parser(
        prog="stable-grad-rl",
        description="Gradient-flow interventions that let deep-RL networks scale in depth and width.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train", help="train one configuration for one or more seeds",
        description="Every field of TrainConfig, NetworkConfig and the algorithm's config is an option "
        "with the dataclass default.",
    )  # fmt: skip
    train.add_argument("--out", default="runs/train", help="output folder")
    add_field_options(train, TrainConfig, skip=TRAIN_SKIP, helps=HELPS, choices=CHOICES)
    net = train.add_argument_group("network (fields of NetworkConfig)")
    add_field_options(net, NetworkConfig, helps=HELPS, choices=CHOICES)
    _algo_args(train)
    train.add_argument("--num-seeds", type=int, default=1, help="seeds SEED .. SEED+N-1, each in OUT/seed_K")
    _mode_args(train, "run")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")

    sweep = sub.add_parser(
        "sweep", help="depth x width x intervention x seed grid",
        description="Every field of SweepConfig (seeds: --seed and --num-seeds) is an option with the "
        "dataclass default.",
    )  # fmt: skip
    sweep.add_argument("--out", default="runs/sweep", help="output folder")
    sweep.add_argument("--seed", type=int, default=0, help="first seed")
    sweep.add_argument("--num-seeds", type=int, default=3, help="seeds SEED .. SEED+N-1")
    add_field_options(sweep, SweepConfig, skip=SWEEP_SKIP, helps=HELPS, choices=CHOICES)
    base = sweep.add_argument_group("base network (fields of NetworkConfig not set by the interventions)")
    add_field_options(base, NetworkConfig, skip=SWEEP_NETWORK_SKIP, helps=HELPS, choices=CHOICES)
    _algo_args(sweep)
    sweep.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: a process pool; ray: one Ray Tune trial per grid point (needs the [ray] extra)",
    )
    sweep.add_argument(
        "--workers", type=int, default=None, help="parallel processes (local engine only; default 1)"
    )
    sweep.add_argument(
        "--address", default=None,
        help="ray engine only: HOST:PORT (or ray://HOST:PORT, or auto) of a running cluster, reached "
        "within 3 s before anything is written (default: start a local instance on 127.0.0.1)",
    )  # fmt: skip
    _mode_args(sweep, "sweep")

    plot = sub.add_parser("plot", help="metric vs depth from a sweep; gradient-flow heat maps of runs")
    plot.add_argument("--out", default="runs/plots", help="output folder")
    plot.add_argument("--seed", type=int, default=0, help="unused by plot (accepted for uniformity)")
    plot.add_argument("--sweep", help="a sweep folder (with results.json)")
    plot.add_argument("--metric", default=None, help="summary metric (default final_return / final_accuracy)")
    plot.add_argument("--runs", nargs="*", default=[], help="run folders for gradient-flow heat maps")

    _evidence_args(sub)

    demo = sub.add_parser(
        "demo",
        help="run the short end-to-end demo (used by `umbrella demo`)",
        description="Plain deep MLP, the same MLP with LayerNorm, and the multi-skip residual MLP + "
        "LayerNorm on the label-shift task (single thread): writes OUT/demo.json (key_figure, figures) "
        "and the three runs. An earlier demo folder (recognised by its marker) is replaced.",
    )
    demo.add_argument("--out", default="demo-out", help="output folder")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def _evidence_args(sub: Any) -> None:
    ev = sub.add_parser(
        "evidence", help="regenerate the depth study with controls (results.json, table.md, evidence.png)",
        description="PQN depth study: plain, LN-only, multi-skip+LN and multi-skip+LN+Kron, each at its best "
        "lr from a small sweep, over depths and seeds (95%% bootstrap intervals, gate and verdicts). "
        "Scales: --quick (CPU minutes), default (the README's table, 15-30 CPU-minutes), --full (paper "
        "scale, GPU). Finished cells persist; --resume skips them.",
    )  # fmt: skip
    ev.add_argument("--out", default="runs/evidence", help="output folder")
    scale = ev.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true", help="demo scale: CPU minutes")
    scale.add_argument("--full", action="store_true", help="the paper's scale (width 512, 5M steps, GPU)")
    ev.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds of the depth study")
    ev.add_argument("--depths", type=int, nargs="+", default=None, help="depths in plain Linear layers")
    ev.add_argument("--arms", nargs="+", default=None, choices=list(EVIDENCE_ARMS), help="arms")
    ev.add_argument("--lrs", type=float, nargs="+", default=None, help="learning rates of the sweep")
    ev.add_argument("--sweep-depth", type=int, default=None, help="depth of the lr sweep")
    ev.add_argument("--sweep-seeds", type=int, nargs="+", default=None, help="seeds of the lr sweep")
    ev.add_argument("--steps", type=_positive_int, default=None, help="env steps per cell")
    ev.add_argument("--width", type=int, default=None, help="hidden width")
    ev.add_argument("--env", default=None, help="gymnasium id (default MinAtar/Breakout-v1)")
    ev.add_argument("--device", default=None, help="torch device (default cpu; --full: cuda)")
    ev.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="local processes or Ray tasks"
    )
    ev.add_argument("--workers", type=int, default=None, help="parallel processes (local engine; default 1)")
    ev.add_argument(
        "--address", default=None,
        help="ray engine only: HOST:PORT (or ray://HOST:PORT, or auto), reached before anything is written",
    )  # fmt: skip
    _mode_args(ev, "evidence run")


def _cmd_evidence(args: argparse.Namespace) -> int:
    from stable_grad_rl.evidence import local_runner, ray_runner, run_evidence, scale_config

    if args.engine == "local" and args.address is not None:
        raise ValueError("--address needs --engine ray (it does nothing with --engine local)")
    if args.engine == "ray" and args.workers is not None:
        raise ValueError("--workers is for --engine local (Ray schedules one CPU per cell)")
    workers = 1 if args.workers is None else args.workers
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    cfg = scale_config(
        "quick" if args.quick else "full" if args.full else "default",
        seeds=_tuple(args.seeds), depths=_tuple(args.depths), arms=_tuple(args.arms),
        sweep_lrs=_tuple(args.lrs), sweep_depth=args.sweep_depth, sweep_seeds=_tuple(args.sweep_seeds),
        steps=args.steps, width=args.width, env=args.env, device=args.device,
    )  # fmt: skip
    mode = {"resume": args.resume, "overwrite": args.overwrite}
    check_evidence(cfg, Path(args.out), **mode)  # everything validated before Ray starts
    runner = ray_runner(args.address) if args.engine == "ray" else local_runner(workers)
    results = run_evidence(cfg, args.out, runner=runner, **mode)
    for text in results["verdicts"].values():
        print(text)
    print(f"results in {Path(args.out) / 'results.json'}, {Path(args.out) / 'table.md'}")
    return 0


def _tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


#: Algorithm fields whose name a TrainConfig option already takes (reachable through --set).
ALGO_SKIP = ("lr", "log_every")


def _algo_config(args: argparse.Namespace) -> dict[str, Any]:
    """The algorithm's overrides: --preset, then its options, then --set, then --steps."""
    cls = ALGO_CONFIGS[args.algo]
    cfg: dict[str, Any] = {}
    if args.preset == "atari":
        if args.algo not in ("pqn", "ppo"):
            raise ValueError(f"--preset atari exists for pqn and ppo, not {args.algo!r}")
        cfg = asdict((PQNConfig if args.algo == "pqn" else PPOConfig).atari())
    known = set(field_types(cls))
    given = collect(args, [n for n in vars(args) if n in _ALGO_FIELDS])
    foreign = sorted(n for n in given if n not in known)
    if foreign:
        flags = ", ".join("--" + n.replace("_", "-") for n in foreign)
        raise ValueError(f"{flags}: not a setting of --algo {args.algo}")
    cfg.update(given)
    cfg.update(parse_sets(args.set, cls, args.algo))
    if args.steps is not None:
        key = "steps_per_phase" if args.algo == "nonstationary" else "total_timesteps"
        if key in given or any(item.partition("=")[0].strip() == key for item in args.set):
            raise ValueError(f"--steps and {key} both given; pass one")
        cfg[key] = args.steps
    return cfg


_ALGO_FIELDS = {n for cls in ALGO_CONFIGS.values() for n in field_types(cls)} - set(ALGO_SKIP)


def _cmd_train(args: argparse.Namespace) -> int:
    net = NetworkConfig(**collect(args, field_types(NetworkConfig)))
    if args.num_seeds < 1:
        raise ValueError(f"--num-seeds must be >= 1, got {args.num_seeds}")
    fields = collect(args, [n for n in field_types(TrainConfig) if n not in TRAIN_SKIP])
    algo_config = _algo_config(args)
    root, multi = Path(args.out), args.num_seeds > 1
    if multi:
        check_folder(root, SEEDS_KIND, resume=args.resume, overwrite=args.overwrite)
    runs = []
    for seed in range(args.seed, args.seed + args.num_seeds):
        cfg = TrainConfig(**{**fields, "seed": seed}, network=net, algo_config=dict(algo_config)).validate()
        out = root / f"seed_{seed}" if multi else root
        inspect_run(out, cfg.to_dict(), resume=args.resume, overwrite=args.overwrite, device=cfg.device)
        runs.append((cfg, out))
    if multi:
        write_marker(root, SEEDS_KIND)
    for cfg, out in runs:
        summary = run_training(
            cfg, out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress
        )
        print(json.dumps({k: v for k, v in summary.items() if k != "network"}), flush=True)
    return 0


#: The marker kind of a ``plot`` output folder.
PLOT_KIND = "plot"
#: The marker kind of the parent folder of a multi-seed ``train`` (one run folder per seed inside).
SEEDS_KIND = "train-seeds"


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.num_seeds < 1:
        raise ValueError(f"--num-seeds must be >= 1, got {args.num_seeds}")
    if args.engine == "local" and args.address is not None:
        raise ValueError("--address needs --engine ray (it does nothing with --engine local)")
    if args.engine == "ray" and args.workers is not None:
        raise ValueError("--workers is for --engine local (Ray schedules one CPU per trial)")
    fields = collect(args, [n for n in field_types(SweepConfig) if n not in SWEEP_SKIP])
    base = NetworkConfig(
        **collect(args, [n for n in field_types(NetworkConfig) if n not in SWEEP_NETWORK_SKIP])
    )
    cfg = SweepConfig(
        **fields, seeds=tuple(range(args.seed, args.seed + args.num_seeds)),
        algo_config=_algo_config(args), base_network=base,
    )  # fmt: skip
    mode = {"resume": args.resume, "overwrite": args.overwrite}
    if args.engine == "ray":
        results = run_sweep_ray(cfg, args.out, address=args.address, **mode)
    else:
        results = run_sweep(cfg, args.out, workers=1 if args.workers is None else args.workers, **mode)
    print(f"{len(results)} runs; results in {Path(args.out) / 'results.json'}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from stable_grad_rl.plots import plot_grad_flow, plot_metric_vs_depth

    if not args.sweep and not args.runs:
        raise ValueError("plot needs --sweep DIR and/or --runs DIR ...")
    out = Path(args.out)
    check_folder(out, PLOT_KIND, overwrite=True)  # an earlier plot folder's figures are replaced
    write_marker(out, PLOT_KIND)
    if args.sweep:
        results = collect_results(args.sweep)
        if not results:
            raise FileNotFoundError(f"no finished run under {args.sweep}")
        metric = args.metric or (
            "final_accuracy" if results[0]["algo"] == "nonstationary" else "final_return"
        )
        print(plot_metric_vs_depth(results, metric, out / f"{metric}_vs_depth.png"))
        print(
            plot_metric_vs_depth(results, "grad_first_last_ratio", out / "grad_first_last_ratio_vs_depth.png")
        )
        metrics = (metric, "grad_first_last_ratio", "grad_first_last_hidden_ratio", "grad_log10_std")
        table = {m: aggregate(results, m) for m in metrics}
        atomic_write_json(out / "table.json", table)
        for inter, by_depth in sorted(table[metric].items()):
            for depth, st in by_depth.items():
                ratio = table["grad_first_last_ratio"].get(inter, {}).get(depth, {})
                print(
                    f"{inter:>10} L{depth:<3} {metric} {st['mean']:.3f} +- {st['std']:.3f} (n={st['n']})"
                    f"  grad first/last {ratio.get('mean', float('nan')):.3g}"
                )
    for run in args.runs:
        print(plot_grad_flow(run, out / f"gradflow_{Path(run).name}.png"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stable-grad-rl`` console script."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad option (one line already printed)
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 2
    try:
        if args.command == "train":
            return _cmd_train(args)
        if args.command == "sweep":
            return _cmd_sweep(args)
        if args.command == "plot":
            return _cmd_plot(args)
        if args.command == "evidence":
            return _cmd_evidence(args)
        import torch

        from stable_grad_rl.demo import run_demo

        torch.set_num_threads(1)
        summary = run_demo(args.out, args.seed)
        atomic_write_json(Path(args.out) / "demo.json", summary)
        print(summary["key_figure"])
        return 0
    except (ValueError, ImportError, FileNotFoundError) as err:
        message = " ".join(str(err).split())
        print(f"stable-grad-rl {args.command}: error: {message}", file=sys.stderr)
        return 2
    except RuntimeError as err:  # a failed sweep trial: the inputs were fine, the work was not
        print(f"stable-grad-rl {args.command}: error: {' '.join(str(err).split())[:300]}", file=sys.stderr)
        return 1
