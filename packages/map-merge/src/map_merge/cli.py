"""Command line interface of ``map-merge``: front, pick, plot, demo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from map_merge import __version__


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``map-merge`` command."""
    parser = argparse.ArgumentParser(
        prog="map-merge", description="Model merging with an amortized Pareto front."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    front = sub.add_parser("front", help="evaluate, fit surrogates and write the amortized front (resumable)")
    front.add_argument("config", type=Path, help="YAML or JSON config (see README)")
    front.add_argument("--out", type=Path, required=True, help="output folder")
    front.add_argument("--seed", type=int, default=None, help="random seed (overrides the config)")
    front.add_argument("--method", choices=["map", "bayesian", "nested"], help="overrides the config")
    front.add_argument("--budget", type=int, help="real evaluations (overrides the config)")

    pick = sub.add_parser("pick", help="preference -> coefficients -> merged model on disk")
    pick.add_argument("--front", type=Path, required=True, help="front.json written by `map-merge front`")
    pick.add_argument("--preference", type=float, nargs="+", required=True, help="one weight per task")
    pick.add_argument("--out", type=Path, required=True, help="folder for model.safetensors and its card")
    pick.add_argument("--reevaluate", action="store_true", help="also evaluate the chosen merge for real")
    pick.add_argument("--seed", type=int, default=0, help="unused: picking is deterministic")

    plot = sub.add_parser("plot", help="plot a front: 2-D, 3-D or parallel coordinates")
    plot.add_argument("--front", type=Path, required=True, help="front.json")
    plot.add_argument("--out", type=Path, required=True, help="output folder")
    plot.add_argument("--seed", type=int, default=0, help="unused: plotting is deterministic")

    demo = sub.add_parser("demo", help="MAP vs grid vs random on real fine-tuned digits models (minutes)")
    demo.add_argument("--out", type=Path, default=Path("map-merge-demo"), help="output folder")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def _write_json(path: Path, payload: object) -> None:
    from map_merge.demo import write_json

    write_json(path, payload)


def run_front(args: argparse.Namespace) -> int:
    """`map-merge front`: evaluations cached in OUT/evaluations.jsonl, front in OUT/front.json."""
    from map_merge.amortized import amortized_front
    from map_merge.config import build_module, import_object, read_config
    from map_merge.evaluators import MergeObjective
    from map_merge.task_vectors import task_vectors

    config = read_config(args.config)
    for key in ("seed", "method", "budget"):
        if getattr(args, key) is not None:
            setattr(config, key, getattr(args, key))
    args.out.mkdir(parents=True, exist_ok=True)
    vectors = task_vectors(config.base, config.models)
    objective = MergeObjective(build_module(config), vectors, import_object(config.evaluator))
    front = amortized_front(
        objective,
        vectors.n_tasks,
        maximize=config.maximize,
        method=config.method,
        budget=config.budget,
        seed=config.seed,
        link=config.link,
        bounds=(config.bounds[0], config.bounds[1]),
        preference=config.preference,
        cache=args.out / "evaluations.jsonl",
        progress=True,
    )
    payload = {"version": __version__, "config": vars(config), "tasks": vectors.task_names, **front.to_dict()}
    _write_json(args.out / "front.json", payload)
    print(
        f"{len(front.coefficients)} front points from {front.n_evaluations} evaluations -> {args.out / 'front.json'}"
    )
    for row in front.fit_report():
        print(
            f"  {vectors.task_names[row['task']]}: R^2 {row['r2']:.3f}, LOO RMSE {row['loo_rmse']:.4f} ({row['fit']}, {row['link']})"
        )
    try:
        from map_merge.plots import plot_front_file

        plot_front_file(payload, args.out / "front.png")
    except ImportError:
        pass
    return 0


def _load_front(path: Path) -> dict:
    if not path.is_file():
        raise ValueError(f"front file not found: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def run_pick(args: argparse.Namespace) -> int:
    """`map-merge pick`: choose c for a preference and stream the merge to OUT/model.safetensors."""
    import numpy as np

    from map_merge.amortized import AmortizedFront
    from map_merge.merge import stream_merge

    data = _load_front(args.front)
    front = AmortizedFront(
        np.array(data["coefficients"]),
        np.array(data["predicted"]),
        data["n_evaluations"],
        data["maximize"],
        data["method"],
        np.array(data["samples"]),
        np.array(data["sample_metrics"]),
    )
    c = front.select(args.preference)
    predicted = front.predicted[np.flatnonzero(np.all(front.coefficients == c, axis=1))[0]]
    tasks = data["tasks"]
    metadata = {
        "preference": json.dumps(args.preference),
        "predicted": json.dumps(dict(zip(tasks, predicted.tolist(), strict=True))),
    }
    config = data["config"]
    target = stream_merge(
        config["base"], [config["models"][t] for t in tasks], c, args.out, metadata=metadata
    )
    result = {
        "coefficients": c.tolist(),
        "predicted": dict(zip(tasks, predicted.tolist(), strict=True)),
        "weights": str(target),
    }
    if args.reevaluate:
        from map_merge.config import FrontConfig, build_module, import_object
        from map_merge.evaluators import MergeObjective
        from map_merge.task_vectors import task_vectors

        cfg = FrontConfig(**config)
        objective = MergeObjective(
            build_module(cfg), task_vectors(cfg.base, cfg.models), import_object(cfg.evaluator)
        )
        result["real"] = dict(zip(tasks, objective(c).tolist(), strict=True))
    _write_json(args.out / "pick.json", result)
    print(json.dumps(result, indent=2))
    return 0


def run_plot(args: argparse.Namespace) -> int:
    """`map-merge plot`: the front (predicted) with the real evaluated samples."""
    from map_merge.plots import plot_front_file

    args.out.mkdir(parents=True, exist_ok=True)
    print(plot_front_file(_load_front(args.front), args.out / "front.png"))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """`map-merge demo`."""
    from map_merge.demo import run_demo as demo

    summary = demo(args.out, seed=args.seed)
    print(summary["key_figure"])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``map-merge`` console script."""
    args = build_parser().parse_args(argv)
    handlers = {"front": run_front, "pick": run_pick, "plot": run_plot, "demo": run_demo}
    try:
        return handlers[args.command](args)
    except (ValueError, KeyError, ImportError) as error:
        print(f"map-merge {args.command}: error: {error}", file=sys.stderr)
        return 2
