"""MAP and its variants: amortized Pareto fronts of merging coefficients from few real evaluations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from map_merge.adaptive import adaptive_samples
from map_merge.bayesian import bayesian_samples
from map_merge.cache import CachedEvaluator, Evaluate
from map_merge.diagnostics import fit_diagnostics
from map_merge.front import (
    AmortizedFront,
    add_samples,
    fit_refined_surrogates,
    fit_surrogates,
    search_front,
)
from map_merge.nested import nested_front
from map_merge.refine import front_samples
from map_merge.sampling import default_budget, initial_points
from map_merge.surrogate import QuadraticSurrogate, n_coefficients

METHODS = ("map", "bayesian", "nested")
"""Names of the front methods: MAP, Bayesian MAP and Nested MAP."""
DESIGNS = ("adaptive", "optimistic", "sqrt", "paper")
ADAPTIVE = (
    "adaptive",
    "optimistic",
    "sqrt",
)  # designs that refine in rounds, fit refined surrogates and offer real samples


def amortized_front(
    evaluate: Evaluate,
    n_tasks: int,
    *,
    maximize: bool = True,
    method: str = "map",
    design: str = "adaptive",
    budget: int | None = None,
    seed: int = 0,
    link: str = "auto",
    fit: str = "auto",
    bounds: tuple[float, float] = (0.0, 1.0),
    n_generations: int = 200,
    polish: bool = True,
    preference: Sequence[float] | None = None,
    cache: str | Path | None = None,
    cache_context: dict[str, object] | None = None,
    progress: bool = False,
) -> AmortizedFront:
    """Amortized Pareto front of merging coefficients.

    ``evaluate(c)`` takes c of shape (T,) and returns the real metrics (T,) of the merge with coefficients
    c. ``method``: ``"map"`` ((T+1)(T+2) points by default: with ``design="adaptive"`` a space-filling
    start over the whole box, then rounds at the optimistic predicted front (prediction + uncertainty,
    random Chebyshev preferences) drawn half around the evaluated non-dominated samples (a shrinking
    trust region), and a last round at the predicted best merges; ``design="optimistic"`` the same with
    rounds drawn uniformly over the box (the default of 0.1.0's first draft); ``design="sqrt"`` densest
    near c = 0; with ``design="paper"`` the paper's one-hot points plus a
    random subset of a grid, in one round), ``"bayesian"`` (adaptive rounds
    where the surrogates err most) or ``"nested"`` (pairwise merge tree; uses ``preference`` for the inner
    merges). ``budget`` caps the real evaluations. ``cache`` is a JSON-lines file that makes the run resumable; it is keyed
    by ``cache_context`` (default: ``evaluate.fingerprint()`` when it has one, e.g. ``MergeObjective``, else
    the callable's name and source digest) and refused if written for another context. Poor fits
    (held-out error, held-out error at the evaluated front's merges, last-round error, a predicted front
    beyond every real evaluation) are reported in
    ``warnings`` and ``diagnostics`` (methods map and bayesian).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; choose one of {DESIGNS}")
    if int(n_tasks) != n_tasks or n_tasks < 1:
        raise ValueError(f"n_tasks must be a positive integer, got {n_tasks!r}")
    if budget is not None and budget < 1:
        raise ValueError(f"budget must be positive, got {budget}")
    if not bounds[0] < bounds[1]:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds}")
    evaluator = CachedEvaluator(evaluate, int(n_tasks), cache, cache_context)
    options = {"link": link, "fit": fit, "bounds": bounds, "n_generations": n_generations, "polish": polish}
    if method == "nested":
        return nested_front(evaluator, int(n_tasks), maximize, budget, seed, preference, progress, options)
    if method == "bayesian":
        samples, metrics, history = bayesian_samples(
            evaluator, int(n_tasks), maximize, budget, seed, progress, options
        )
    else:
        n_points = default_budget(int(n_tasks)) if budget is None else int(budget)
        if n_points < n_coefficients(int(n_tasks)):
            raise ValueError(
                f"budget={n_points} is below the {n_coefficients(int(n_tasks))} coefficients of a quadratic in {n_tasks} tasks"
            )
        if design == "paper":
            samples = initial_points(int(n_tasks), n_points, seed)
            metrics = evaluator.many(samples, progress=progress)
            history = []
        else:
            if design == "sqrt":
                samples, metrics, history = adaptive_samples(
                    evaluator, int(n_tasks), maximize, n_points, seed, progress, options
                )
            else:
                samples, metrics, history = front_samples(
                    evaluator, int(n_tasks), maximize, n_points, seed, progress, options, design == "adaptive"
                )
    refined = method == "map" and design in ADAPTIVE
    if refined:
        surrogates = fit_refined_surrogates(samples, metrics, maximize, link, fit)
    else:
        surrogates = fit_surrogates(samples, metrics, maximize, link, fit)
    coefficients, predicted, polished = search_front(
        surrogates, maximize, bounds, n_generations, polish, seed
    )

    def refit(c: np.ndarray, y: np.ndarray) -> list[QuadraticSurrogate]:
        if refined:
            return fit_refined_surrogates(c, y, maximize, link, "linear")
        return fit_surrogates(c, y, maximize, link, "linear")

    diagnostics, warnings = fit_diagnostics(samples, metrics, surrogates, predicted, history, maximize, refit)
    measured = None
    if refined:
        coefficients, predicted, polished, measured = add_samples(
            coefficients, predicted, polished, samples, metrics, maximize
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
        warnings,
        measured,
        diagnostics,
    )
