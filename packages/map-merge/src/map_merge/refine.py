"""The default design of MAP: a space-filling start over the whole box, then rounds that sample where the
surrogates' optimistic front lies, then the predicted best merges of a spread of preferences.

No warp is fixed in advance: every round scores a uniform pool of the box by the surrogates' prediction
plus their uncertainty (spread of resampled refits, plus each task's held-out error away from the
samples), scalarised by random Chebyshev preferences (ParEGO-style upper confidence bounds), so the
samples go wherever the front is, at small coefficient sums or large ones.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from map_merge.adaptive import exploit_preferences, preferred_points
from map_merge.cache import CachedEvaluator
from map_merge.diagnostics import held_out_error
from map_merge.front import FRONT_WIDTH, fit_refined_surrogates, front_weights
from map_merge.pareto import non_dominated
from map_merge.surrogate import (
    QuadraticSurrogate,
    link_forward,
    link_inverse,
    n_coefficients,
    quadratic_features,
)

POOL = 4096
RESAMPLES = 24
DROP_FRACTION = 0.25
START_FRACTION = 0.5
KAPPA = 1.0  # standard deviations of optimism in the acquisition
AUGMENT = 0.05  # weight of the weighted sum in the augmented Chebyshev scalarisation
LOCAL_FRACTION = 0.5  # share of each round's pool drawn around the evaluated non-dominated samples
LOCAL_RADIUS = (0.25, 0.08)  # standard deviation of those draws (x box width), first round to last


def space_filling_start(n_tasks: int, n_points: int, seed: int, bounds: tuple[float, float]) -> np.ndarray:
    """c = 0 (clipped to the bounds), the one-hot points, then greedy maximin picks (plain Euclidean
    distance) from a uniform pool of the whole box: (n_points, T)."""
    low, high = bounds
    rng = np.random.default_rng(seed)
    fixed = [np.clip(np.zeros(n_tasks), low, high)] + [
        np.clip(np.eye(n_tasks)[t] * high, low, high) for t in range(n_tasks)
    ]
    chosen = np.unique(np.array(fixed), axis=0)[:n_points]
    pool = rng.uniform(low, high, size=(POOL, n_tasks))
    distance = _nearest(pool, chosen)
    picked = []
    for _ in range(n_points - len(chosen)):
        index = int(np.argmax(distance))
        picked.append(pool[index])
        distance = np.minimum(distance, np.linalg.norm(pool - pool[index], axis=1))
    return np.concatenate([chosen, np.array(picked).reshape(-1, n_tasks)])


def _nearest(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance of each row of ``points`` to its nearest row of ``others``: (N,)."""
    if len(others) == 0:
        return np.full(len(points), np.inf)
    return cast(np.ndarray, np.sqrt(((points[:, None, :] - others[None, :, :]) ** 2).sum(axis=2)).min(axis=1))


