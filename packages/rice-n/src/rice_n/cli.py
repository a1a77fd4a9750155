"""Command line interface of ``rice-n``: ``simulate``, ``train``, ``evaluate``, ``compare`` and ``demo``."""

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

    _add_train_parsers(sub)

    demo = sub.add_parser(
        "demo", help="run the short end-to-end demo: a short PPO training run and its evaluation report"
    )
    demo.add_argument("--episodes", type=int, default=200, help="training episodes (default 200)")
    demo.add_argument("--out", default="demo-out", help="folder for the demo's outputs")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def _add_train_parsers(sub: Any) -> None:
    """The ``train``, ``evaluate`` and ``compare`` subcommands."""
    tr = sub.add_parser(
        "train",
        help="train the shared regional policy with PPO (default) or A2C; write a run folder",
        description="Train one policy shared by all regions (region id in the observation) on the batched "
        "env. RUN gets config.json, metrics.jsonl (one line per iteration), policy.safetensors + "
        "policy.json, checkpoint.pt and learning_curve.png. --resume continues an interrupted run.",
    )
    _common(tr)
    tr.add_argument("--episodes", type=int, default=None, help="training episodes (default: the preset's)")
    tr.add_argument("--protocol", choices=["none", "bilateral"], default="none", help="negotiation protocol")
    tr.add_argument("--mode", choices=["upstream", "paper"], default="upstream", help="equations to use")
    tr.add_argument(
        "--preset", default="ppo", help="ppo (default) | a2c | a2c-rllib | a2c-warpdrive (upstream's yaml)"
    )
    tr.add_argument("--num-envs", type=int, default=None, help="episodes per iteration (lockstep batch)")
    tr.add_argument("--hidden", default=None, help="hidden sizes, comma-separated (default 256,256)")
    tr.add_argument("--lr", type=float, default=None, help="learning rate (default 5e-4)")
    tr.add_argument("--epochs", type=int, default=None, help="PPO epochs per iteration")
    tr.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.pt")
    tr.add_argument("--checkpoint-every", type=int, default=5, help="iterations between checkpoints")
    tr.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    tr.add_argument("--no-plots", action="store_true", help="skip learning_curve.png")
    tr.add_argument(
        "--engine",
        choices=["local", "rllib", "ray"],
        default="local",
        help="local: the built-in trainer (default); rllib (alias ray): RLlib PPO on Ray (pip install "
        "'rice-n[ray]'), same run folder",
    )
    tr.add_argument(
        "--num-env-runners", type=int, default=0, help="rllib: Ray sampling actors (0: in-process)"
    )
    tr.add_argument(
        "--address", default=None, help="rllib: an existing Ray cluster (default: a local instance)"
    )

    ev = sub.add_parser(
        "evaluate",
        help="evaluate a trained policy (or 'random') with the competition metrics; write EVAL/metrics.json",
        description="Run K episodes with a policy (a run folder, its policy.safetensors, or 'random') and "
        "write EVAL/metrics.json (temperature_rise, gross_output, climate_index, economic_index, "
        "episode_reward, carbon_mass: means over the episodes; std, per-episode values, hypervolume), "
        "trajectory.csv and plots.",
    )
    _common(ev)
    ev.add_argument("--policy", required=True, help="run folder, policy file, or 'random'")
    ev.add_argument("--episodes", type=int, default=10, help="evaluation episodes (default 10)")
    ev.add_argument("--greedy", action="store_true", help="take the most likely level instead of sampling")
    ev.add_argument(
        "--protocol",
        choices=["none", "bilateral"],
        default="none",
        help="env of --policy random (a trained policy uses the env it was trained on)",
    )
    ev.add_argument("--no-plots", action="store_true", help="skip the PNG plots")

    cmp_ = sub.add_parser(
        "compare",
        help="compare policies (runs, evaluations, 'random'): table, Pareto front, hypervolume, plots",
    )
    _common(cmp_)
    cmp_.add_argument("policies", nargs="+", help="run folders, evaluation folders, policy files or 'random'")
    cmp_.add_argument("--episodes", type=int, default=10, help="evaluation episodes per policy")
    cmp_.add_argument("--greedy", action="store_true", help="greedy instead of sampled actions")
    cmp_.add_argument("--no-plots", action="store_true", help="skip the PNG plots")


