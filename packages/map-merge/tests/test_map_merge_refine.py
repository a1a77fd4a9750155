"""The adaptive design's trust region (candidates around the evaluated front), the previous design kept as
``design="optimistic"``, and the offered front never dropping a non-dominated real sample."""

from __future__ import annotations

import numpy as np

from map_merge import amortized_front, non_dominated
from map_merge.front import add_samples
from map_merge.refine import local_pool


def bowl(c: np.ndarray) -> np.ndarray:
    """Two accuracy-like metrics whose trade-off runs between (0.8, 0.2) and (0.2, 0.8)."""
    centers = np.array([[0.8, 0.2], [0.2, 0.8]])
    return 1.0 / (1.0 + 4.0 * ((c[None, :] - centers) ** 2).sum(axis=1))


def test_local_pool_surrounds_the_evaluated_non_dominated_samples() -> None:
    samples = np.array([[0.1, 0.1], [0.9, 0.9], [0.5, 0.5]])
    metrics = np.array([[0.05, 0.05], [0.9, 0.1], [0.1, 0.9]])  # the first is dominated
    pool = local_pool(samples, metrics, True, 400, 0.05, np.random.default_rng(0), (0.0, 1.0))
    assert pool.shape == (400, 2) and pool.min() >= 0.0 and pool.max() <= 1.0
    nearest = np.linalg.norm(pool[:, None] - samples[None], axis=2).argmin(axis=1)
    assert set(nearest.tolist()) == {1, 2}  # drawn around the non-dominated samples only
    assert np.linalg.norm(pool - samples[nearest], axis=1).mean() < 0.1


def test_adaptive_and_optimistic_designs_are_both_selectable_and_deterministic() -> None:
    options = {"budget": 14, "seed": 1, "n_generations": 10, "polish": False}
    adaptive = amortized_front(bowl, 2, **options)
    optimistic = amortized_front(bowl, 2, design="optimistic", **options)
    np.testing.assert_array_equal(adaptive.samples, amortized_front(bowl, 2, **options).samples)
    assert adaptive.n_evaluations == optimistic.n_evaluations == 14
    start = 7  # the space-filling start: max(6 + 1, half of 14)
    np.testing.assert_array_equal(adaptive.samples[:start], optimistic.samples[:start])  # same start
    assert not np.array_equal(adaptive.samples, optimistic.samples)  # rounds drawn differently


def test_offered_front_keeps_every_non_dominated_real_sample() -> None:
    predicted_c, predicted = np.array([[0.5, 0.5]]), np.array([[0.9, 0.9]])  # a promise beating both
    samples = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.2]])
    metrics = np.array([[0.2, 0.8], [0.8, 0.2], [0.1, 0.1]])
    c, y, _, real = add_samples(predicted_c, predicted, np.array([True]), samples, metrics, True)
    assert real.sum() == 2 and not np.any(np.all(c == [0.2, 0.2], axis=1))
    np.testing.assert_array_equal(y[real], metrics[non_dominated(metrics)])
    dominated = np.array([[0.1, 0.1]])  # a prediction that a real sample dominates is not offered
    c, _, _, real = add_samples(predicted_c, dominated, np.array([True]), samples, metrics, True)
    assert real.all()
