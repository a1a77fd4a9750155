"""The square-root design of MAP (``design="sqrt"``, the default before 0.1.0's front-seeking design): a space-filling start that holds the base point (c = 0), the one-hot points
and small coefficient sums, then rounds that evaluate where the surrogates are least certain on and near
their predicted front, and a last round that evaluates the predicted best merges for a spread of
preferences; each round's new points measure the surrogates' out-of-sample error first.

Distances between points are measured between square roots of the coefficients (``warp``), which packs
samples densest at small coefficients: fine-tunes of a good base have their useful merges there, and the
metrics change fastest there.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from map_merge.cache import CachedEvaluator
from map_merge.front import fit_refined_surrogates, fit_surrogates
from map_merge.pareto import non_dominated
from map_merge.surrogate import (
    QuadraticSurrogate,
    link_forward,
    link_inverse,
    n_coefficients,
    quadratic_features,
)

POOL = 2048
RESAMPLES = 24
DROP_FRACTION = 0.25
INITIAL_FRACTION = 0.6


def warp(c: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """sign(c) sqrt(|c| / m), m the bounds' largest magnitude: the space in which the design spreads its
    points (equal steps there are small steps near c = 0)."""
    return cast(np.ndarray, np.sign(c) * np.sqrt(np.abs(c) / max(abs(bounds[0]), abs(bounds[1]))))


def _maximin(
    pool: np.ndarray,
    chosen: np.ndarray,
    n: int,
    bounds: tuple[float, float],
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """Greedily take n rows of ``pool`` each farthest (in the warped space) from everything chosen so far,
    distances weighted by ``scale``."""
    picked = []
    warped_pool = warp(pool, bounds)
    distance = np.sqrt(((warped_pool[:, None, :] - warp(chosen, bounds)[None, :, :]) ** 2).sum(axis=2)).min(
        axis=1
    )
    weight = np.ones(len(pool)) if scale is None else scale
    for _ in range(n):
        index = int(np.argmax(distance * weight))
        picked.append(pool[index])
        distance = np.minimum(distance, np.sqrt(((warped_pool - warped_pool[index]) ** 2).sum(axis=1)))
    return np.array(picked).reshape(n, pool.shape[1])


def _candidate_pool(
    rng: np.random.Generator, n_tasks: int, bounds: tuple[float, float], size: int
) -> np.ndarray:
    """``size`` points uniform over the box, then ``size`` points of small sums (Dirichlet directions
    scaled to sums in [0, high]), clipped to the bounds: (2 size, T)."""
    low, high = bounds
    box = rng.uniform(low, high, size=(size, n_tasks))
    small = rng.dirichlet(np.ones(n_tasks), size=size) * rng.uniform(0, high, size=(size, 1))
    return cast(np.ndarray, np.clip(np.concatenate([box, small]), low, high))


def exploit_preferences(n_tasks: int) -> np.ndarray:
    """The preferences whose predicted best merges the last round evaluates: equal weights, then each
    task's weight doubled in turn (unit L2 norm), (T+1, T)."""
    rows = np.ones((n_tasks + 1, n_tasks)) + np.concatenate([np.zeros((1, n_tasks)), np.eye(n_tasks)])
    return cast(np.ndarray, rows / np.linalg.norm(rows, axis=1, keepdims=True))


