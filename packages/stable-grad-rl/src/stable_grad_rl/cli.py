"""Command line interface of ``stable-grad-rl``: ``train``, ``sweep``, ``plot`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stable_grad_rl import __version__
from stable_grad_rl.agents import PPOConfig, PQNConfig
from stable_grad_rl.networks import ACTIVATIONS, ENCODERS, MLP_KINDS, NetworkConfig
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


def _parse_sets(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _common(p: argparse.ArgumentParser, out_default: str) -> None:
    p.add_argument("--out", default=out_default, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed (first seed of a multi-seed run)")


def _algo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--algo", choices=ALGOS, default="pqn", help="agent, or the non-stationary supervised task"
    )
    p.add_argument(
        "--env", default="CartPole-v1", help="gymnasium id (ALE/... needs [atari], MinAtar/... [minatar])"
    )
    p.add_argument(
        "--steps", type=int, default=None, help="total env steps (RL) or steps per phase (nonstationary)"
    )
    p.add_argument("--lr", type=float, default=None, help="baseline learning rate (Kron uses lr/3)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override an algorithm setting"
    )
    p.add_argument(
        "--preset",
        choices=("default", "atari"),
        default="default",
        help="atari: the paper's Atari settings (PQN/PPO)",
    )


def _mode_args(p: argparse.ArgumentParser, what: str) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help=f"continue the {what} in OUT")
    mode.add_argument("--overwrite", action="store_true", help=f"discard the {what} in OUT and start afresh")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``stable-grad-rl`` command."""
    parser = argparse.ArgumentParser(
        prog="stable-grad-rl",
        description="Gradient-flow interventions that let deep-RL networks scale in depth and width.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train one configuration for one or more seeds")
    _common(train, "runs/train")
    _algo_args(train)
    train.add_argument("--kind", choices=MLP_KINDS, default="plain", help="MLP variant")
    train.add_argument(
        "--depth", type=int, default=4, help="Linear layers (plain) or blocks (residual kinds)"
    )
    train.add_argument("--width", type=int, default=128, help="hidden width")
    train.add_argument("--layernorm", action=argparse.BooleanOptionalAction, default=False, help="LayerNorm")
    train.add_argument(
        "--activation", choices=sorted(ACTIVATIONS), default="relu", help="hidden activation (paper: relu)"
    )
    train.add_argument(
        "--encoder", choices=ENCODERS, default="none", help="CNN encoder for image observations"
    )
    train.add_argument(
        "--optimizer", choices=OPTIMIZERS, default=None, help="default: the algorithm's baseline"
    )
    train.add_argument("--num-seeds", type=int, default=1, help="seeds SEED .. SEED+N-1, each in OUT/seed_K")
    train.add_argument("--log-every", type=int, default=1, help="log every N iterations (RL)")
    train.add_argument(
        "--diag-every", type=int, default=10, help="representation metrics every N iterations (RL)"
    )
    train.add_argument(
        "--checkpoint-every", type=int, default=50, help="checkpoint every N iterations (>= 1)"
    )
    _mode_args(train, "run")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--device", default="cpu", help="torch device, e.g. cuda or cuda:1")

    sweep = sub.add_parser("sweep", help="depth x width x intervention x seed grid")
    _common(sweep, "runs/sweep")
    _algo_args(sweep)
    sweep.add_argument(
        "--depths", type=int, nargs="+", default=[4, 8, 12], help="depths in plain Linear layers"
    )
    sweep.add_argument("--widths", type=int, nargs="+", default=[128], help="widths")
    sweep.add_argument(
        "--interventions",
        nargs="+",
        choices=sorted(INTERVENTIONS),
        default=["baseline", "multiskip", "kron", "all"],
    )
    sweep.add_argument("--num-seeds", type=int, default=3, help="seeds SEED .. SEED+N-1")
    sweep.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: a process pool; ray: one Ray Tune trial per grid point (needs the [ray] extra)",
    )
    sweep.add_argument("--workers", type=int, default=1, help="parallel processes (local engine)")
    sweep.add_argument(
        "--address", default=None, help="ray engine: address of an existing cluster (default: start one)"
    )
    _mode_args(sweep, "sweep")
    sweep.add_argument(
        "--encoder", choices=ENCODERS, default="none", help="CNN encoder for image observations"
    )
    sweep.add_argument("--device", default="cpu", help="torch device of every run")
    sweep.add_argument("--log-every", type=int, default=1, help="log every N iterations (RL)")
    sweep.add_argument(
        "--diag-every", type=int, default=10, help="representation metrics every N iterations (RL)"
    )

    plot = sub.add_parser("plot", help="metric vs depth from a sweep; gradient-flow heat maps of runs")
    _common(plot, "runs/plots")
    plot.add_argument("--sweep", help="a sweep folder (with results.json)")
    plot.add_argument("--metric", default=None, help="summary metric (default final_return / final_accuracy)")
    plot.add_argument("--runs", nargs="*", default=[], help="run folders for gradient-flow heat maps")

    demo = sub.add_parser(
        "demo",
        help="run the short end-to-end demo (used by `umbrella demo`)",
        description="Plain deep MLP vs multi-skip residual MLP + LayerNorm on the label-shift task "
        "(single thread, about 30 CPU-s): writes OUT/demo.json (key_figure, figures) and the two runs.",
    )
    _common(demo, "demo-out")
    return parser


