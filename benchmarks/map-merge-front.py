"""map-merge front-quality benchmark: MAP's adaptive design vs the paper's design vs random sampling (same
and twice the evaluations), against a brute-force 11^3 grid of real evaluations, on digits problems:

- pretrained: a trunk pre-trained as an autoencoder (12-d code, no labels), frozen linear heads for three
  disjoint class groups ({1,4,7}, {3,5,8}, {0,2,6,9}), each task fine-tuned from the base: the good merges
  sit at small coefficient sums (the base alone scores 0.88 / 0.63 / 0.94);
- scratch: the same tasks from a randomly initialised trunk.

Run: python benchmarks/map-merge-front.py [--problem pretrained|scratch] [--seeds 5] [--budget 30]
Prints one JSON object: per method, the mean over seeds of the real front's hypervolume ratio and IGD
against the grid front (MAP's front re-evaluated on the real models; random: its sampled points), and the
preference picks' real score minus the best grid point's score (random picks its best sample): for (1,1,1),
the worst of (1,1,1), (2,1,1), (1,2,1), (1,1,2), and the mean over 12 random preferences.
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import numpy as np
import torch

from map_merge import (
    MergeObjective,
    amortized_front,
    classification_evaluator,
    front_quality,
    grid_points,
    task_vectors,
    uniform_points,
)
from map_merge.digits import build_digits_problem

TASKS = ["classes_1_4_7", "classes_3_5_8", "classes_0_2_6_9"]
PREFERENCES = [[1.0, 1.0, 1.0], [2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]
RANDOM_PREFERENCES = np.random.default_rng(123).dirichlet(np.ones(3), size=12).tolist()


def objective_for(problem: str, seed: int = 0) -> MergeObjective:
    """The merge objective of one benchmark problem (real models, real evaluations)."""
    pretrain = "autoencoder" if problem == "pretrained" else "none"
    built = build_digits_problem(TASKS, seed=seed, pretrain=pretrain, width=12)
    vectors = task_vectors(built.base, {t: built.finetuned[i] for i, t in enumerate(TASKS)})
    evaluator = classification_evaluator({t: [built.test[t]] for t in TASKS}, heads=built.heads)
    return MergeObjective(copy.deepcopy(built.base), vectors, evaluator)


def pick_gaps(select, evaluate, grid_metrics: np.ndarray) -> tuple[float, float, float]:
    """Real score of the pick minus the best grid point's score (0 is best, > 0 beats the grid), for
    preference [1, 1, 1], the worst over PREFERENCES, and the mean over 12 random preferences."""
    gaps = []
    for p in PREFERENCES + RANDOM_PREFERENCES:
        unit = np.asarray(p) / np.linalg.norm(p)
        gaps.append(float(evaluate(select(p)) @ unit - (grid_metrics @ unit).max()))
    return gaps[0], min(gaps[: len(PREFERENCES)]), float(np.mean(gaps[len(PREFERENCES) :]))


def run(problem: str, seeds: int, budget: int) -> dict[str, object]:
    """All methods on one problem, mean and per-seed numbers."""
    torch.set_num_threads(1)
    start = time.process_time()
    objective = objective_for(problem)
    grid = grid_points(3, 11)
    grid_metrics = np.array([objective(c) for c in grid])
    results: dict[str, list[dict[str, float]]] = {}

    def record(name: str, real: np.ndarray, gaps: tuple[float, float, float], seconds: float) -> None:
        quality = front_quality(real, grid_metrics)
        results.setdefault(name, []).append(
            {
                "hv_ratio": quality["hypervolume_ratio"],
                "igd": quality["igd"],
                "pick_gap_111": gaps[0],
                "pick_gap_worst": gaps[1],
                "pick_gap_random_mean": gaps[2],
                "cpu_s": seconds,
            }
        )

    for seed in range(seeds):
        for design, n in (("adaptive", budget), ("adaptive", 2 * budget // 3), ("paper", budget)):
            t = time.process_time()
            front = amortized_front(objective, 3, budget=n, design=design, seed=seed)
            seconds = time.process_time() - t
            real = np.array([objective(c) for c in front.coefficients])
            record(f"map_{design}_{n}", real, pick_gaps(front.select, objective, grid_metrics), seconds)
            if design == "adaptive" and n == budget:
                results[f"map_{design}_{n}"][-1]["warnings"] = len(front.warnings)
        for n in (budget, 2 * budget):
            points = uniform_points(3, n, seed=seed)
            metrics = np.array([objective(c) for c in points])

            def best(p: list[float], points=points, metrics=metrics) -> np.ndarray:
                return points[np.argmax(metrics @ (np.asarray(p) / np.linalg.norm(p)))]

            record(f"random_{n}", metrics, pick_gaps(best, objective, grid_metrics), 0.0)
    summary = {
        name: {key: round(float(np.mean([r[key] for r in rows])), 4) for key in rows[0]}
        for name, rows in results.items()
    }
    return {
        "problem": problem,
        "budget": budget,
        "seeds": seeds,
        "base_metrics": objective(np.zeros(3)).round(3).tolist(),
        "grid_evaluations": len(grid),
        "mean": summary,
        "per_seed": results,
        "cpu_seconds": round(time.process_time() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problem", choices=["pretrained", "scratch"], default="pretrained")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 of MAP and random sampling")
    parser.add_argument("--budget", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(run(args.problem, args.seeds, args.budget), indent=1))


if __name__ == "__main__":
    main()
