"""Pareto search over surrogates (NSGA-III, then a weighted-sum polish) and front-quality indicators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from scipy.optimize import minimize

from map_merge.surrogate import QuadraticSurrogate


def non_dominated(objectives: np.ndarray, maximize: bool = True) -> np.ndarray:
    """Boolean mask of the rows of (N, T) objectives that no other row dominates."""
    values = (
        -np.asarray(objectives, dtype=np.float64) if maximize else np.asarray(objectives, dtype=np.float64)
    )
    no_worse = np.all(values[:, None, :] <= values[None, :, :], axis=2)
    better = np.any(values[:, None, :] < values[None, :, :], axis=2)
    dominated = np.any(no_worse & better, axis=0)
    return cast(np.ndarray, ~dominated)


def _reference_directions(n_obj: int, target: int = 100) -> np.ndarray:
    from pymoo.util.ref_dirs import get_reference_directions

    if n_obj == 1:
        return np.ones((1, 1))
    partitions = 1
    while _n_das_dennis(n_obj, partitions + 1) <= target:
        partitions += 1
    return cast(np.ndarray, get_reference_directions("das-dennis", n_obj, n_partitions=partitions))


def _n_das_dennis(n_obj: int, partitions: int) -> int:
    from math import comb

    return comb(n_obj + partitions - 1, partitions)


def nsga3_search(
    surrogates: Sequence[QuadraticSurrogate],
    *,
    maximize: bool = True,
    bounds: tuple[float, float] = (0.0, 1.0),
    n_generations: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """NSGA-III (pymoo) over the surrogate metrics; returns the final population's coefficients (K, T)."""
    from pymoo.algorithms.moo.nsga3 import NSGA3
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize as pymoo_minimize

    n_var = surrogates[0].n_tasks
    sign = -1.0 if maximize else 1.0

    class SurrogateProblem(Problem):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(n_var=n_var, n_obj=len(surrogates), xl=bounds[0], xu=bounds[1])

        def _evaluate(self, x, out, *args, **kwargs):  # type: ignore[no-untyped-def]
            out["F"] = sign * np.stack([s.value(x) for s in surrogates], axis=1)

    ref_dirs = _reference_directions(len(surrogates))
    algorithm = NSGA3(ref_dirs=ref_dirs, pop_size=max(100, len(ref_dirs)))
    result = pymoo_minimize(SurrogateProblem(), algorithm, ("n_gen", n_generations), seed=seed, verbose=False)
    population = result.pop.get("X")
    return np.atleast_2d(population)


def weighted_sum_polish(
    surrogates: Sequence[QuadraticSurrogate],
    starts: np.ndarray,
    *,
    maximize: bool = True,
    bounds: tuple[float, float] = (0.0, 1.0),
    n_weights: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """Refine the front: for weight vectors w on the simplex, minimise sum_t w_t f_t(c) with L-BFGS-B.

    Each run starts from the candidate in ``starts`` that is best under its weights; objectives are scaled
    by their spread over ``starts`` so that the weights mean the same on every task.
    """
    rng = np.random.default_rng(seed)
    n_obj = len(surrogates)
    sign = -1.0 if maximize else 1.0
    start_values = sign * np.stack([s.value(starts) for s in surrogates], axis=1)
    scale = np.maximum(start_values.max(axis=0) - start_values.min(axis=0), 1e-12)
    weights = np.concatenate([np.eye(n_obj), rng.dirichlet(np.ones(n_obj), size=max(0, n_weights - n_obj))])
    polished = []
    for w in weights:
        ws = w / scale

        def objective(c: np.ndarray, ws: np.ndarray = ws) -> tuple[float, np.ndarray]:
            values = np.array([s.value(c)[0] for s in surrogates])
            grads = np.stack([s.gradient(c)[0] for s in surrogates])
            return float(sign * ws @ values), sign * ws @ grads

        x0 = starts[np.argmin(start_values @ ws)]
        result = minimize(objective, x0, jac=True, method="L-BFGS-B", bounds=[bounds] * starts.shape[1])
        polished.append(result.x)
    return np.array(polished)


def kkt_weights(gradients: np.ndarray) -> np.ndarray:
    """Simplex weights w minimising ||sum_t w_t grad f_t|| (the KKT multipliers of a Pareto-stationary point)."""
    g = np.asarray(gradients, dtype=np.float64)
    n = g.shape[0]
    gram = g @ g.T
    result = minimize(
        lambda w: float(w @ gram @ w),
        np.full(n, 1.0 / n),
        jac=lambda w: 2 * gram @ w,
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones_like(w)}],
        method="SLSQP",
        options={"ftol": 1e-16, "maxiter": 500},
    )
    w = np.clip(result.x, 0.0, None)
    return cast(np.ndarray, w / w.sum())