def _algo_config(args: argparse.Namespace) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    if args.preset == "atari":
        if args.algo not in ("pqn", "ppo"):
            raise ValueError(f"--preset atari exists for pqn and ppo, not {args.algo!r}")
        cfg = asdict((PQNConfig if args.algo == "pqn" else PPOConfig).atari())
    cfg.update(_parse_sets(args.set))
    if args.steps is not None:
        cfg["steps_per_phase" if args.algo == "nonstationary" else "total_timesteps"] = args.steps
    return cfg


def _cmd_train(args: argparse.Namespace) -> int:
    net = NetworkConfig(
        kind=args.kind, depth=args.depth, width=args.width, layernorm=args.layernorm, encoder=args.encoder,
        activation=args.activation,
    )  # fmt: skip
    if args.num_seeds < 1:
        raise ValueError(f"--num-seeds must be >= 1, got {args.num_seeds}")
    runs = []
    for seed in range(args.seed, args.seed + args.num_seeds):
        cfg = TrainConfig(
            algo=args.algo, env=args.env, network=net, optimizer=args.optimizer, lr=args.lr, seed=seed,
            algo_config=_algo_config(args), log_every=args.log_every, diag_every=args.diag_every,
            checkpoint_every=args.checkpoint_every, device=args.device,
        ).validate()  # fmt: skip
        out = Path(args.out) / f"seed_{seed}" if args.num_seeds > 1 else Path(args.out)
        inspect_run(out, cfg.to_dict(), resume=args.resume, overwrite=args.overwrite, device=cfg.device)
        runs.append((cfg, out))
    for cfg, out in runs:
        summary = run_training(
            cfg, out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress
        )
        print(json.dumps({k: v for k, v in summary.items() if k != "network"}), flush=True)
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.num_seeds < 1:
        raise ValueError(f"--num-seeds must be >= 1, got {args.num_seeds}")
    if args.engine == "local" and args.address:
        raise ValueError("--address needs --engine ray")
    cfg = SweepConfig(
        algo=args.algo, env=args.env, depths=tuple(args.depths), widths=tuple(args.widths),
        interventions=tuple(args.interventions), seeds=tuple(range(args.seed, args.seed + args.num_seeds)),
        lr=args.lr, algo_config=_algo_config(args), base_network=NetworkConfig(encoder=args.encoder),
        device=args.device, log_every=args.log_every, diag_every=args.diag_every,
    )  # fmt: skip
    mode = {"resume": args.resume, "overwrite": args.overwrite}
    if args.engine == "ray":
        results = run_sweep_ray(cfg, args.out, address=args.address, **mode)
    else:
        results = run_sweep(cfg, args.out, workers=args.workers, **mode)
    print(f"{len(results)} runs; results in {Path(args.out) / 'results.json'}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from stable_grad_rl.plots import plot_grad_flow, plot_metric_vs_depth

    if not args.sweep and not args.runs:
        raise ValueError("plot needs --sweep DIR and/or --runs DIR ...")
    out = Path(args.out)
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
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return _cmd_train(args)
        if args.command == "sweep":
            return _cmd_sweep(args)
        if args.command == "plot":
            return _cmd_plot(args)
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
