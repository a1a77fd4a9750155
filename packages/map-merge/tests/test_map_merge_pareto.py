"""Front search and front-quality indicators on problems with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from map_merge import (
    amortized_front,
    front_quality,
    generational_distance,
    hypervolume,
    inverted_generational_distance,
    kkt_residual,
    non_dominated,
)

CENTERS = np.array([[0.2, 0.8, 0.3], [0.9, 0.1, 0.4], [0.4, 0.3, 0.9]])


def convex_losses(n_tasks: int):
    centers = CENTERS[:n_tasks, :n_tasks]

    def evaluate(c: np.ndarray) -> np.ndarray:
        return ((c[None, :] - centers) ** 2).sum(axis=1)

    return evaluate, centers


def exact_front(centers: np.ndarray, evaluate, n: int = 10_000) -> np.ndarray:
    weights = np.random.default_rng(0).dirichlet(np.ones(len(centers)), size=n)
    return np.array([evaluate(c) for c in weights @ centers])  # minimisers of weighted sums


@pytest.mark.parametrize("n_tasks", [2, 3])
def test_polished_points_are_pareto_optimal_and_close_to_the_exact_front(n_tasks: int) -> None:
    evaluate, centers = convex_losses(n_tasks)
    front = amortized_front(
        evaluate, n_tasks, maximize=False, link="identity", n_generations=60, design="paper"
    )
    assert front.polished is not None and front.polished.all()
    residuals = [
        kkt_residual(np.stack([s.gradient(c)[0] for s in front.surrogates])) for c in front.coefficients
    ]
    assert max(residuals) < 1e-3
    quality = front_quality(front.predicted, exact_front(centers, evaluate), maximize=False)
    assert quality["igd"] < 0.01 if n_tasks == 2 else quality["igd"] < 0.05
    assert quality["gd"] < (0.01 if n_tasks == 2 else 0.03)


def test_non_dominated_on_a_hand_case() -> None:
    points = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.4, 0.4], [1.0, 0.0]])
    np.testing.assert_array_equal(non_dominated(points, maximize=True), [True, True, True, False, True])
    np.testing.assert_array_equal(non_dominated(points, maximize=False), [True, True, False, True, True])


def test_distances_and_hypervolume_by_hand() -> None:
    reference = np.array([[0.0, 1.0], [1.0, 0.0]])
    front = np.array([[0.0, 0.5]])
    # normalized space equals the raw one here
    assert generational_distance(front, reference) == pytest.approx(0.5)
    assert inverted_generational_distance(front, reference) == pytest.approx((0.5 + np.sqrt(1.25)) / 2)
    # maximize: point (0, .5) -> minimisation coordinates (1, .5); box to (1.1, 1.1): 0.1 * 0.6
    assert hypervolume(front, reference, maximize=True) == pytest.approx(0.1 * 0.6)


def test_kkt_residual_is_zero_for_opposed_gradients_and_one_for_aligned() -> None:
    assert kkt_residual(np.array([[1.0, 0.0], [-2.0, 0.0]])) == pytest.approx(0.0, abs=1e-8)
    assert kkt_residual(np.array([[1.0, 0.0], [1.0, 0.0]])) == pytest.approx(1.0, abs=1e-8)