def polish_points(
    surrogates: Sequence[QuadraticSurrogate],
    points: np.ndarray,
    *,
    maximize: bool = True,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Move each point to a nearby Pareto-stationary point: estimate its KKT weights from the (scaled)
    gradients, then minimise that weighted sum with L-BFGS-B starting from the point."""
    sign = -1.0 if maximize else 1.0
    values = sign * np.stack([s.value(points) for s in surrogates], axis=1)
    scale = np.maximum(values.max(axis=0) - values.min(axis=0), 1e-12)
    polished = []
    for c in points:
        grads = sign * np.stack([s.gradient(c)[0] for s in surrogates]) / scale[:, None]
        ws = kkt_weights(grads) / scale

        def objective(x: np.ndarray, ws: np.ndarray = ws) -> tuple[float, np.ndarray]:
            vals = np.array([s.value(x)[0] for s in surrogates])
            grad = np.stack([s.gradient(x)[0] for s in surrogates])
            return float(sign * ws @ vals), sign * ws @ grad

        polished.append(minimize(objective, c, jac=True, method="L-BFGS-B", bounds=[bounds] * len(c)).x)
    return np.array(polished)


def kkt_residual(gradients: np.ndarray) -> float:
    """min over simplex weights w of ||sum_t w_t grad f_t|| / mean_t ||grad f_t|| (0 at a Pareto-stationary point).

    ``gradients`` is (T_objectives, n_variables) for an unconstrained (interior) point.
    """
    g = np.asarray(gradients, dtype=np.float64)
    w = kkt_weights(g)
    mean_norm = float(np.mean(np.linalg.norm(g, axis=1)))
    return float(np.linalg.norm(w @ g)) / max(mean_norm, 1e-300)


def _normalizer(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low, high = reference.min(axis=0), reference.max(axis=0)
    return low, np.maximum(high - low, 1e-12)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cast(np.ndarray, np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)))


def generational_distance(front: np.ndarray, reference: np.ndarray) -> float:
    """GD: mean distance from each front point to the nearest reference point (normalized by the reference)."""
    low, span = _normalizer(reference)
    return float(_distances((front - low) / span, (reference - low) / span).min(axis=1).mean())


def inverted_generational_distance(front: np.ndarray, reference: np.ndarray) -> float:
    """IGD: mean distance from each reference point to the nearest front point (normalized by the reference)."""
    low, span = _normalizer(reference)
    return float(_distances((front - low) / span, (reference - low) / span).min(axis=0).mean())


def hypervolume(
    front: np.ndarray, reference: np.ndarray, maximize: bool = True, margin: float = 0.1
) -> float:
    """Hypervolume of a front in the reference's normalized space, with the reference point at the
    reference front's worst corner plus ``margin``."""
    from pymoo.indicators.hv import HV

    low, span = _normalizer(reference)
    normalized = (front - low) / span
    points = 1.0 - normalized if maximize else normalized  # now minimisation in [0, 1] for the reference
    return float(HV(ref_point=np.full(front.shape[1], 1.0 + margin))(points))


def front_quality(front: np.ndarray, reference: np.ndarray, maximize: bool = True) -> dict[str, float]:
    """GD, IGD and hypervolume ratio of a front (its non-dominated points) against a reference front."""
    front = front[non_dominated(front, maximize)]
    reference = reference[non_dominated(reference, maximize)]
    hv_reference = hypervolume(reference, reference, maximize)
    return {
        "gd": generational_distance(front, reference),
        "igd": inverted_generational_distance(front, reference),
        "hypervolume": hypervolume(front, reference, maximize),
        "hypervolume_ratio": hypervolume(front, reference, maximize) / hv_reference
        if hv_reference > 0
        else float("nan"),
    }
