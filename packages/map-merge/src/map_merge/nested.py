"""Nested MAP: a pairwise merge tree, one 2-D MAP per merge, for many tasks at O(T) evaluation rounds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from map_merge.cache import CachedEvaluator
from map_merge.front import AmortizedFront, fit_surrogates, search_front
from map_merge.sampling import initial_points

POINTS_PER_MERGE = 20


@dataclass
class Node:
    """A (merged) model: its coefficients over all T task vectors and the tasks below it."""

    coefficients: np.ndarray
    tasks: list[int]


def _closest_pair(nodes: list[Node], single_metrics: np.ndarray) -> tuple[int, int]:
    """The two nodes whose mean single-task metrics are closest."""
    scores = np.array([single_metrics[n.tasks].mean() for n in nodes])
    gaps = np.abs(scores[:, None] - scores[None, :]) + np.diag(np.full(len(nodes), np.inf))
    i, j = np.unravel_index(np.argmin(gaps), gaps.shape)
    return (int(i), int(j)) if i < j else (int(j), int(i))


def _weighted_mean(metrics: np.ndarray, tasks: list[int], weights: np.ndarray) -> np.ndarray:
    """Preference-weighted mean of the given tasks' metrics (plain mean when their weights are all zero)."""
    w = weights[tasks]
    return cast(
        np.ndarray, metrics[:, tasks] @ (w / w.sum()) if w.sum() > 0 else metrics[:, tasks].mean(axis=1)
    )


def nested_front(
    evaluator: CachedEvaluator,
    n_tasks: int,
    maximize: bool,
    budget: int | None,
    seed: int,
    preference: Sequence[float] | None,
    progress: bool,
    options: dict[str, Any],
) -> AmortizedFront:
    """Merge the closest pair with a 2-D MAP on the preference-weighted mean of each side's task metrics,
    pick its coefficients by the summed preferences, repeat until one model is left (T-1 merges).

    The last merge's 2-D surrogates are fitted per task, so the returned front covers all T metrics.
    """
    if n_tasks < 2:
        raise ValueError("Nested MAP needs at least 2 tasks")
    points = POINTS_PER_MERGE if budget is None else max(6, budget // (n_tasks - 1))
    weights = np.ones(n_tasks) if preference is None else np.asarray(preference, dtype=np.float64)
    if weights.shape != (n_tasks,) or np.any(weights < 0) or not np.any(weights > 0):
        raise ValueError(f"preference must be {n_tasks} non-negative numbers, not all zero; got {preference}")
    eye = np.eye(n_tasks)
    single = np.array([evaluator(eye[t])[t] for t in range(n_tasks)])
    nodes = [Node(eye[t].copy(), [t]) for t in range(n_tasks)]
    all_samples, all_metrics, history = [], [], []
    merge_index = 0
    while True:
        i, j = _closest_pair(nodes, single)
        left, right = nodes[i], nodes[j]
        xy = initial_points(2, points, seed + merge_index)
        full = xy[:, :1] * left.coefficients + xy[:, 1:] * right.coefficients
        metrics = evaluator.many(full, progress=progress, desc=f"merge {merge_index + 1}/{n_tasks - 1}")
        all_samples.append(full)
        all_metrics.append(metrics)
        tasks = left.tasks + right.tasks
        if len(nodes) == 2:
            surrogates = fit_surrogates(xy, metrics[:, tasks], maximize, options["link"], options["fit"])
            front_xy, predicted_subset, polished = search_front(
                surrogates, maximize, options["bounds"], options["n_generations"], options["polish"], seed
            )
            order = np.argsort(tasks)
            predicted = predicted_subset[:, order]
            coefficients = front_xy[:, :1] * left.coefficients + front_xy[:, 1:] * right.coefficients
            history.append({"merge": merge_index, "tasks": float(len(tasks)), "n_points": float(points)})
            return AmortizedFront(
                coefficients,
                predicted,
                len(evaluator.used),
                maximize,
                "nested",
                np.concatenate(all_samples),
                np.concatenate(all_metrics),
                [surrogates[k] for k in order],
                history,
                polished,
            )
        side_metrics = np.stack(
            [_weighted_mean(metrics, left.tasks, weights), _weighted_mean(metrics, right.tasks, weights)],
            axis=1,
        )
        surrogates = fit_surrogates(xy, side_metrics, maximize, options["link"], options["fit"])
        front_xy, predicted, _ = search_front(
            surrogates, maximize, options["bounds"], options["n_generations"], options["polish"], seed
        )
        side_preference = np.array([weights[left.tasks].sum(), weights[right.tasks].sum()])
        scores = predicted @ (side_preference / np.linalg.norm(side_preference))
        x, y = front_xy[int(np.argmax(scores) if maximize else np.argmin(scores))]
        merged = Node(x * left.coefficients + y * right.coefficients, tasks)
        history.append({"merge": merge_index, "tasks": float(len(tasks)), "n_points": float(points)})
        nodes = [n for k, n in enumerate(nodes) if k not in (i, j)] + [merged]
        merge_index += 1
