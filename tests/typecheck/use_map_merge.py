"""A downstream script using map-merge's quickstart, type-checked against the installed package."""

from __future__ import annotations

import numpy as np

import map_merge as mm
from map_merge.digits import build_digits_problem


def choose_merge(preference: list[float]) -> np.ndarray:
    """An amortized front on the digits problem; the coefficients chosen for a preference."""
    tasks = ["parity", "at_least_5"]
    problem = build_digits_problem(tasks, seed=0)
    vectors = mm.task_vectors(problem.base, dict(zip(tasks, problem.finetuned, strict=True)))
    evaluate_model = mm.classification_evaluator({t: [problem.test[t]] for t in tasks}, heads=problem.heads)
    objective = mm.MergeObjective(problem.base, vectors, evaluate_model)
    front = mm.amortized_front(objective, vectors.n_tasks, maximize=True, budget=12, seed=0)
    print(front.n_evaluations, len(front.coefficients), front.warnings)
    c = front.select(preference)
    print(front.predicted[front.select_index(preference)], objective(c))
    return np.asarray(c)
