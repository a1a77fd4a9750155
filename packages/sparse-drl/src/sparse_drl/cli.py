"""Command line interface of ``sparse-drl``: train, sweep, plot, demo, evidence."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, NoReturn

from sparse_drl import __version__
from sparse_drl.flags import add_config_flags, config_fields, flag_name, parse_value

# extra spellings kept from earlier versions
ALIASES = {"env_id": ["--env"], "total_steps": ["--steps"], "sparsity_method": ["--method"]}
DQN_NAMES = {"critic_width": "width", "critic_depth": "depth"}  # SAC's names accepted for DQN's Q-network
SWEEP_FIELDS = {"critic_width", "critic_depth", "width", "depth", "actor_sparsity", "critic_sparsity"}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _configs() -> dict[str, type]:
    from sparse_drl.agents import AGENTS

    return {name: cfg for name, (_, cfg) in AGENTS.items()}


def _add_agent_options(p: argparse.ArgumentParser, sweep: bool = False) -> None:
    from sparse_drl.allocation import METHODS
    from sparse_drl.networks import ARCHS
    from sparse_drl.optim import OPTIMIZERS

    p.add_argument("--agent", choices=["sac", "dqn"], default="sac", help="agent (default sac)")
    lr = config_fields(_configs()["dqn"])["lr"][1]
    p.add_argument(
        "--lr",
        type=_finite("lr"),
        metavar="FLOAT",
        help=f"SAC: sets actor_lr and critic_lr; DQN: its lr field (float; dqn default {lr!r})",
    )
    if not sweep:
        p.add_argument(
            "--sparsity",
            type=_finite("sparsity"),
            metavar="FLOAT",
            help="sets both actor and critic sparsity",
        )
    group = p.add_argument_group(
        "config fields",
        "every field of the agent's config (SACConfig / DQNConfig), with its default; "
        "--critic-width/--critic-depth also set DQN's width/depth",
    )
    add_config_flags(
        group,
        _configs(),
        skip={"seed", "lr", *(SWEEP_FIELDS if sweep else ())},
        aliases=ALIASES,
        choices={"arch": ARCHS, "sparsity_method": METHODS, "optimizer": OPTIMIZERS},
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config field by name, parsed by its type (e.g. tau=0.01, clipped_double_q=false)",
    )


def _finite(name: str) -> Callable[[str], float]:
    """An argparse ``type=`` for a finite float option ``name``."""

    def convert(text: str) -> float:
        try:
            return float(parse_value(float, text, name))
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return convert


def agent_options(args: argparse.Namespace, fixed: AbstractSet[str] = frozenset({"seed"})) -> dict[str, Any]:
    """Config options of the chosen agent from the parsed flags (only those given) and ``--set``;
    ``fixed``: fields the command sets itself (refused in ``--set``)."""
    cls = _configs()[args.agent]
    spec = config_fields(cls)
    opts: dict[str, Any] = {}
    if getattr(args, "sparsity", None) is not None:
        opts["critic_sparsity"] = args.sparsity
        if args.agent == "sac":
            opts["actor_sparsity"] = args.sparsity
    if args.lr is not None:
        if args.agent == "sac":
            opts.update(actor_lr=args.lr, critic_lr=args.lr)
        else:
            opts["lr"] = args.lr
    names = {n for c in _configs().values() for n in config_fields(c)} - {"seed", "lr"}  # own options
    for name in sorted(names):
        value = getattr(args, name, None)
        if value is None:
            continue
        field = name if name in spec else DQN_NAMES.get(name) if args.agent == "dqn" else None
        if field is None or field not in spec:
            raise ValueError(f"{flag_name(name)} does not apply to {args.agent}")
        opts[field] = value
    for item in args.set:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        if key not in spec:
            raise ValueError(f"--set {key}: not a {cls.__name__} field (known: {', '.join(spec)})")
        if key in fixed:
            raise ValueError(f"--set {key}: set by this command's own options, not by --set")
        opts[key] = parse_value(spec[key][0], raw, key)
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
    sweep.add_argument("--workers", type=int, help="parallel processes (--engine local only; default 1)")
    sweep.add_argument(
        "--address",
        help="Ray cluster, HOST:PORT, ray://HOST:PORT or auto (--engine ray only; default: a new local Ray on 127.0.0.1)",
    )
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

    ev = sub.add_parser(
        "evidence",
        help="regenerate the package's evidence: DQN on MinAtar and the plasticity probe, with controls",
        description="Dense vs 90%% ERK at two sizes plus a parameter-matched dense net, each arm at its own "
        "best lr from a small sweep, every seed; writes OUT/results.json, OUT/table.md, OUT/evidence.png.",
    )
    ev.add_argument(
        "--out", required=True, help="evidence folder (cells/, results.json, table.md, evidence.png)"
    )
    scale = ev.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true", help="CPU minutes (the demo's scale)")
    scale.add_argument("--full", action="store_true", help="the paper's scale (for a GPU machine)")
    ev.add_argument("--seeds", type=int, nargs="+", help="seeds, the same in every arm (default 0 1 2 3 4)")
    ev.add_argument("--seed", type=int, help="unused (every subcommand takes --seed; see --seeds)")
    ev.add_argument("--engine", choices=["local", "ray"], default="local", help="process pool or Ray")
    ev.add_argument("--workers", type=int, help="parallel processes (--engine local only; default 1)")
    ev.add_argument("--address", help="Ray cluster HOST:PORT, ray://HOST:PORT or auto (--engine ray only)")
    ev_mode = ev.add_mutually_exclusive_group()
    ev_mode.add_argument("--resume", action="store_true", help="continue: finished cells are kept")
    ev_mode.add_argument("--overwrite", action="store_true", help="replace OUT once the new run is complete")
    return parser


def _evidence(args: argparse.Namespace) -> int:
    from sparse_drl.evidence import run_evidence

    results = run_evidence(
        args.out,
        scale="quick" if args.quick else "full" if args.full else "default",
        seeds=args.seeds,
        engine=args.engine,
        workers=args.workers,
        address=args.address,
        resume=args.resume,
        overwrite=args.overwrite,
    )
    for block in ("rl", "plasticity"):
        summ = results["summary"][block]
        for line in (summ.get("gate"), summ["verdict"]):
            if line:
                print(f"{block}: {line}")
    print(f"table: {Path(args.out) / 'table.md'}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from sparse_drl.runner import execute_run, prepare_run

    opts = agent_options(args)
    if len(set(args.seed)) != len(args.seed):
        raise ValueError(f"--seed lists a seed twice: {args.seed}")
    root = Path(args.out)
    if len(args.seed) > 1:
        from sparse_drl.rundir import check_out_path, folder_kind, foreign_entries

        check_out_path(root)
        kind = folder_kind(root)
        if kind not in ("missing", "empty", "seeds"):
            raise ValueError(f"--out {str(root)!r} holds no sparse-drl runs of several seeds; refusing")
        if kind == "seeds":
            strays = foreign_entries(root, {f"seed{s}" for s in args.seed})
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
    if len(args.seed) > 1:
        from sparse_drl.rundir import open_out_folder

        open_out_folder(root, "seeds")
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
        agent_options(args, fixed={"seed", *SWEEP_FIELDS}),
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
    from sparse_drl.rundir import check_own_folder, open_out_folder

    out = Path(args.out)
    check_own_folder(out, "plot")
    sweeps: list[Path] = []
    runs: list[Path] = []
    for item in map(Path, args.inputs):
        if (item / "sweep.json").exists():
            sweeps.append(item / "sweep.json")
            runs.extend(sorted(p for p in item.iterdir() if (p / "metrics.jsonl").exists()))
        elif (item / "metrics.jsonl").exists():
            runs.append(item)
        else:
            raise ValueError(f"{item}: neither a sweep folder (sweep.json) nor a run folder (metrics.jsonl)")
    open_out_folder(out, "plot")
    for sweep in sweeps:
        print(plot_scaling(sweep, out / "scaling.png"))
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
        if args.command == "evidence":
            return _evidence(args)
        if args.command == "demo":
            from sparse_drl.demo import run_demo

            result = run_demo(args.out, seed=args.seed)
            print(result["key_figure"])
            return 0
    except (ValueError, TypeError, KeyError, FileExistsError, ImportError) as err:
        print(f"sparse-drl {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0
