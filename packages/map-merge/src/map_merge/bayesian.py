"""Bayesian MAP: adaptive sampling rounds in the regions (hyperspherical-angle bins) where the surrogates err most."""

from __future__ import annotations

import warnings
from typing import Any, cast

import numpy as np

from map_merge.cache import CachedEvaluator
from map_merge.front import fit_surrogates
from map_merge.sampling import initial_points
from map_merge.surrogate import n_coefficients

ITERATIONS = 3
LAMBDA_STD = 0.5
TEMPERATURE = 0.07
RESAMPLES = 30
DROP_FRACTION = 0.2
RADIUS = (0.2, 0.8)


def to_angles(c: np.ndarray) -> np.ndarray:
    """Hyperspherical angles (N, T-1) in [0, pi/2] of non-negative vectors c (N, T)."""
    c = np.abs(np.atleast_2d(c))
    tail = np.sqrt(np.cumsum((c**2)[:, ::-1], axis=1)[:, ::-1])  # ||c_{k:}||
    return cast(np.ndarray, np.arctan2(tail[:, 1:], c[:, :-1]))


def from_angles(angles: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Vectors (N, T) with the given hyperspherical angles (N, T-1) and radii (N,)."""
    n, k = angles.shape
    out = np.empty((n, k + 1))
    running = radius.astype(np.float64).copy()
    for i in range(k):
        out[:, i] = running * np.cos(angles[:, i])
        running = running * np.sin(angles[:, i])
    out[:, k] = running
    return out


def bins_per_angle(n_tasks: int) -> int:
    """4 bins per angle below 4 tasks, 2 from 4 tasks on (warned beyond 6, as upstream)."""
    if n_tasks > 6:
        warnings.warn(f"Bayesian MAP bins angles coarsely beyond 6 tasks (got {n_tasks})", stacklevel=3)
    return 4 if n_tasks < 4 else 2


def bin_scores(
    bin_index: np.ndarray, residual: np.ndarray, n_bins: int, rng: np.random.Generator
) -> np.ndarray:
    """mean residual + lambda * std over 30 resamples that each drop 20% of the points; -inf for empty bins."""
    n = len(residual)
    means = np.full((RESAMPLES, n_bins), np.nan)
    for r in range(RESAMPLES):
        keep = rng.random(n) >= DROP_FRACTION
        sums = np.bincount(bin_index[keep], weights=residual[keep], minlength=n_bins)
        counts = np.bincount(bin_index[keep], minlength=n_bins)
        means[r] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    counts_all = np.bincount(bin_index, minlength=n_bins)
    mean_all = np.bincount(bin_index, weights=residual, minlength=n_bins) / np.maximum(counts_all, 1)
    std = np.nan_to_num(np.nanstd(np.where(np.isnan(means), mean_all, means), axis=0))
    return np.where(counts_all > 0, mean_all + LAMBDA_STD * std, -np.inf)


def bayesian_samples(
    evaluator: CachedEvaluator,
    n_tasks: int,
    maximize: bool,
    budget: int | None,
    seed: int,
    progress: bool,
    options: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, list[dict[str, float]]]:
    """Run the sampling rounds; return all samples, their metrics, and the per-round fit history.

    Total evaluations = initial + (ITERATIONS - 1) * update. Residuals are squared errors normalised by
    each task's variance and summed over tasks, so one new point serves every task's surrogate.
    """
    if n_tasks < 2:
        raise ValueError("Bayesian MAP needs at least 2 tasks")
    p = n_coefficients(n_tasks)
    if budget is None:
        initial, update = 2 * p, n_tasks + 1
    else:
        if budget < p + 2:
            raise ValueError(
                f"budget={budget} is too small for Bayesian MAP with {n_tasks} tasks (needs >= {p + 2})"
            )
        initial = max(p + 2, budget // 2)
        update = (budget - initial) // (ITERATIONS - 1)
    rng = np.random.default_rng(seed)
    samples = initial_points(n_tasks, initial, seed)
    metrics = evaluator.many(samples, progress=progress, desc="initial evaluations")
    history = []
    n_bins = bins_per_angle(n_tasks)
    for round_index in range(ITERATIONS):
        surrogates = fit_surrogates(samples, metrics, maximize, options["link"], options["fit"])
        predicted = np.stack([s.value(samples) for s in surrogates], axis=1)
        scale = np.maximum(metrics.var(axis=0), 1e-12)
        residual = (((predicted - metrics) ** 2) / scale).sum(axis=1)
        history.append(
            {
                "round": round_index,
                "n_evaluations": len(samples),
                "mean_loo_rmse": float(np.mean([s.report.loo_rmse for s in surrogates])),
                "mean_r2": float(np.mean([s.report.r2 for s in surrogates])),
            }
        )
        if round_index == ITERATIONS - 1 or update == 0:
            break
        angles = to_angles(samples)
        cells = np.minimum((angles / (np.pi / 2) * n_bins).astype(int), n_bins - 1)
        flat = np.ravel_multi_index(cells.T, (n_bins,) * (n_tasks - 1))
        scores = bin_scores(flat, residual, n_bins ** (n_tasks - 1), rng)
        finite = np.isfinite(scores)
        logits = np.where(finite, (scores - scores[finite].max()) / TEMPERATURE, -np.inf)
        probabilities = np.exp(logits) / np.exp(logits).sum()
        chosen = rng.choice(len(scores), size=update, p=probabilities)
        low = np.stack(np.unravel_index(chosen, (n_bins,) * (n_tasks - 1)), axis=1)
        new_angles = (low + rng.random(low.shape)) * (np.pi / 2) / n_bins
        new = from_angles(new_angles, rng.uniform(*RADIUS, size=update))
        samples = np.concatenate([samples, new])
        metrics = np.concatenate(
            [metrics, evaluator.many(new, progress=progress, desc=f"round {round_index + 1}")]
        )
    return samples, metrics, history
