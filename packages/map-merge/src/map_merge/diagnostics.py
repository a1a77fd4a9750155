"""Honest fit diagnostics of an amortized front: held-out errors against each metric's spread, the
held-out error at the evaluated front's merges, the last round's out-of-sample error, and how far the
predicted front claims to lie beyond every real evaluation."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np

from map_merge.pareto import non_dominated
from map_merge.surrogate import QuadraticSurrogate, n_coefficients

Refit = Callable[[np.ndarray, np.ndarray], list[QuadraticSurrogate]]

HELD_OUT_LIMIT = 0.15  # leave-one-out RMSE above this fraction of a metric's sampled spread
ROUND_LIMIT = 0.1  # the last round's out-of-sample RMSE above this fraction of the metrics' mean spread
EXCESS_LIMIT = 0.2  # predicted front beyond the evaluated front by more than this (normalized per task)
FRONT_LIMIT = 0.1  # held-out error at the evaluated front's merges above this fraction of a metric's spread


def held_out_error(surrogate: QuadraticSurrogate) -> float:
    """The surrogate's leave-one-out RMSE (of the kernel-corrected model when it has one); NaN if unknown."""
    report = surrogate.report
    value = report.corrected_loo_rmse if report.corrected_loo_rmse is not None else report.loo_rmse
    return float(value) if value is not None else float("nan")


def front_excess(predicted: np.ndarray, metrics: np.ndarray, maximize: bool) -> float:
    """Additive epsilon of the predicted front over the evaluated front, each task normalized by the
    samples' range: max over predicted points p of min over evaluated samples r of max_t (p_t - r_t), the
    most a prediction claims beyond every real evaluation; 0 when every prediction is matched."""
    if len(predicted) == 0 or len(metrics) == 0:
        return 0.0
    sign = 1.0 if maximize else -1.0
    span = np.maximum(np.ptp(metrics, axis=0), 1e-12)
    real = sign * metrics[non_dominated(metrics, maximize)] / span
    claimed = sign * predicted / span
    gaps = (claimed[:, None, :] - real[None, :, :]).max(axis=2).min(axis=1)
    return float(max(0.0, gaps.max()))


def front_heldout_error(samples: np.ndarray, metrics: np.ndarray, maximize: bool, refit: Refit) -> np.ndarray:
    """Per task (T,): the RMSE, over the evaluated non-dominated samples, of surrogates refitted (``refit``)
    without each of them and asked to predict it, divided by the metric's sampled spread: how well the
    surrogates know the region where the front is. NaN when too few samples are left to refit."""
    rows = np.flatnonzero(non_dominated(metrics, maximize))
    if len(samples) - 1 < n_coefficients(samples.shape[1]):
        return np.full(metrics.shape[1], np.nan)
    errors = []
    for k in rows:
        keep = np.arange(len(samples)) != k
        surrogates = refit(samples[keep], metrics[keep])
        errors.append(np.array([s.value(samples[k : k + 1])[0] for s in surrogates]) - metrics[k])
    spread = np.maximum(np.ptp(metrics, axis=0), 1e-12)
    return cast(np.ndarray, np.sqrt(np.mean(np.square(errors), axis=0)) / spread)


def fit_diagnostics(
    samples: np.ndarray,
    metrics: np.ndarray,
    surrogates: list[QuadraticSurrogate],
    predicted: np.ndarray,
    history: list[dict[str, float]],
    maximize: bool,
    refit: Refit,
) -> tuple[dict[str, object], list[str]]:
    """Diagnostics (JSON-ready) and one warning per failed check. ``predicted`` holds the surrogates'
    front (rows that are predictions, not real samples); ``refit(samples, metrics)`` fits surrogates the
    way ``surrogates`` were fitted (for the held-out error at the evaluated front)."""
    spread = np.ptp(metrics, axis=0)
    at_front = front_heldout_error(samples, metrics, maximize, refit)
    tasks = []
    warnings = []
    for t, surrogate in enumerate(surrogates):
        error = held_out_error(surrogate)
        ratio = error / spread[t] if spread[t] > 0 else (0.0 if error == 0 else float("inf"))
        poor = bool(np.isfinite(ratio) and ratio > HELD_OUT_LIMIT) or bool(np.isinf(ratio))
        front_ratio = float(at_front[t])
        tasks.append(
            {
                "task": t,
                "heldout_rmse": error,
                "heldout_error_ratio": float(ratio),
                "front_heldout_error_ratio": None if np.isnan(front_ratio) else front_ratio,
                "poor_fit": poor or front_ratio > FRONT_LIMIT,
            }
        )
        if poor:
            warnings.append(
                f"task {t}: the surrogate's held-out error is {error:.3g}, {100 * ratio:.0f}% of the metric's "
                f"spread (limit {100 * HELD_OUT_LIMIT:.0f}%): its predictions are unreliable; re-evaluate picks "
                "or raise the budget"
            )
        if front_ratio > FRONT_LIMIT:
            warnings.append(
                f"task {t}: at the evaluated front's merges, the surrogate refitted without each of them errs by "
                f"{100 * front_ratio:.0f}% of the metric's spread (limit {100 * FRONT_LIMIT:.0f}%): the predicted "
                "front may not be where the models' front is; re-evaluate picks or raise the budget"
            )
    mean_spread = max(float(np.mean(spread)), 1e-12)
    last_error = history[-1].get("out_of_sample_rmse") if history else None
    round_ratio = None if last_error is None else float(last_error) / mean_spread
    if round_ratio is not None and round_ratio > ROUND_LIMIT:
        warnings.append(
            f"surrogate error on the last round's new points is {last_error:.3g} "
            f"({100 * round_ratio:.0f}% of the metrics' spread): the predicted front may promise more than the "
            "models deliver; re-evaluate picks or raise the budget"
        )
    excess = front_excess(predicted, metrics, maximize)
    if excess > EXCESS_LIMIT:
        warnings.append(
            f"the predicted front claims up to {100 * excess:.0f}% of a metric's spread beyond every evaluated "
            "merge: it may promise more than the models deliver; re-evaluate picks or raise the budget"
        )
    diagnostics: dict[str, object] = {
        "tasks": tasks,
        "last_round_error_ratio": round_ratio,
        "front_excess": excess,
        "limits": {
            "heldout": HELD_OUT_LIMIT,
            "front_heldout": FRONT_LIMIT,
            "last_round": ROUND_LIMIT,
            "front_excess": EXCESS_LIMIT,
        },
    }
    return diagnostics, warnings
