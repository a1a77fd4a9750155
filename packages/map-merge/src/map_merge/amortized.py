"""MAP and its variants: amortized Pareto fronts of merging coefficients from few real evaluations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from map_merge.cache import CachedEvaluator, Evaluate
from map_merge.pareto import non_dominated, nsga3_search, polish_points, weighted_sum_polish
from map_merge.sampling import default_budget, initial_points
from map_merge.surrogate import QuadraticSurrogate, choose_link, fit_surrogate, n_coefficients

METHODS = ("map", "bayesian", "nested")


@dataclass
class AmortizedFront:
    """A Pareto front of coefficient vectors with the surrogates' predicted metrics.

    ``coefficients`` (K, T) and ``predicted`` (K, T) are the front; ``samples`` / ``sample_metrics`` are
    the real evaluations it was fitted on; ``n_evaluations`` counts the distinct points evaluated
    (answers read back from a cache included).
    """

    coefficients: np.ndarray
    predicted: np.ndarray
    n_evaluations: int
    maximize: bool
    method: str
    samples: np.ndarray
    sample_metrics: np.ndarray
    surrogates: list[QuadraticSurrogate] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    polished: np.ndarray | None = (
        None  # (K,) True where the point was polished (all of them when polish=True)
    )

    def select(self, preference: Sequence[float]) -> np.ndarray:
        """The front's coefficient vector best for a preference: argmax_k p.M(c_k) (argmin for losses),
        with p normalized to unit L2 norm. Needs no new evaluation."""
        p = np.asarray(preference, dtype=np.float64)
        if p.shape != (self.predicted.shape[1],):
            raise ValueError(f"preference must have {self.predicted.shape[1]} entries, got {p.tolist()}")
        if not np.all(np.isfinite(p)) or np.any(p < 0) or not np.any(p > 0):
            raise ValueError(f"preference must be finite, non-negative and not all zero, got {p.tolist()}")
        scores = self.predicted @ (p / np.linalg.norm(p))
        return self.coefficients[int(np.argmax(scores) if self.maximize else np.argmin(scores))].copy()

    def fit_report(self) -> list[dict[str, object]]:
        """Per-task fit quality: R^2, leave-one-out RMSE, link and the fit kept (with both candidates' errors)."""
        return [vars(s.report) | {"task": i} for i, s in enumerate(self.surrogates)]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (front, samples, fit report)."""
        return {
            "method": self.method,
            "maximize": self.maximize,
            "n_evaluations": self.n_evaluations,
            "coefficients": self.coefficients.tolist(),
            "predicted": self.predicted.tolist(),
            "samples": self.samples.tolist(),
            "sample_metrics": self.sample_metrics.tolist(),
            "fit_report": self.fit_report(),
            "polished": None if self.polished is None else self.polished.tolist(),
            "history": self.history,
        }


def fit_surrogates(
    c: np.ndarray, y: np.ndarray, maximize: bool, link: str, fit: str
) -> list[QuadraticSurrogate]:
    """One surrogate per task (column of y)."""
    return [
        fit_surrogate(c, y[:, t], choose_link(y[:, t], maximize) if link == "auto" else link, fit)
        for t in range(y.shape[1])
    ]


def search_front(
    surrogates: list[QuadraticSurrogate],
    maximize: bool,
    bounds: tuple[float, float],
    n_generations: int,
    polish: bool,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NSGA-III over the surrogates, then (with ``polish``) a weighted-sum sweep plus every non-dominated
    NSGA-III point moved to a nearby Pareto-stationary point; then the non-dominated set.

    Returns coefficients (K, T), predicted metrics (K, T) and a (K,) mask of the polished points.
    """
    candidates = nsga3_search(
        surrogates, maximize=maximize, bounds=bounds, n_generations=n_generations, seed=seed
    )
    from_polish = np.zeros(len(candidates), dtype=bool)
    if polish:
        sweep = weighted_sum_polish(surrogates, candidates, maximize=maximize, bounds=bounds, seed=seed)
        values = np.stack([s.value(candidates) for s in surrogates], axis=1)
        moved = polish_points(
            surrogates, candidates[non_dominated(values, maximize)], maximize=maximize, bounds=bounds
        )
        candidates = np.concatenate([sweep, moved])
        from_polish = np.ones(len(candidates), dtype=bool)
    predicted = np.stack([s.value(candidates) for s in surrogates], axis=1)
    keep = non_dominated(predicted, maximize)
    _, unique = np.unique(np.round(candidates[keep], 9), axis=0, return_index=True)
    rows = np.flatnonzero(keep)[np.sort(unique)]
    return candidates[rows], predicted[rows], from_polish[rows]


def amortized_front(
    evaluate: Evaluate,
    n_tasks: int,
    *,
    maximize: bool = True,
    method: str = "map",
    budget: int | None = None,
    seed: int = 0,
    link: str = "auto",
    fit: str = "auto",
    bounds: tuple[float, float] = (0.0, 1.0),
    n_generations: int = 200,
    polish: bool = True,
    preference: Sequence[float] | None = None,
    cache: str | Path | None = None,
    progress: bool = False,
) -> AmortizedFront:
    """Amortized Pareto front of merging coefficients.

    ``evaluate(c)`` takes c of shape (T,) and returns the real metrics (T,) of the merge with coefficients
    c. ``method``: ``"map"`` (one round of (T+1)(T+2) points by default), ``"bayesian"`` (adaptive rounds
    where the surrogates err most) or ``"nested"`` (pairwise merge tree; uses ``preference`` for the inner
    merges). ``budget`` caps the real evaluations. ``cache`` is a JSON-lines file that makes the run resumable.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if int(n_tasks) != n_tasks or n_tasks < 1:
        raise ValueError(f"n_tasks must be a positive integer, got {n_tasks!r}")
    if budget is not None and budget < 1:
        raise ValueError(f"budget must be positive, got {budget}")
    if not bounds[0] < bounds[1]:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds}")
    evaluator = CachedEvaluator(evaluate, int(n_tasks), cache)
    options = {"link": link, "fit": fit, "bounds": bounds, "n_generations": n_generations, "polish": polish}
    if method == "nested":
        from map_merge.nested import nested_front

        return nested_front(evaluator, int(n_tasks), maximize, budget, seed, preference, progress, options)
    if method == "bayesian":
        from map_merge.bayesian import bayesian_samples

        samples, metrics, history = bayesian_samples(
            evaluator, int(n_tasks), maximize, budget, seed, progress, options
        )
    else:
        n_points = default_budget(int(n_tasks)) if budget is None else int(budget)
        if n_points < n_coefficients(int(n_tasks)):
            raise ValueError(
                f"budget={n_points} is below the {n_coefficients(int(n_tasks))} coefficients of a quadratic in {n_tasks} tasks"
            )
        samples = initial_points(int(n_tasks), n_points, seed)
        metrics = evaluator.many(samples, progress=progress)
        history = []
    surrogates = fit_surrogates(samples, metrics, maximize, link, fit)
    coefficients, predicted, polished = search_front(
        surrogates, maximize, bounds, n_generations, polish, seed
    )
    return AmortizedFront(
        coefficients,
        predicted,
        len(evaluator.used),
        maximize,
        method,
        samples,
        metrics,
        surrogates,
        history,
        polished,
    )
