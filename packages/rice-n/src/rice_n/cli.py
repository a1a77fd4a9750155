"""Command line interface of ``rice-n``: ``simulate``, ``train``, ``evaluate``, ``compare`` and ``demo``.

``--seed S`` means the same everywhere: the seed of every random draw the command makes (network
initialization, sampled actions, minibatch order, the ``random`` policy). The climate-economy model
itself is deterministic, so a command that draws nothing (``simulate`` with a fixed policy) gives the
same result for every seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import typing
from pathlib import Path
from typing import Any

from rice_n import __version__
from rice_n._flags import add_dataclass_flags, overrides, parse_int
from rice_n.train.config import ALGOS, TrainConfig

SEED_HELP = (
    "seed of every random draw of this command (%s); the climate-economy model itself is "
    "deterministic (default 0)"
)


class CliError(Exception):
    """A bad argument found after parsing: printed as one line, exit code 2."""


def _out(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help=f"output folder ({what})")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the previous output of this command in DIR (refused without it)",
    )


def _protocol(p: argparse.ArgumentParser, help_text: str) -> None:
    from rice_n.protocols import PROTOCOLS

    p.add_argument(
        "--protocol",
        default="none",
        choices=sorted(PROTOCOLS),
        help=f"{help_text}: a registered protocol ({', '.join(sorted(PROTOCOLS))}; default none)",
    )
    p.add_argument(
        "--set",
        dest="protocol_set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the protocol, repeatable; lists comma-separated "
        "(e.g. --protocol climate-club --set members=0,1,5 --set min_mitigation=0.5 --set tariff=0.3)",
    )


class _UsageError(Exception):
    """An argparse error (unknown option, bad value): printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), raised to :func:`main`."""

    def error(self, message: str) -> typing.NoReturn:
        """Raise the error instead of printing the usage and exiting."""
        raise _UsageError(f"{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``rice-n`` command."""
    parser = _Parser(
        prog="rice-n",
        description="The RICE-N multi-region climate-economy simulator, negotiation protocols and multi-agent "
        "RL. --seed means one thing everywhere: the seed of the command's random draws (the model is "
        "deterministic).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser(
        "simulate",
        help="run a fixed policy through one episode; write trajectory.csv, metrics.json and plots",
        description="Run a policy (a named one, --savings/--mitigation fractions, or a plan file) through "
        "one episode and write DIR/trajectory.csv, trajectory.json, regions.csv, metrics.json and, with "
        "matplotlib (pip install 'rice-n[plot]'), PNG plots.",
    )
    _out(sim, "trajectory.csv, regions.csv, metrics.json, plots")
    sim.add_argument("--seed", type=int, default=0, help=SEED_HELP % "only --policy random draws anything")
    src = sim.add_mutually_exclusive_group()
    src.add_argument(
        "--actions",
        metavar="PLAN.json",
        help="a list of integers (one 57-slot action vector used by every region at every step) or a list "
        "of 27 such lists; levels in [0, 10] (10 = fraction 1.0, as upstream's index bounds)",
    )
    from rice_n.simulate import NAMED_POLICIES

    src.add_argument(
        "--policy",
        choices=[*sorted(NAMED_POLICIES), "random"],
        help="a named fixed policy, or 'random' (uniform over the allowed levels at every step, --seed)",
    )
    sim.add_argument("--savings", type=float, default=None, help="savings rate in [0, 1] (default 0.2)")
    sim.add_argument("--mitigation", type=float, default=None, help="mitigation rate in [0, 1] (default 0)")
    sim.add_argument("--export-limit", type=float, default=None, help="export limit in [0, 1] (default 0)")
    sim.add_argument("--import-bid", type=float, default=None, help="import bid on each partner in [0, 1]")
    sim.add_argument("--tariff", type=float, default=None, help="tariff on each partner in [0, 1]")
    _protocol(sim, "negotiation protocol")
    sim.add_argument("--mode", choices=["upstream", "paper"], default="upstream", help="equations to use")
    sim.add_argument(
        "--regions", default=None, help="a region table (CSV/YAML/JSON) instead of the shipped one"
    )
    sim.add_argument("--no-plots", action="store_true", help="skip the PNG plots")

    _add_train_parsers(sub)

    _add_evidence_parser(sub)

    demo = sub.add_parser(
        "demo",
        help="the short end-to-end demo: PPO training, its evaluation against the random policy",
        description="Train the shared PPO policy for a few episodes (single-threaded), evaluate it and the "
        "random policy on the same seed, simulate two fixed policies, and write DIR/demo.json "
        "(key_figure, figures) with plots. Prints one line per stage.",
    )
    demo.add_argument("--episodes", type=int, default=None, help="training episodes (default: the demo's)")
    demo.add_argument("--out", default="demo-out", metavar="DIR", help="folder for the demo's outputs")
    demo.add_argument("--seed", type=int, default=0, help=SEED_HELP % "training and evaluation")
    return parser


