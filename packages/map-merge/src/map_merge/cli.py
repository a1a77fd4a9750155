"""Command line interface of ``map-merge``: front, pick, plot, demo."""

from __future__ import annotations

import argparse
import json
import math
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from map_merge import __version__, outdir
from map_merge.amortized import DESIGNS, METHODS
from map_merge.config import front_default

if TYPE_CHECKING:
    from map_merge.cache import Evaluate
    from map_merge.config import FrontConfig

RAY_MISSING = 'the Ray engine needs Ray: pip install "map-merge[ray]"'


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``map-merge`` command."""
    parser = argparse.ArgumentParser(
        prog="map-merge", description="Model merging with an amortized Pareto front."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    front = sub.add_parser(
        "front",
        help="evaluate, fit surrogates and write the amortized front (resumable)",
        description="Evaluate merges, fit the surrogates and write OUT/front.json (resumable with --resume: "
        "evaluations are cached in OUT/evaluations.jsonl, keyed by the models' and evaluator's fingerprints).",
    )
    front.add_argument("config", type=Path, help="YAML or JSON config (see README)")
    front.add_argument("--out", type=Path, required=True, help="output folder")
    for option, kind, text in (
        ("seed", int, "random seed"),
        ("method", str, "front method"),
        ("design", str, "sampling design"),
        ("budget", int, "real evaluations"),
    ):
        choices = {"method": METHODS, "design": DESIGNS}.get(option)
        front.add_argument(
            f"--{option}",
            type=kind,
            choices=choices,
            default=None,
            help=f"{text} (overrides the config's; default {_shown(front_default(option))})",
        )
    front.add_argument(
        "--engine", choices=["local", "ray"], default="local", help="where merges are evaluated"
    )
    front.add_argument(
        "--address",
        default=None,
        help="Ray cluster address HOST:PORT, ray://HOST:PORT or auto (only with --engine ray; default: "
        "start a local Ray)",
    )
    front.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray actors (only with --engine ray; default: the cluster's CPUs)",
    )
    again = front.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the front run in OUT (its cache)")
    again.add_argument(
        "--overwrite", action="store_true", help="replace the front run in OUT, once the new one is complete"
    )

    pick = sub.add_parser(
        "pick",
        help="preference -> coefficients -> merged model on disk",
        description="Choose the front's coefficients for a preference and stream the merge to disk.",
    )
    pick.add_argument("--front", type=Path, required=True, help="front.json written by `map-merge front`")
    pick.add_argument("--preference", type=float, nargs="+", required=True, help="one weight per task")
    pick.add_argument("--out", type=Path, required=True, help="folder for model.safetensors and its card")
    pick.add_argument(
        "--reevaluate", action="store_true", help="also evaluate the chosen merge for real (needs --config)"
    )
    pick.add_argument("--config", type=Path, help="the run's config: its evaluator re-evaluates the pick")
    pick.add_argument(
        "--overwrite", action="store_true", help="replace the pick in OUT, once the new one is complete"
    )

    plot = sub.add_parser(
        "plot", help="plot a front: 2-D, 3-D or parallel coordinates", description="Plot a front.json."
    )
    plot.add_argument("--front", type=Path, required=True, help="front.json")
    plot.add_argument("--out", type=Path, required=True, help="output folder")
    plot.add_argument(
        "--overwrite", action="store_true", help="replace the plot in OUT, once the new one is complete"
    )

    demo = sub.add_parser(
        "demo",
        help="MAP vs grid vs random on real fine-tuned digits models",
        description="MAP against a brute-force grid and random sampling on real models fine-tuned from a "
        "pre-trained digits trunk: writes demo.json, experiment JSON files and front plots to OUT.",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("map-merge-demo"),
        help="output folder (an earlier demo there is replaced once the new one is complete)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def _shown(default: object) -> str:
    """A default as the help shows it (None: the method chooses)."""
    return "the method's own" if default is None else str(default)


def _objective(
    config: FrontConfig, engine: str = "local", address: str | None = None, workers: int | None = None
) -> Evaluate:
    """The evaluate callable of a config: local MergeObjective, or Ray actors that each load the models once."""
    if engine == "ray":
        from map_merge.scaleout import RayObjective

        return RayObjective(config, address=address, n_workers=workers)
    from map_merge.config import build_objective

    return build_objective(config)


def check_engine(args: argparse.Namespace) -> None:
    """Engine options checked before anything is created: Ray-only options refused with the local engine,
    Ray importable, and a given address well-formed and reachable (a few seconds at most)."""
    if args.engine == "local":
        for option in ("address", "workers"):
            if getattr(args, option) is not None:
                raise ValueError(f"--{option} does nothing with --engine local; add --engine ray or drop it")
        return
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be positive, got {args.workers}")
    try:
        import ray  # noqa: F401
    except ImportError as error:
        raise ImportError(RAY_MISSING) from error
    if args.address is not None:
        check_ray_address(args.address)


def check_ray_address(address: str, timeout: float = 3.0) -> None:
    """ValueError unless ``address`` is ``auto`` or a HOST:PORT (``ray://`` allowed) that accepts a
    connection within ``timeout`` seconds."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise ValueError(f"--address {address}: no Ray cluster reachable there ({error})") from error


def run_front(args: argparse.Namespace) -> int:
    """`map-merge front`: evaluations cached in OUT/evaluations.jsonl, front in OUT/front.json."""
    from map_merge.config import check_budget, read_config, run_context

    config = read_config(args.config)
    for key in ("seed", "method", "design", "budget"):
        if getattr(args, key) is not None:
            setattr(config, key, getattr(args, key))
    check_budget(config)
    check_engine(args)
    mode = outdir.check_out(args.out, "front", resume=args.resume, overwrite=args.overwrite)
    context = run_context(config)
    objective = _objective(config, args.engine, args.address, args.workers)
    if mode == "overwrite":
        with outdir.building(args.out, "front") as folder:
            return _front(config, context, objective, folder, args.out)
    outdir.claim(args.out, "front")
    return _front(config, context, objective, args.out, args.out)


def _front(
    config: FrontConfig, context: dict[str, object], objective: Evaluate, folder: Path, out: Path
) -> int:
    """Run the front into ``folder`` (``out`` itself, or its staging folder) and report it."""
    from map_merge.amortized import amortized_front
    from map_merge.jsonio import write_json

    front = amortized_front(
        objective,
        len(config.models),
        maximize=config.maximize,
        method=config.method,
        design=config.design,
        budget=config.budget,
        seed=config.seed,
        link=config.link,
        bounds=(config.bounds[0], config.bounds[1]),
        preference=config.preference,
        cache=folder / "evaluations.jsonl",
        cache_context=context,
        progress=True,
    )
    tasks = list(config.models)
    payload: dict[str, object] = {"version": __version__, "config": vars(config), "context": context}
    payload["tasks"] = tasks
    payload |= front.to_dict()
    write_json(folder / "front.json", payload)
    print(
        f"{len(front.coefficients)} front points from {front.n_evaluations} evaluations -> {out / 'front.json'}"
    )
    for row in front.fit_report():
        print(
            f"  {tasks[cast(int, row['task'])]}: R^2 {row['r2']:.3f}, LOO RMSE {row['loo_rmse']:.4f} ({row['fit']}, {row['link']})"
        )
    for warning in front.warnings:
        print(f"warning: {warning}")
    try:
        from map_merge.plots import plot_front_file

        plot_front_file(payload, folder / "front.png")
    except ImportError:
        pass
    return 0


def _load_front(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ValueError(f"front file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a front.json: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict) or "tasks" not in data:
        raise ValueError(f"{path} is not a front.json written by `map-merge front`")
    return data


def run_pick(args: argparse.Namespace) -> int:
    """`map-merge pick`: choose c for a preference and stream the merge to OUT/model.safetensors."""
    from map_merge.front import AmortizedFront
    from map_merge.jsonio import write_json
    from map_merge.merge import stream_merge

    if args.reevaluate and args.config is None:
        raise ValueError("--reevaluate needs --config: the run's own config names the evaluator to call")
    bad = [p for p in args.preference if not math.isfinite(p) or p < 0]
    if bad or not any(args.preference):
        raise ValueError(
            f"--preference must be finite non-negative weights, not all zero; got {args.preference}"
        )
    outdir.check_out(args.out, "pick", overwrite=args.overwrite)
    data = _load_front(args.front)
    front = AmortizedFront.from_dict(data)
    index = front.select_index(args.preference)
    c, predicted = front.coefficients[index], front.predicted[index]
    tasks = list(data["tasks"])
    config = data["config"]
    objective = None
    if args.reevaluate:
        from map_merge.config import read_config, run_context

        own = read_config(args.config)
        if run_context(own) != data.get("context"):
            raise ValueError(
                f"--config {args.config} is not this run's config (its models or evaluator differ)"
            )
        objective = _objective(own)
    metadata = {
        "preference": json.dumps(args.preference),
        "predicted": json.dumps(dict(zip(tasks, predicted.tolist(), strict=True))),
    }
    with outdir.building(args.out, "pick") as folder:
        target = stream_merge(
            config["base"], [config["models"][t] for t in tasks], c, folder, metadata=metadata
        )
        result = {
            "coefficients": c.tolist(),
            "predicted": dict(zip(tasks, predicted.tolist(), strict=True)),
            "weights": str(args.out / target.name),
        }
        if objective is not None:
            result["real"] = dict(zip(tasks, objective(c).tolist(), strict=True))
        write_json(folder / "pick.json", result)
    print(json.dumps(result, indent=2))
    return 0


def run_plot(args: argparse.Namespace) -> int:
    """`map-merge plot`: the front (predicted) with the real evaluated samples."""
    from map_merge.front import AmortizedFront
    from map_merge.plots import plot_front_file

    outdir.check_out(args.out, "plot", overwrite=args.overwrite)
    data = _load_front(args.front)
    AmortizedFront.from_dict(data)  # validate before creating anything
    with outdir.building(args.out, "plot") as folder:
        plot_front_file(data, folder / "front.png")
    print(args.out / "front.png")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """`map-merge demo`."""
    from map_merge.demo import run_demo as demo

    outdir.check_out(args.out, "demo", overwrite=True)  # an earlier demo there is replaced
    with outdir.building(args.out, "demo") as folder:
        summary = demo(folder, seed=args.seed)
    print(summary["key_figure"])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``map-merge`` console script."""
    args = build_parser().parse_args(argv)
    handlers = {"front": run_front, "pick": run_pick, "plot": run_plot, "demo": run_demo}
    try:
        return handlers[args.command](args)
    except (ValueError, KeyError, ImportError, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"map-merge {args.command}: error: {message}", file=sys.stderr)
        return 2