def predictive(
    c: np.ndarray,
    y: np.ndarray,
    surrogates: list[QuadraticSurrogate],
    maximize: bool,
    points: np.ndarray,
    bounds: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean (the surrogates) and standard deviation of every task's metric at ``points``: (N, T) each.

    The deviation combines the spread of refits on resampled samples (front-weighted, as the surrogates)
    with each task's held-out (leave-one-out) error, which grows from 0 at a sample to its full size one
    kernel width away."""
    features, probe = quadratic_features(c), quadratic_features(points)
    weights = np.sqrt(front_weights(y, maximize, FRONT_WIDTH))
    keep_n = max(features.shape[1], math.ceil((1 - DROP_FRACTION) * len(c)))
    width = 0.2 * math.sqrt(c.shape[1]) * (bounds[1] - bounds[0])
    away = 1.0 - np.exp(-(_nearest(points, c) ** 2) / (2.0 * width**2))
    mean = np.stack([s.value(points) for s in surrogates], axis=1)
    std = np.empty_like(mean)
    for t, surrogate in enumerate(surrogates):
        target = link_inverse(surrogate.link, y[:, t])
        refits = []
        for _ in range(RESAMPLES):
            rows = rng.choice(len(c), size=keep_n, replace=False)
            w = np.linalg.lstsq(
                features[rows] * weights[rows, None], target[rows] * weights[rows], rcond=None
            )[0]
            refits.append(link_forward(surrogate.link, probe @ w))
        held_out = np.nan_to_num(held_out_error(surrogate), nan=0.0)
        std[:, t] = np.sqrt(np.var(refits, axis=0) + (held_out * away) ** 2)
    return mean, std


def scalarise(values: np.ndarray, preferences: np.ndarray) -> np.ndarray:
    """Augmented Chebyshev score of normalized metrics ``values`` (N, T; higher is better, 1 = the best
    sampled) for each preference (P, T): (N, P), higher is better."""
    deficit = 1.0 - values
    weighted = deficit[:, None, :] * preferences[None, :, :]
    return cast(np.ndarray, -(weighted.max(axis=2) + AUGMENT * weighted.sum(axis=2)))


def local_pool(
    samples: np.ndarray,
    metrics: np.ndarray,
    maximize: bool,
    size: int,
    radius: float,
    rng: np.random.Generator,
    bounds: tuple[float, float],
) -> np.ndarray:
    """``size`` points around the evaluated non-dominated samples: each one of them plus Gaussian noise of
    standard deviation ``radius`` x the box width, clipped to the box: (size, T)."""
    front = samples[non_dominated(metrics, maximize)]
    centers = front[rng.integers(len(front), size=size)]
    noise = rng.normal(0.0, radius * (bounds[1] - bounds[0]), size=centers.shape)
    return cast(np.ndarray, np.clip(centers + noise, bounds[0], bounds[1]))


def optimistic_points(
    samples: np.ndarray,
    metrics: np.ndarray,
    surrogates: list[QuadraticSurrogate],
    maximize: bool,
    size: int,
    rng: np.random.Generator,
    bounds: tuple[float, float],
    radius: float | None = None,
) -> np.ndarray:
    """A refinement round: for ``size`` random preferences, the pool point whose optimistic metrics
    (prediction + KAPPA deviations, normalized by the sampled range) score best, away from earlier samples
    and from this round's other picks. The pool is uniform over the box; with a ``radius``, half of it is
    drawn around the evaluated non-dominated samples instead (``local_pool``)."""
    n_tasks = samples.shape[1]
    n_local = 0 if radius is None else int(LOCAL_FRACTION * POOL)
    pool = np.concatenate(
        [
            rng.uniform(bounds[0], bounds[1], size=(POOL - n_local, n_tasks)),
            local_pool(samples, metrics, maximize, n_local, radius or 0.0, rng, bounds),
        ]
    )
    sign = 1.0 if maximize else -1.0
    mean, std = predictive(samples, metrics, surrogates, maximize, pool, bounds, rng)
    oriented = sign * metrics
    low, span = oriented.min(axis=0), np.maximum(np.ptp(oriented, axis=0), 1e-12)
    optimistic = (sign * mean + KAPPA * std - low) / span
    preferences = rng.dirichlet(np.ones(n_tasks), size=size)
    scores = scalarise(optimistic, preferences)
    spacing = 0.5 * (bounds[1] - bounds[0]) * len(samples) ** (-1.0 / n_tasks)
    distance = _nearest(pool, samples)
    picked: list[int] = []
    for column in scores.T:
        allowed = distance >= spacing
        index = (
            int(np.argmax(np.where(allowed, column, -np.inf))) if allowed.any() else int(np.argmax(distance))
        )
        picked.append(index)
        distance = np.minimum(distance, np.linalg.norm(pool - pool[index], axis=1))
    return pool[picked]


def front_samples(
    evaluator: CachedEvaluator,
    n_tasks: int,
    maximize: bool,
    n_points: int,
    seed: int,
    progress: bool,
    options: dict[str, Any],
    local: bool = True,
) -> tuple[np.ndarray, np.ndarray, list[dict[str, float]]]:
    """Evaluate the space-filling start, refine in rounds of T+1 optimistic points, then evaluate the
    predicted best merges of the T+1 exploit preferences; return samples, metrics and the per-round
    history (each round's out-of-sample error measured on its new points before refitting). With
    ``local`` (``design="adaptive"``), half of each round's candidates are drawn around the evaluated
    non-dominated samples, within a radius shrinking from 0.25 to 0.08 of the box width round by round
    (a trust region that follows the front wherever it lies); without it (``design="optimistic"``),
    all are uniform over the box."""
    bounds = options["bounds"]
    initial = min(n_points, max(n_coefficients(n_tasks) + 1, math.ceil(START_FRACTION * n_points)))
    batch = max(2, n_tasks + 1)
    rng = np.random.default_rng(seed)
    samples = space_filling_start(n_tasks, initial, seed, bounds)
    metrics = evaluator.many(samples, progress=progress, desc="start design")
    history: list[dict[str, float]] = []
    exploit = min(len(exploit_preferences(n_tasks)), n_points - len(samples))
    while len(samples) < n_points:
        remaining = n_points - len(samples)
        last = remaining <= exploit
        surrogates = fit_refined_surrogates(
            samples, metrics, maximize, options["link"], options["fit"] if last else "linear"
        )
        if last:
            new = preferred_points(surrogates, maximize, remaining, rng, bounds)
        else:
            size = min(batch, remaining - exploit)
            done = (len(samples) - initial) / max(1, n_points - exploit - initial)
            radius = LOCAL_RADIUS[0] + (LOCAL_RADIUS[1] - LOCAL_RADIUS[0]) * done if local else None
            new = optimistic_points(samples, metrics, surrogates, maximize, size, rng, bounds, radius)
        predicted = np.stack([s.value(new) for s in surrogates], axis=1)
        real = evaluator.many(
            new, progress=progress, desc="last round" if last else f"round {len(history) + 1}"
        )
        history.append(
            {
                "round": len(history),
                "n_evaluations": len(samples) + len(new),
                "out_of_sample_rmse": float(np.sqrt(np.mean((predicted - real) ** 2))),
            }
        )
        samples, metrics = np.concatenate([samples, new]), np.concatenate([metrics, real])
    return samples, metrics, history