def _add_evidence_parser(sub: Any) -> None:
    """The ``evidence`` subcommand (the protocol experiment; ``python -m rice_n.experiment`` is an alias)."""
    ev = sub.add_parser(
        "evidence",
        help="the protocol experiment: trained and untrained policies under none, bilateral, climate club",
        description="Train the shared PPO policy under each protocol (none, bilateral, a climate club) with "
        "the same seeds in every arm, evaluate every trained policy and the untrained one of the same "
        "protocol and seed, and write DIR/results.json (every seed), table.md (mean and 95 %% bootstrap "
        "interval, the gate sentence: does negotiation change the temperature at all?) and protocols.png. "
        "A killed experiment continues with --resume.",
    )
    ev.add_argument("--out", required=True, metavar="DIR", help="experiment folder")
    scale = ev.add_mutually_exclusive_group()
    scale.add_argument(
        "--quick",
        action="store_true",
        help="40 training episodes, 5 evaluation episodes per run (CPU, minutes)",
    )
    scale.add_argument(
        "--full",
        action="store_true",
        help="1000 training episodes, 20 evaluation episodes, seeds 0-9 (GPU/cluster)",
    )
    ev.add_argument(
        "--seeds",
        nargs="+",
        default=None,
        metavar="S",
        help="training seeds, the same in every arm (space- or comma-separated; default 0 1 2 3 4)",
    )
    ev.add_argument("--episodes", type=int, default=None, help="training episodes per run (default 200)")
    ev.add_argument("--eval-episodes", type=int, default=None, help="evaluation episodes (default 10)")
    ev.add_argument("--eval-seed", type=int, default=0, help="seed of the evaluation's sampled actions")
    ev.add_argument(
        "--protocols", default=None, help="a subset, comma-separated (default: none,bilateral,climate-club)"
    )
    ev.add_argument("--workers", type=int, default=1, help="runs at once (processes or Ray tasks; default 1)")
    ev.add_argument(
        "--engine", choices=["local", "ray"], default="local", help="local processes (default) or Ray tasks"
    )
    ev.add_argument(
        "--address",
        default=None,
        help="ray: an existing Ray cluster (default: a local instance on 127.0.0.1)",
    )
    runs = ev.add_mutually_exclusive_group()
    runs.add_argument("--resume", action="store_true", help="continue the experiment in DIR")
    runs.add_argument("--overwrite", action="store_true", help="replace the experiment in DIR once complete")


#: TrainConfig fields with a flag of their own (``--protocol``/``--set``, ``--mode``, ``--seed``).
CLI_OWN_FIELDS = ("protocol", "mode", "seed")
#: Help texts of the TrainConfig flags (the default is appended from the dataclass).
TRAIN_HELP = {
    "algo": "learner",
    "episodes": "training episodes",
    "num_envs": "episodes per iteration (lockstep batch)",
    "hidden": "hidden sizes, comma-separated",
    "gamma": "discount factor",
    "gae_lambda": "GAE lambda",
    "lr": "learning rate (Adam)",
    "vf_coeff": "value-loss coefficient",
    "grad_clip": "global gradient-norm clip",
    "entropy_schedule": "entropy coefficient, piecewise linear in env steps: STEP:COEFF points",
    "clip_param": "PPO clip range",
    "epochs": "PPO epochs per iteration",
    "minibatches": "PPO minibatches per epoch",
    "normalize_advantages": "normalize advantages per update",
    "stage_dims": "only the current stage's action dims count in log-probs and entropy",
    "extra": "free-form notes stored in the run's config",
}


def train_fields() -> list[str]:
    """The TrainConfig fields that ``rice-n train`` takes as ``--field-name`` flags."""
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name not in CLI_OWN_FIELDS]


