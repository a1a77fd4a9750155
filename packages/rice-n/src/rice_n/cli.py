"""Command line interface of ``rice-n``: ``simulate`` (a fixed policy through one episode) and ``demo``."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from rice_n import __version__


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=False, default=None, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed (the model is deterministic; recorded)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``rice-n`` command."""
    parser = argparse.ArgumentParser(
        prog="rice-n",
        description="The RICE-N multi-region climate-economy simulator, negotiation protocols and multi-agent RL.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser(
        "simulate",
        help="run a fixed policy through one episode; write trajectory.csv, metrics.json and plots",
        description="Run a fixed policy (a named one, --savings/--mitigation fractions, or a plan file) "
        "through one episode and write DIR/trajectory.csv, trajectory.json, regions.csv, metrics.json "
        "and PNG plots (with matplotlib).",
    )
    _common(sim)
    src = sim.add_mutually_exclusive_group()
    src.add_argument(
        "--actions",
        metavar="PLAN.json",
        help="a list of integers (one 57-slot action vector used by every region at every step) or a list "
        "of 27 such lists; levels in [0, 10] (10 = fraction 1.0, as upstream's index bounds)",
    )
    from rice_n.simulate import NAMED_POLICIES

    src.add_argument("--policy", choices=sorted(NAMED_POLICIES), help="a named fixed policy")
    sim.add_argument("--savings", type=float, default=None, help="savings rate in [0, 1] (default 0.2)")
    sim.add_argument("--mitigation", type=float, default=None, help="mitigation rate in [0, 1] (default 0)")
    sim.add_argument("--export-limit", type=float, default=None, help="export limit in [0, 1] (default 0)")
    sim.add_argument("--import-bid", type=float, default=None, help="import bid on each partner in [0, 1]")
    sim.add_argument("--tariff", type=float, default=None, help="tariff on each partner in [0, 1]")
    sim.add_argument("--protocol", choices=["none", "bilateral"], default="none", help="negotiation protocol")
    sim.add_argument("--mode", choices=["upstream", "paper"], default="upstream", help="equations to use")
    sim.add_argument("--regions", default=None, help="a region table (CSV/YAML) instead of the shipped one")
    sim.add_argument("--no-plots", action="store_true", help="skip the PNG plots")

    demo = sub.add_parser("demo", help="run the short end-to-end demo (used by `umbrella demo`)")
    demo.add_argument("--out", default="demo-out", help="folder for the demo's outputs")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def _simulate(args: argparse.Namespace) -> int:
    from rice_n.batch import BatchRiceEnv
    from rice_n.params import ParamsError
    from rice_n.simulate import (
        NAMED_POLICIES,
        PlanError,
        load_plan,
        policy_fractions,
        simulate,
        write_outputs,
    )

    if args.out is None:
        print("rice-n simulate: --out DIR is required", file=sys.stderr)
        return 2
    try:
        env = BatchRiceEnv(
            num_envs=1, protocol=args.protocol, mode=args.mode, regions=args.regions, observe=False
        )
        manual = {
            "savings": args.savings,
            "mitigation": args.mitigation,
            "export_limit": args.export_limit,
            "import_bid": args.import_bid,
            "tariff": args.tariff,
        }
        config: dict[str, Any] = {"protocol": args.protocol, "mode": args.mode, "seed": args.seed}
        if args.actions:
            if any(v is not None for v in manual.values()):
                raise PlanError("--actions cannot be combined with --savings/--mitigation/... options")
            fractions = load_plan(args.actions, env.n_agents, env.n_actions, env.levels)
            config["actions"] = str(args.actions)
        else:
            policy = dict(NAMED_POLICIES[args.policy or "business-as-usual"])
            policy.update({k: v for k, v in manual.items() if v is not None})
            fractions = policy_fractions(env, **policy)
            config["policy"] = {"name": args.policy or "custom", **policy}
        if args.regions:
            config["regions"] = str(args.regions)
        result = simulate(fractions, env=env)
        written = write_outputs(result, Path(args.out), config, plots=not args.no_plots)
    except (PlanError, ParamsError, ValueError) as exc:
        print(f"rice-n simulate: error: {exc}", file=sys.stderr)
        return 2
    m = written["metrics"]
    if not all(math.isfinite(m[k]) for k in ("temperature_rise", "gross_output", "episode_reward")):
        print(
            "rice-n simulate: warning: the run diverged (non-finite values); see trajectory.csv",
            file=sys.stderr,
        )
    print(
        f"temperature rise {m['temperature_rise']:.3f} °C, gross output {m['gross_output']:.1f}, "
        f"climate index {m['climate_index']:.3f}, economic index {m['economic_index']:.3f}, "
        f"episode reward {m['episode_reward']:.2f} -> {args.out}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rice-n`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "demo":
        from rice_n.demo import run_demo

        return run_demo(Path(args.out), args.seed)
    return 0