def _need_out(args: argparse.Namespace) -> bool:
    if args.out is None:
        print(f"rice-n {args.command}: --out DIR is required", file=sys.stderr)
        return False
    return True


def _train(args: argparse.Namespace) -> int:
    try:
        from rice_n.train import PolicyError, preset, train
    except ImportError as exc:
        print(
            f"rice-n train needs torch and safetensors: pip install 'rice-n[train]' ({exc})", file=sys.stderr
        )
        return 2
    if not _need_out(args):
        return 2
    try:
        hidden = tuple(int(h) for h in args.hidden.split(",")) if args.hidden else None
    except ValueError:
        print(
            f"rice-n train: error: --hidden must be comma-separated integers, got {args.hidden!r}",
            file=sys.stderr,
        )
        return 2
    try:
        config = preset(
            args.preset,
            episodes=args.episodes,
            protocol=args.protocol,
            mode=args.mode,
            num_envs=args.num_envs,
            hidden=hidden,
            lr=args.lr,
            epochs=args.epochs,
            seed=args.seed,
        )
        if args.engine == "local" and (args.address or args.num_env_runners):
            raise ValueError("--address and --num-env-runners need --engine rllib")
        if args.engine == "local":
            result = train(
                config,
                args.out,
                resume=args.resume,
                device=args.device,
                checkpoint_every=args.checkpoint_every,
            )
        else:
            from rice_n.train.rllib import train_on_ray

            result = train_on_ray(
                config,
                args.out,
                resume=args.resume,
                num_env_runners=args.num_env_runners,
                address=args.address,
                checkpoint_every=args.checkpoint_every,
                device=args.device,
            )
    except (PolicyError, ValueError) as exc:
        print(f"rice-n train: error: {exc}", file=sys.stderr)
        return 2
    if not args.no_plots:
        from rice_n.plots import plot_learning_curve

        plot_learning_curve(result.history, args.out)
    if result.history:
        first, last = result.history[0], result.history[-1]
        print(
            f"{last['episodes']} episodes: mean episode reward {first['mean_episode_reward']:.2f} -> "
            f"{last['mean_episode_reward']:.2f}, temperature rise {last['temperature_rise']:.3f} °C -> {args.out}"
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from rice_n.evaluate import evaluate_policy, summary_line, write_evaluation

    if not _need_out(args):
        return 2
    try:
        result = evaluate_policy(
            args.policy, episodes=args.episodes, seed=args.seed, greedy=args.greedy, protocol=args.protocol
        )
    except ImportError as exc:
        print(f"rice-n evaluate needs torch: pip install 'rice-n[train]' ({exc})", file=sys.stderr)
        return 2
    except ValueError as exc:  # PolicyError is a ValueError
        print(f"rice-n evaluate: error: {exc}", file=sys.stderr)
        return 2
    payload = write_evaluation(result, args.out, plots=not args.no_plots)
    print(f"{args.episodes} episodes: {summary_line(payload)} -> {args.out}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from rice_n.compare import compare, format_table

    if not _need_out(args):
        return 2
    try:
        summary = compare(
            args.policies,
            args.out,
            episodes=args.episodes,
            seed=args.seed,
            greedy=args.greedy,
            plots=not args.no_plots,
        )
    except ImportError as exc:
        print(
            f"rice-n compare needs torch for trained policies: pip install 'rice-n[train]' ({exc})",
            file=sys.stderr,
        )
        return 2
    except ValueError as exc:
        print(f"rice-n compare: error: {exc}", file=sys.stderr)
        return 2
    print(format_table(summary))
    return 0


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
    if args.command in ("train", "evaluate", "compare"):
        return {"train": _train, "evaluate": _evaluate, "compare": _compare}[args.command](args)
    if args.command == "demo":
        from rice_n.demo import run_demo

        return run_demo(Path(args.out), args.seed, episodes=args.episodes)
    return 0
