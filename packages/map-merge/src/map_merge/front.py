"""The amortized front: its data (AmortizedFront, JSON round trip), surrogate fitting and the Pareto search.

Leaf module of the MAP variants: amortized.py, bayesian.py and nested.py import from here, never from
each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from map_merge.pareto import non_dominated, nsga3_search, polish_points, weighted_sum_polish
from map_merge.surrogate import QuadraticSurrogate, choose_link, fit_surrogate


def _matrix(data: dict[str, Any], key: str, n_columns: int | None) -> np.ndarray:
    try:
        array = np.asarray(data[key], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"front: entry {key!r} is missing or not numeric ({error})") from error
    if array.size == 0:
        array = array.reshape(0, n_columns or 0)
    if array.ndim != 2 or (n_columns is not None and array.shape[1] != n_columns):
        raise ValueError(f"front: entry {key!r} must be a matrix with {n_columns} columns, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"front: entry {key!r} holds a non-finite value (NaN or inf)")
    return array


@dataclass
class AmortizedFront:
    """A Pareto front of coefficient vectors with the surrogates' predicted metrics.

    ``coefficients`` (K, T) and ``predicted`` (K, T) are the front; ``samples`` / ``sample_metrics`` are
    the real evaluations it was fitted on; ``n_evaluations`` counts the distinct points evaluated
    (answers read back from a cache included). With the adaptive design the front also holds the real
    samples that no predicted point dominates (``measured`` marks them; their ``predicted`` row is the
    real metric). ``warnings`` says when the surrogates fit poorly (the
    predicted front may then promise more than the models deliver).
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
    polished: np.ndarray | None = None  # (K,) True where the point was polished
    warnings: list[str] = field(default_factory=list)
    measured: np.ndarray | None = None  # (K,) True where the row is a real evaluation (adaptive design)
    diagnostics: dict[str, object] = field(default_factory=dict)  # fit checks behind ``warnings``

    def select(self, preference: Sequence[float]) -> np.ndarray:
        """The front's coefficient vector best for a preference: argmax_k p.M(c_k) (argmin for losses),
        with p normalized to unit L2 norm. Needs no new evaluation."""
        return cast(np.ndarray, self.coefficients[self.select_index(preference)].copy())

    def select_index(self, preference: Sequence[float]) -> int:
        """Row of the front that ``select`` returns."""
        p = np.asarray(preference, dtype=np.float64)
        if p.shape != (self.predicted.shape[1],):
            raise ValueError(f"preference must have {self.predicted.shape[1]} entries, got {p.tolist()}")
        if not np.all(np.isfinite(p)) or np.any(p < 0) or not np.any(p > 0):
            raise ValueError(f"preference must be finite, non-negative and not all zero, got {p.tolist()}")
        if len(self.coefficients) == 0:
            raise ValueError("the front is empty")
        scores = self.predicted @ (p / np.linalg.norm(p))
        return int(np.argmax(scores) if self.maximize else np.argmin(scores))

    def fit_report(self) -> list[dict[str, object]]:
        """Per-task fit quality: R^2, leave-one-out RMSE, link and the fit kept (with both candidates'
        errors), and the held-out error as a fraction of the metric's spread with its ``poor_fit`` flag."""
        checks = self.diagnostics.get("tasks", [])
        rows = []
        for i, surrogate in enumerate(self.surrogates):
            check = checks[i] if isinstance(checks, list) and i < len(checks) else {}
            rows.append(vars(surrogate.report) | dict(check) | {"task": i})
        return rows

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form; ``AmortizedFront.from_dict`` reads it back."""
        return {
            "method": self.method,
            "maximize": self.maximize,
            "n_evaluations": self.n_evaluations,
            "coefficients": self.coefficients.tolist(),
            "predicted": self.predicted.tolist(),
            "samples": self.samples.tolist(),
            "sample_metrics": self.sample_metrics.tolist(),
            "fit_report": self.fit_report(),
            "surrogates": [s.to_dict() for s in self.surrogates],
            "polished": None if self.polished is None else self.polished.tolist(),
            "history": self.history,
            "warnings": self.warnings,
            "measured": None if self.measured is None else self.measured.tolist(),
            "diagnostics": self.diagnostics,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AmortizedFront:
        """Rebuild a front from ``to_dict``'s form, checking shapes and finiteness (ValueError otherwise)."""
        if not isinstance(data, dict):
            raise ValueError("front: expected a JSON object")
        coefficients = _matrix(data, "coefficients", None)
        n_tasks = coefficients.shape[1]
        predicted = _matrix(data, "predicted", n_tasks)
        if len(predicted) != len(coefficients):
            raise ValueError(
                f"front: {len(coefficients)} coefficient rows but {len(predicted)} predicted rows"
            )
        samples = _matrix(data, "samples", n_tasks)
        sample_metrics = _matrix(data, "sample_metrics", n_tasks)
        if not isinstance(data.get("maximize"), bool) or not isinstance(data.get("n_evaluations"), int):
            raise ValueError("front: 'maximize' must be true/false and 'n_evaluations' an integer")
        polished, measured = data.get("polished"), data.get("measured")
        return cls(
            coefficients,
            predicted,
            data["n_evaluations"],
            data["maximize"],
            str(data.get("method", "map")),
            samples,
            sample_metrics,
            [QuadraticSurrogate.from_dict(s) for s in data.get("surrogates", [])],
            list(data.get("history", [])),
            None if polished is None else np.asarray(polished, dtype=bool),
            [str(w) for w in data.get("warnings", [])],
            None if measured is None else np.asarray(measured, dtype=bool),
            dict(data.get("diagnostics") or {}),
        )


