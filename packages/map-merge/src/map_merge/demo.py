"""The end-to-end demo: MAP against a brute-force grid and random sampling on real fine-tuned digits models."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from map_merge.amortized import amortized_front
from map_merge.digits import DigitsProblem, build_digits_problem
from map_merge.evaluators import MergeObjective, classification_evaluator
from map_merge.front import AmortizedFront
from map_merge.jsonio import write_json
from map_merge.pareto import front_quality, non_dominated
from map_merge.sampling import grid_points, uniform_points
from map_merge.task_vectors import task_vectors

GRID_LEVELS = {2: 21, 3: 9}
DEMO_TASKS = ["parity", "at_least_5", "mod_3"]
STAGES = 5


def _say(stage: int, text: str, progress: bool) -> None:
    if progress:
        print(f"[{stage}/{STAGES}] {text}", flush=True)


def surrogate_r2_on(points: np.ndarray, metrics: np.ndarray, front: AmortizedFront) -> list[float]:
    """Out-of-sample R^2 of each task's surrogate on held-out evaluations."""
    predicted = np.stack([s.value(points) for s in front.surrogates], axis=1)
    residual = ((metrics - predicted) ** 2).sum(axis=0)
    total = ((metrics - metrics.mean(axis=0)) ** 2).sum(axis=0)
    return cast(list[float], (1.0 - residual / np.maximum(total, 1e-12)).tolist())


def run_experiment(
    problem: DigitsProblem, tasks: list[str], seed: int = 0, progress: bool = True, stage: int = 0
) -> dict[str, object]:
    """MAP (default budget), a random front with twice the evaluations, and the grid front, on real models."""
    vectors = task_vectors(problem.base, {t: problem.finetuned[problem.task_names.index(t)] for t in tasks})
    evaluator = classification_evaluator({t: [problem.test[t]] for t in tasks}, heads=problem.heads)
    objective = MergeObjective(copy.deepcopy(problem.base), vectors, evaluator)
    n = len(tasks)

    start = time.perf_counter()
    front = amortized_front(objective, n, maximize=True, seed=seed, n_generations=40)
    map_seconds = time.perf_counter() - start
    real = np.array([objective(c) for c in front.coefficients])
    _say(stage, f"T={n}: MAP front from {front.n_evaluations} evaluations ({len(real)} points)", progress)

    grid = grid_points(n, GRID_LEVELS[n])
    start = time.perf_counter()
    grid_metrics = np.array([objective(c) for c in grid])
    grid_seconds = time.perf_counter() - start
    random_points = uniform_points(n, 2 * front.n_evaluations, seed=seed)
    random_metrics = np.array([objective(c) for c in random_points])
    _say(stage + 1, f"T={n}: grid of {len(grid)} and random {len(random_points)} evaluations", progress)

    quality = {
        "map_predicted": front_quality(front.predicted, grid_metrics),
        "map_real": front_quality(real, grid_metrics),
        "random": front_quality(random_metrics, grid_metrics),
    }
    single = {t: float(objective(np.eye(n)[i])[i]) for i, t in enumerate(tasks)}
    return {
        "tasks": tasks,
        "single_task_accuracy": single,
        "map_evaluations": front.n_evaluations,
        "grid_evaluations": len(grid),
        "random_evaluations": len(random_points),
        "evaluation_ratio": len(grid) / front.n_evaluations,
        "map_seconds": map_seconds,
        "grid_seconds": grid_seconds,
        "surrogate_r2_on_grid": surrogate_r2_on(grid, grid_metrics, front),
        "fit_report": front.fit_report(),
        "warnings": front.warnings,
        "quality": quality,
        "front": {
            "coefficients": front.coefficients.tolist(),
            "predicted": front.predicted.tolist(),
            "real": real.tolist(),
        },
        "grid_front": grid_metrics[non_dominated(grid_metrics)].tolist(),
        "random_front": random_metrics[non_dominated(random_metrics)].tolist(),
        "preference_pick": {"preference": [1.0] * n, "coefficients": front.select([1.0] * n).tolist()},
    }


def run_demo(out: Path, seed: int = 0, progress: bool = True) -> dict[str, object]:
    """Two- and three-task experiments, their JSON results, front plots and demo.json for umbrella."""
    out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    # tiny models: fastest single-threaded, and the same numbers whatever the machine's core count
    torch.set_num_threads(1)
    try:
        _say(1, "building the digits base and 3 fine-tuned models", progress)
        problem = build_digits_problem(DEMO_TASKS, seed=seed)
        results = {}
        for stage, tasks in ((2, DEMO_TASKS[:2]), (4, DEMO_TASKS)):
            result = run_experiment(problem, tasks, seed=seed, progress=progress, stage=stage)
            name = f"t{len(tasks)}"
            results[name] = result
            write_json(out / f"experiment_{name}.json", result)
            try:
                from map_merge.plots import plot_experiment

                plot_experiment(result, out / f"front_{name}.png")
            except ImportError:
                pass
    finally:
        torch.set_num_threads(threads)
    return _summarize(results, out, seed)


def _round(x: float) -> float:
    """Two significant digits (reproducible across machines and torch versions)."""
    return float(f"{x:.2g}")


def _summarize(results: dict[str, dict[str, Any]], out: Path, seed: int) -> dict[str, object]:
    """demo.json: the key figure for umbrella and the headline numbers of both experiments."""
    t3 = results["t3"]["quality"]
    figures: dict[str, float] = {}
    for name, r in results.items():
        figures |= {
            f"{name}_igd_map_real": _round(r["quality"]["map_real"]["igd"]),
            f"{name}_igd_random_2x": _round(r["quality"]["random"]["igd"]),
            f"{name}_hv_ratio_map_real": _round(r["quality"]["map_real"]["hypervolume_ratio"]),
            f"{name}_map_evaluations": r["map_evaluations"],
            f"{name}_grid_evaluations": r["grid_evaluations"],
        }
    summary = {
        "key_figure": f"T=3 IGD MAP {t3['map_real']['igd']:.2f} vs random {t3['random']['igd']:.2f}",
        "figures": figures,
        "seed": seed,
    }
    write_json(out / "demo.json", summary)
    return summary
