"""Command line interface of ``sparse-drl``: train, sweep, plot, demo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from sparse_drl import __version__

# flag -> (config field for sac, config field for dqn, type)
AGENT_FLAGS: dict[str, tuple[str | None, str | None, type]] = {
    "env": ("env_id", "env_id", str),
    "steps": ("total_steps", "total_steps", int),
    "learning_starts": ("learning_starts", "learning_starts", int),
    "replay_ratio": ("replay_ratio", "replay_ratio", float),
    "num_envs": ("num_envs", "num_envs", int),
    "batch_size": ("batch_size", "batch_size", int),
    "arch": ("arch", "arch", str),
    "method": ("sparsity_method", "sparsity_method", str),
    "optimizer": ("optimizer", "optimizer", str),
    "actor_width": ("actor_width", None, int),
    "actor_depth": ("actor_depth", None, int),
    "critic_width": ("critic_width", "width", int),
    "critic_depth": ("critic_depth", "depth", int),
    "actor_sparsity": ("actor_sparsity", None, float),
    "critic_sparsity": ("critic_sparsity", "critic_sparsity", float),
    "eval_every": ("eval_every", "eval_every", int),
    "eval_episodes": ("eval_episodes", "eval_episodes", int),
    "log_every": ("log_every", "log_every", int),
    "device": ("device", "device", str),
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_agent_options(p: argparse.ArgumentParser, sweep: bool = False) -> None:
    p.add_argument("--agent", choices=["sac", "dqn"], default="sac", help="agent (default sac)")
    p.add_argument("--env", help="Gymnasium id (default: Pendulum-v1 for sac, CartPole-v1 for dqn)")
    p.add_argument("--steps", type=int, help="environment steps")
    p.add_argument("--learning-starts", type=int, help="random-action steps before updates")
    p.add_argument("--replay-ratio", type=float, help="gradient updates per environment step")
    p.add_argument("--num-envs", type=int, help="vectorised environments")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--arch", choices=["simba", "bro"], help="network family")
    p.add_argument("--method", choices=["erk", "uniform"], help="layer-wise sparsity allocation")
    p.add_argument("--optimizer", choices=["adam", "adamw", "kron"])
    p.add_argument("--lr", type=float, help="learning rate of actor, critic (and Q-net)")
    p.add_argument("--actor-width", type=int)
    p.add_argument("--actor-depth", type=int, help="actor residual blocks")
    if not sweep:
        p.add_argument("--critic-width", type=int, help="critic (or Q-net) width")
        p.add_argument("--critic-depth", type=int, help="critic (or Q-net) residual blocks")
        p.add_argument("--sparsity", type=float, help="sets both actor and critic sparsity")
        p.add_argument("--actor-sparsity", type=float)
        p.add_argument("--critic-sparsity", type=float)
    p.add_argument("--eval-every", type=int)
    p.add_argument("--eval-episodes", type=int)
    p.add_argument("--log-every", type=int, help="diagnostics interval in env steps")
    p.add_argument("--device", help="torch device (default cpu); cuda needs a CUDA build and GPU")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=JSON", help="any config field, e.g. tau=0.01"
    )


def agent_options(args: argparse.Namespace) -> dict[str, Any]:
    """Config options of the chosen agent from the parsed flags (only those given)."""
    index = 0 if args.agent == "sac" else 1
    opts: dict[str, Any] = {}
    if getattr(args, "sparsity", None) is not None:
        opts["critic_sparsity"] = args.sparsity
        if args.agent == "sac":
            opts["actor_sparsity"] = args.sparsity
    for flag, fields in AGENT_FLAGS.items():
        value = getattr(args, flag, None)
        if value is None:
            continue
        field = fields[index]
        if field is None:
            raise ValueError(f"--{flag.replace('_', '-')} does not apply to {args.agent}")
        opts[field] = value
    if args.lr is not None:
        if args.agent == "sac":
            opts.update(actor_lr=args.lr, critic_lr=args.lr)
        else:
            opts["lr"] = args.lr
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            opts[key] = json.loads(raw)
        except json.JSONDecodeError:
            opts[key] = raw
    return opts


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``sparse-drl`` command."""
    parser = _Parser(
        prog="sparse-drl",
        description="One-shot random pruning (static sparsity) for deep-RL networks, agents and plasticity diagnostics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train SAC or DQN (JSON-lines metrics, checkpoints, --resume)")
    _add_agent_options(train)
    train.add_argument("--seed", type=int, nargs="+", default=[0], help="one or more seeds (one run each)")
    train.add_argument("--out", default="runs/train", help="output folder")
    mode = train.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the run in OUT from its checkpoint")
    mode.add_argument("--overwrite", action="store_true", help="discard the run in OUT and start afresh")
    train.add_argument(
        "--checkpoint-every", type=int, help="env steps between checkpoints (>= 1; default eval_every)"
    )

    sweep = sub.add_parser("sweep", help="grid of sizes x sparsities x seeds -> one table")
    _add_agent_options(sweep, sweep=True)
    sweep.add_argument("--sizes", nargs="+", default=["64x1", "256x2"], help="critic sizes WIDTHxDEPTH")
    sweep.add_argument("--sparsities", type=float, nargs="+", default=[0.0, 0.8, 0.9])
    sweep.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2], help="seeds")
    sweep.add_argument(
        "--engine", choices=["local", "ray"], default="local", help="local process pool or Ray Tune"
    )
    sweep.add_argument("--workers", type=int, default=1, help="parallel processes (--engine local)")
    sweep.add_argument("--address", help="Ray cluster address (--engine ray; default: start a local Ray)")
    sweep.add_argument("--out", default="runs/sweep", help="sweep folder: one run folder per grid point")
    sweep_mode = sweep.add_mutually_exclusive_group()
    sweep_mode.add_argument(
        "--resume", action="store_true", help="continue the sweep in OUT: skip finished runs, resume the rest"
    )
    sweep_mode.add_argument(
        "--overwrite", action="store_true", help="discard the sweep in OUT and start afresh"
    )

    plot = sub.add_parser("plot", help="scaling figure and diagnostics curves from a sweep or runs")
    plot.add_argument("inputs", nargs="+", help="a sweep folder (with sweep.json) and/or run folders")
    plot.add_argument("--out", default="plots", help="folder for the PNGs")
    plot.add_argument("--seed", type=int, default=0, help="unused (every subcommand takes --seed)")

    demo = sub.add_parser(
        "demo",
        help="30-CPU-second demo: a dense MLP loses plasticity on changing targets, the 90%%-sparse one keeps it",
        description="Dense vs 90%%-sparse (ERK) MLP fitting random labels redrawn every phase; writes OUT/demo.json.",
    )
    demo.add_argument("--out", default="demo-out", help="folder for demo.json")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def _train(args: argparse.Namespace) -> int:
    from sparse_drl.runner import execute_run, prepare_run

    opts = agent_options(args)
    if len(set(args.seed)) != len(args.seed):
        raise ValueError(f"--seed lists a seed twice: {args.seed}")
    root = Path(args.out)
    if len(args.seed) > 1:
        from sparse_drl.rundir import check_out_path

        check_out_path(root)
        if root.is_dir():
            strays = sorted(p.name for p in root.iterdir() if p.name not in {f"seed{s}" for s in args.seed})
            if strays:
                raise ValueError(
                    f"--out {str(root)!r} holds other entries than the seed folders: {strays[:3]}"
                )
    plans = [  # every run validated before anything is written
        prepare_run(
            args.agent,
            {**opts, "seed": seed},
            root if len(args.seed) == 1 else root / f"seed{seed}",
            resume=args.resume,
            overwrite=args.overwrite,
            checkpoint_every=args.checkpoint_every,
        )
        for seed in args.seed
    ]
    for seed, plan in zip(args.seed, plans, strict=True):
        summary = execute_run(plan)
        print(
            f"seed {seed}: final eval return {summary['final_eval_return']:.1f}, "
            f"params {summary['total_effective_params']:,}/{summary['total_params']:,}, "
            f"critic dormant(0.1) {summary['final_critic_dormant_0.1']}, out {plan.out}"
        )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from sparse_drl.sweep import run_sweep

    result = run_sweep(
        args.agent,
        agent_options(args),
        args.sizes,
        args.sparsities,
        args.seed,
        args.out,
        engine=args.engine,
        workers=args.workers,
        address=args.address,
        resume=args.resume,
        overwrite=args.overwrite,
    )
    for row in result["summary"]:
        print(
            f"{row['size']:>8} s={row['sparsity']:<4g} params {row['total_effective_params']:>9,}/{row['total_params']:<9,} "
            f"return {row['return_mean']:.1f} ± {row['return_std']:.1f}  dormant {row['dormant_0.1_mean']}"
        )
    print(f"table: {Path(args.out) / 'sweep.csv'}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from sparse_drl.plots import plot_diagnostics, plot_scaling

    out = Path(args.out)
    runs: list[Path] = []
    for item in map(Path, args.inputs):
        if (item / "sweep.json").exists():
            print(plot_scaling(item / "sweep.json", out / "scaling.png"))
            runs.extend(sorted(p for p in item.iterdir() if (p / "metrics.jsonl").exists()))
        elif (item / "metrics.jsonl").exists():
            runs.append(item)
        else:
            raise ValueError(f"{item}: neither a sweep folder (sweep.json) nor a run folder (metrics.jsonl)")
    if runs:
        print(plot_diagnostics(runs, out / "diagnostics.png"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sparse-drl`` console script."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "plot":
            return _plot(args)
        if args.command == "demo":
            from sparse_drl.demo import run_demo

            result = run_demo(args.out, seed=args.seed)
            print(result["key_figure"])
            return 0
    except (ValueError, TypeError, KeyError, FileExistsError, ImportError) as err:
        print(f"sparse-drl {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0