def start_points(n_tasks: int, n_points: int, seed: int, bounds: tuple[float, float]) -> np.ndarray:
    """c = 0 (when inside the bounds), the one-hot points, then maximin picks (in the warped space) from a
    pool that is half uniform over the box and half small sums."""
    low, high = bounds
    rng = np.random.default_rng(seed)
    fixed = [np.clip(np.zeros(n_tasks), low, high)]
    fixed += [np.clip(np.eye(n_tasks)[t] * high, low, high) for t in range(n_tasks)]
    fixed_points = np.unique(np.array(fixed), axis=0)[:n_points]
    pool = _candidate_pool(rng, n_tasks, bounds, POOL // 2)
    rest = max(0, n_points - len(fixed_points))
    return np.concatenate([fixed_points, _maximin(pool, fixed_points, rest, bounds)])


def _ensemble_spread(
    c: np.ndarray,
    y: np.ndarray,
    surrogates: list[QuadraticSurrogate],
    points: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Std over resampled refits (each dropping 25% of the samples) of every task's prediction at
    ``points``, divided by the task's sample spread and summed over tasks: (N,)."""
    features, probe = quadratic_features(c), quadratic_features(points)
    keep_n = max(features.shape[1], math.ceil((1 - DROP_FRACTION) * len(c)))
    total = np.zeros(len(points))
    for t, surrogate in enumerate(surrogates):
        target = link_inverse(surrogate.link, y[:, t])
        predictions = []
        for _ in range(RESAMPLES):
            rows = rng.choice(len(c), size=keep_n, replace=False)
            weights = np.linalg.lstsq(features[rows], target[rows], rcond=None)[0]
            predictions.append(link_forward(surrogate.link, probe @ weights))
        total += np.std(predictions, axis=0) / max(float(np.ptp(y[:, t])), 1e-12)
    return total


def _uncertain_points(
    samples: np.ndarray,
    metrics: np.ndarray,
    surrogates: list[QuadraticSurrogate],
    maximize: bool,
    size: int,
    rng: np.random.Generator,
    bounds: tuple[float, float],
) -> np.ndarray:
    """A refinement round: half the points on the predicted front (from a random pool), half anywhere,
    each the most uncertain and far from earlier samples."""
    n_tasks = samples.shape[1]
    pool = rng.uniform(bounds[0], bounds[1], size=(POOL, n_tasks))
    values = np.stack([s.value(pool) for s in surrogates], axis=1)
    front = pool[non_dominated(values, maximize)]
    pool = np.concatenate([front, pool[: POOL // 4]])
    on_front = np.arange(len(pool)) < len(front)
    spread = _ensemble_spread(samples, metrics, surrogates, pool, rng)
    n_front = min(len(front), (size + 1) // 2)
    chosen = (
        _maximin(pool[on_front], samples, n_front, bounds, spread[on_front] + 1e-12)
        if n_front
        else np.empty((0, n_tasks))
    )
    everywhere = _maximin(pool, np.concatenate([samples, chosen]), size - n_front, bounds, spread + 1e-12)
    return np.concatenate([chosen, everywhere])


def preferred_points(
    surrogates: list[QuadraticSurrogate],
    maximize: bool,
    size: int,
    rng: np.random.Generator,
    bounds: tuple[float, float],
) -> np.ndarray:
    """The last round: for each of the first ``size`` exploit preferences, the pool point the surrogates
    predict best (each point taken once)."""
    pool = _candidate_pool(rng, surrogates[0].n_tasks, bounds, POOL)
    scores = np.stack([s.value(pool) for s in surrogates], axis=1) @ exploit_preferences(len(surrogates)).T
    scores = scores if maximize else -scores
    taken: list[int] = []
    for column in scores[:, :size].T:
        column[taken] = -np.inf
        taken.append(int(np.argmax(column)))
    return pool[taken]


def adaptive_samples(
    evaluator: CachedEvaluator,
    n_tasks: int,
    maximize: bool,
    n_points: int,
    seed: int,
    progress: bool,
    options: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, list[dict[str, float]]]:
    """Evaluate the start design, refine in rounds where the surrogates are least certain, then evaluate
    the predicted best merges for the exploit preferences; return samples, metrics, per-round history
    (with each round's out-of-sample error measured before refitting)."""
    p = n_coefficients(n_tasks)
    bounds = options["bounds"]
    initial = min(n_points, max(p + 1, math.ceil(INITIAL_FRACTION * n_points)))
    batch = max(2, n_tasks + 1)
    rng = np.random.default_rng(seed)
    samples = start_points(n_tasks, initial, seed, bounds)
    metrics = evaluator.many(samples, progress=progress, desc="start design")
    history: list[dict[str, float]] = []
    round_index = 0
    exploit = min(n_tasks + 1, n_points - len(samples))  # evaluations kept for the last round
    while len(samples) < n_points:
        remaining = n_points - len(samples)
        if remaining <= exploit:  # the last round: the predicted best merges of the exploit preferences
            surrogates = fit_refined_surrogates(samples, metrics, maximize, options["link"], options["fit"])
            new = preferred_points(surrogates, maximize, remaining, rng, bounds)
        else:
            surrogates = fit_surrogates(samples, metrics, maximize, options["link"], "linear")
            size = min(batch, remaining - exploit)
            new = _uncertain_points(samples, metrics, surrogates, maximize, size, rng, bounds)
        predicted = np.stack([s.value(new) for s in surrogates], axis=1)
        real = evaluator.many(new, progress=progress, desc=f"round {round_index + 1}")
        history.append(
            {
                "round": round_index,
                "n_evaluations": len(samples) + len(new),
                "out_of_sample_rmse": float(np.sqrt(np.mean((predicted - real) ** 2))),
            }
        )
        samples, metrics = np.concatenate([samples, new]), np.concatenate([metrics, real])
        round_index += 1
    return samples, metrics, history