def fit_surrogates(
    c: np.ndarray,
    y: np.ndarray,
    maximize: bool,
    link: str,
    fit: str,
    sample_weights: np.ndarray | None = None,
) -> list[QuadraticSurrogate]:
    """One surrogate per task (column of y)."""
    return [
        fit_surrogate(
            c, y[:, t], choose_link(y[:, t], maximize) if link == "auto" else link, fit, sample_weights
        )
        for t in range(y.shape[1])
    ]


def front_weights(y: np.ndarray, maximize: bool, width: float) -> np.ndarray:
    """Sample weights exp(-d / width), d the distance of each sample's metrics (normalized per task by
    their range) to the nearest non-dominated sample: samples near the front count most."""
    span = np.maximum(np.ptp(y, axis=0), 1e-12)
    z = (y - y.min(axis=0)) / span
    front = z[non_dominated(y, maximize)]
    distance = np.sqrt(((z[:, None, :] - front[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return cast(np.ndarray, np.exp(-distance / width))


FRONT_WIDTH = 0.3  # samples whose metrics lie this far (normalized) from the sampled front weigh 1/e


def fit_refined_surrogates(
    c: np.ndarray, y: np.ndarray, maximize: bool, link: str, fit: str
) -> list[QuadraticSurrogate]:
    """The adaptive design's surrogates: a fit in which samples near the front weigh most, plus a kernel
    model of each quadratic's residuals when that predicts held-out residuals better than none."""
    surrogates = fit_surrogates(c, y, maximize, link, fit, front_weights(y, maximize, FRONT_WIDTH))
    return [s.corrected(c, y[:, t]) for t, s in enumerate(surrogates)]


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


def add_samples(
    coefficients: np.ndarray,
    predicted: np.ndarray,
    polished: np.ndarray,
    samples: np.ndarray,
    metrics: np.ndarray,
    maximize: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The predicted front joined with the real samples (exact values): the predictions that no real
    evaluation dominates (a predicted point that a real evaluation dominates is never offered) and every
    non-dominated real sample (kept even when a prediction claims to beat it, so the offered front is never
    worse than what was evaluated). Returns coefficients, predicted, polished mask and a mask of the
    measured (real) rows."""
    c = np.concatenate([coefficients, samples])
    y = np.concatenate([predicted, metrics])
    done = np.concatenate([polished, np.zeros(len(samples), dtype=bool)])
    real = np.concatenate([np.zeros(len(coefficients), dtype=bool), np.ones(len(samples), dtype=bool)])
    keep = non_dominated(y, maximize)
    keep[len(coefficients) :] = non_dominated(metrics, maximize)
    _, unique = np.unique(np.round(c[keep], 9), axis=0, return_index=True)
    rows = np.flatnonzero(keep)[np.sort(unique)]
    return c[rows], y[rows], done[rows], real[rows]