def _add_train_parsers(sub: Any) -> None:
    """The ``train``, ``evaluate`` and ``compare`` subcommands."""
    tr = sub.add_parser(
        "train",
        help="train the shared regional policy with PPO (default) or A2C; write a run folder",
        description="Train one policy shared by all regions (region id in the observation) on the batched "
        "env. DIR gets config.json, metrics.jsonl (one line per iteration), policy.safetensors + "
        "policy.json, checkpoint.pt and learning_curve.png. A folder that holds a run is refused unless "
        "--resume (continue it) or --overwrite (replace it). The same command with the same --seed gives "
        "the same run (network initialization, sampled actions and minibatch order all come from the "
        "seed); the policy samples its actions, so different seeds give different runs.",
    )
    tr.add_argument("--out", required=True, metavar="DIR", help="run folder")
    tr.add_argument(
        "--seed", type=int, default=0, help=SEED_HELP % "network initialization, sampled actions, minibatches"
    )
    _protocol(tr, "negotiation protocol")
    tr.add_argument("--mode", choices=["upstream", "paper"], default="upstream", help="equations to use")
    tr.add_argument(
        "--preset",
        default="ppo",
        help="ppo (default: the TrainConfig defaults below) | a2c | a2c-rllib | a2c-warpdrive (upstream's "
        "yaml); the options below change single fields of it",
    )
    cfg = tr.add_argument_group(
        "TrainConfig fields",
        "one flag per field of rice_n.train.TrainConfig; unset flags keep the preset's value",
    )
    add_dataclass_flags(cfg, TrainConfig, skip=CLI_OWN_FIELDS, choices={"algo": ALGOS}, helps=TRAIN_HELP)
    runs = tr.add_mutually_exclusive_group()
    runs.add_argument("--resume", action="store_true", help="continue the run in DIR from its checkpoint")
    runs.add_argument("--overwrite", action="store_true", help="discard the run in DIR and start anew")
    tr.add_argument(
        "--checkpoint-every",
        type=parse_int,
        default=5,
        help="iterations between checkpoints (>= 1; default 5)",
    )
    tr.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda, cuda:INDEX")
    tr.add_argument(
        "--threads",
        type=parse_int,
        default=1,
        help="torch CPU threads of the trainer (default 1: the networks are small, and more threads mostly "
        "spin-wait, costing CPU time on a shared machine)",
    )
    tr.add_argument("--no-plots", action="store_true", help="skip learning_curve.png")
    tr.add_argument(
        "--engine",
        choices=["local", "rllib", "ray"],
        default="local",
        help="local: the built-in trainer (default); rllib (alias ray): RLlib PPO on Ray (pip install "
        "'rice-n[ray]'), same run folder",
    )
    tr.add_argument(
        "--num-env-runners", type=parse_int, default=0, help="rllib: Ray sampling actors (0: in-process)"
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
    _out(ev, "metrics.json, trajectory.csv, plots")
    ev.add_argument("--seed", type=int, default=0, help=SEED_HELP % "the policy's sampled actions")
    ev.add_argument("--policy", required=True, help="run folder, policy file, or 'random'")
    ev.add_argument("--episodes", type=int, default=10, help="evaluation episodes (default 10)")
    ev.add_argument("--greedy", action="store_true", help="take the most likely level instead of sampling")
    _protocol(ev, "env of --policy random (a trained policy uses the env it was trained on)")

    cmp_ = sub.add_parser(
        "compare",
        help="compare policies (runs, evaluations, 'random'): table, Pareto front, hypervolume, plots",
    )
    _out(cmp_, "compare.json, compare.csv, plots")
    cmp_.add_argument("--seed", type=int, default=0, help=SEED_HELP % "the policies' sampled actions")
    cmp_.add_argument("policies", nargs="+", help="run folders, evaluation folders, policy files or 'random'")
    cmp_.add_argument("--episodes", type=int, default=10, help="evaluation episodes per policy")
    cmp_.add_argument("--greedy", action="store_true", help="greedy instead of sampled actions")
    for p in (ev, cmp_):
        p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")


def _protocol_from(args: argparse.Namespace) -> Any:
    from rice_n.protocols import parse_protocol_option

    return parse_protocol_option(args.protocol, args.protocol_set)


def _check_out(args: argparse.Namespace, kind: str, what: str) -> bool:
    """The folder-ownership check of ``--out`` (see :func:`rice_n._io.check_owned_dir`)."""
    from rice_n._io import check_owned_dir

    return check_owned_dir(args.out, kind, what, replace=args.overwrite)


def _no_matplotlib_note(args: argparse.Namespace) -> None:
    if args.no_plots:
        return
    from rice_n.plots import have_matplotlib

    if not have_matplotlib():
        print(
            f"rice-n {args.command}: note: matplotlib is not installed, so no PNG plots are written "
            "(pip install 'rice-n[plot]'; --no-plots silences this note)",
            file=sys.stderr,
        )


def _train(args: argparse.Namespace) -> int:
    from rice_n.train.config import preset

    try:
        from rice_n.train import train
    except ImportError as exc:
        raise CliError(
            f"rice-n train needs torch and safetensors: pip install 'rice-n[train]' ({exc})"
        ) from None
    for name in ("episodes", "num_envs", "epochs", "minibatches", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CliError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.hidden is not None and any(h < 1 for h in args.hidden):
        raise CliError(f"--hidden must be positive sizes, got {','.join(map(str, args.hidden))}")
    if args.lr is not None and args.lr <= 0:
        raise CliError(f"--lr must be a finite number > 0, got {args.lr}")
    fields = overrides(args, train_fields())
    config = preset(args.preset, protocol=_protocol_from(args), mode=args.mode, seed=args.seed, **fields)
    if not args.no_plots:
        _no_matplotlib_note(args)
    if args.engine == "local" and (args.address or args.num_env_runners):
        raise CliError("--address and --num-env-runners need --engine rllib")
    import torch

    torch.set_num_threads(args.threads)
    if args.engine == "local":
        result = train(
            config,
            args.out,
            resume=args.resume,
            overwrite=args.overwrite,
            device=args.device,
            checkpoint_every=args.checkpoint_every,
        )
    else:
        from rice_n.train.rllib import train_on_ray

        result = train_on_ray(
            config,
            args.out,
            resume=args.resume,
            overwrite=args.overwrite,
            num_env_runners=args.num_env_runners,
            address=args.address,
            checkpoint_every=args.checkpoint_every,
            device=args.device,
        )
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
    from rice_n._io import owned_output
    from rice_n.evaluate import evaluate_policy, summary_line, write_evaluation

    if args.episodes < 1:
        raise CliError(f"--episodes must be >= 1, got {args.episodes}")
    protocol = _protocol_from(args)
    replace = _check_out(args, "evaluate", "rice-n evaluation")
    try:
        result = evaluate_policy(
            args.policy, episodes=args.episodes, seed=args.seed, greedy=args.greedy, protocol=protocol
        )
    except ImportError as exc:
        raise CliError(f"rice-n evaluate needs torch: pip install 'rice-n[train]' ({exc})") from None
    _no_matplotlib_note(args)
    with owned_output(args.out, "evaluate", replace) as folder:
        payload = write_evaluation(result, folder, plots=not args.no_plots)
    print(f"{args.episodes} episodes: {summary_line(payload)} -> {args.out}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from rice_n._io import owned_output
    from rice_n.compare import compare, format_table

    if args.episodes < 1:
        raise CliError(f"--episodes must be >= 1, got {args.episodes}")
    replace = _check_out(args, "compare", "rice-n comparison")
    _no_matplotlib_note(args)
    try:
        with owned_output(args.out, "compare", replace) as folder:
            summary = compare(
                args.policies,
                folder,
                episodes=args.episodes,
                seed=args.seed,
                greedy=args.greedy,
                plots=not args.no_plots,
            )
    except ImportError as exc:
        raise CliError(
            f"rice-n compare needs torch for trained policies: pip install 'rice-n[train]' ({exc})"
        ) from None
    print(format_table(summary))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from rice_n._io import owned_output
    from rice_n.batch import BatchRiceEnv
    from rice_n.evaluate import RandomActor
    from rice_n.protocols import protocol_spec
    from rice_n.simulate import (
        NAMED_POLICIES,
        PlanError,
        load_plan,
        policy_fractions,
        simulate,
        write_outputs,
    )

    protocol = _protocol_from(args)
    env = BatchRiceEnv(num_envs=1, protocol=protocol, mode=args.mode, regions=args.regions, observe=False)
    manual = {
        "savings": args.savings,
        "mitigation": args.mitigation,
        "export_limit": args.export_limit,
        "import_bid": args.import_bid,
        "tariff": args.tariff,
    }
    config: dict[str, Any] = {"protocol": protocol_spec(protocol), "mode": args.mode, "seed": args.seed}
    fractions, actor = None, None
    if args.actions:
        if any(v is not None for v in manual.values()):
            raise PlanError("--actions cannot be combined with --savings/--mitigation/... options")
        fractions = load_plan(args.actions, env.n_agents, env.n_actions, env.levels)
        config["actions"] = str(args.actions)
    elif args.policy == "random":
        if any(v is not None for v in manual.values()):
            raise PlanError("--policy random cannot be combined with --savings/--mitigation/... options")
        actor = RandomActor(env.action_nvec, args.seed)
        config["policy"] = {"name": "random"}
    else:
        policy = dict(NAMED_POLICIES[args.policy or "business-as-usual"])
        policy.update({k: v for k, v in manual.items() if v is not None})
        fractions = policy_fractions(env, **policy)
        config["policy"] = {"name": args.policy or "custom", **policy}
    if args.regions:
        config["regions"] = str(args.regions)
    replace = _check_out(args, "simulate", "rice-n simulation")
    result = simulate(fractions, env=env, actor=actor)
    _no_matplotlib_note(args)
    with owned_output(args.out, "simulate", replace) as folder:
        written = write_outputs(result, folder, config, plots=not args.no_plots)
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


def _demo(args: argparse.Namespace) -> int:
    from rice_n.demo import check_demo_dir, run_demo

    if args.episodes is not None and args.episodes < 1:
        raise CliError(f"--episodes must be >= 1, got {args.episodes}")
    check_demo_dir(Path(args.out))
    return run_demo(Path(args.out), args.seed, episodes=args.episodes)


def _seeds(values: list[str]) -> tuple[int, ...]:
    """``--seeds``: ASCII integers >= 0, space- or comma-separated, no repeats."""
    items = [x.strip() for v in values for x in v.split(",")]
    if not items or any(not (x.isascii() and x.isdigit()) for x in items):
        raise CliError(f"--seeds must be integers >= 0, got {' '.join(values)!r}")
    seeds = tuple(int(x) for x in items)
    if len(set(seeds)) != len(seeds):
        raise CliError(f"--seeds repeats a seed: {' '.join(values)!r}")
    return seeds


def _evidence_config(args: argparse.Namespace) -> Any:
    from rice_n.experiment import SCALES, experiment_protocols

    base = SCALES["quick" if args.quick else "full" if args.full else "default"]
    changes: dict[str, Any] = {"eval_seed": args.eval_seed}
    if args.seeds is not None:
        changes["seeds"] = _seeds(args.seeds)
    for name in ("episodes", "eval_episodes"):
        value = getattr(args, name)
        if value is not None:
            if value < 1:
                raise CliError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
            changes[name] = value
    if args.protocols is not None:
        names = tuple(dict.fromkeys(x.strip() for x in args.protocols.split(",")))
        known = experiment_protocols()
        if not names or any(n not in known for n in names):
            raise CliError(f"--protocols must name some of {', '.join(known)}, got {args.protocols!r}")
        changes["protocols"] = names
    if args.eval_seed < 0:
        raise CliError(f"--eval-seed must be >= 0, got {args.eval_seed}")
    return dataclasses.replace(base, **changes)


def _evidence(args: argparse.Namespace) -> int:
    from rice_n._io import check_owned_dir, output_dir, owned_output, write_marker
    from rice_n.experiment import check_settings, format_table, run_evidence

    config = _evidence_config(args)
    if args.workers < 1:
        raise CliError(f"--workers must be >= 1, got {args.workers}")
    ray_address: Any = False
    if args.engine == "local":
        if args.address is not None:
            raise CliError("--address needs --engine ray")
    else:
        if args.address is None and "ray" not in sys.modules:
            from rice_n.train.rllib import LOOPBACK_ENV

            os.environ.setdefault(LOOPBACK_ENV, "0")  # read at import: the local instance on 127.0.0.1
        try:
            import ray  # noqa: F401
        except ImportError:
            raise CliError('--engine ray needs ray: pip install "rice-n[ray]"') from None
        from rice_n.train.rllib import check_address

        ray_address = check_address(args.address)
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise CliError(f"rice-n evidence needs torch: pip install 'rice-n[train]' ({exc})") from None
    out = Path(args.out)
    held = check_owned_dir(
        out,
        "evidence",
        "rice-n evidence",
        replace=args.resume or args.overwrite,
        flags="--resume or --overwrite",
    )
    if held and args.resume:
        check_settings(out, config)
        with output_dir(out):
            write_marker(out, "evidence")  # rewritten atomically: the folder already holds it
            results = run_evidence(out, config, args.workers, ray_address)
    else:
        with owned_output(out, "evidence", held) as folder:
            results = run_evidence(folder, config, args.workers, ray_address)
    print(format_table(results), end="")
    return 0


COMMANDS = {
    "simulate": _simulate,
    "train": _train,
    "evaluate": _evaluate,
    "compare": _compare,
    "evidence": _evidence,
    "demo": _demo,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rice-n`` console script: exit 0, or 2 with one line on a bad input."""
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](args)
    except (CliError, ValueError) as exc:  # PlanError, ParamsError, PolicyError, OutputError, ...
        print(f"rice-n {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" {exc.filename!r}" if exc.filename else ""
        print(f"rice-n {args.command}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
