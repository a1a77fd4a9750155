"""Quadratic surrogates: exact recovery, links, fit quality, gradients, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from map_merge import fit_surrogate, initial_points
from map_merge.surrogate import link_forward, n_coefficients, quadratic_features


def random_quadratic(n_tasks: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=n_coefficients(n_tasks))


@pytest.mark.parametrize("n_tasks", [2, 3, 4])
def test_least_squares_recovers_an_exact_quadratic(n_tasks: int) -> None:
    weights = random_quadratic(n_tasks, n_tasks)
    c = initial_points(n_tasks, seed=1)
    y = quadratic_features(c) @ weights
    surrogate = fit_surrogate(c, y, link="identity")
    np.testing.assert_allclose(surrogate.weights, weights, atol=1e-9)
    probe = np.random.default_rng(2).uniform(-1, 2, size=(50, n_tasks))
    np.testing.assert_allclose(surrogate.value(probe), quadratic_features(probe) @ weights, atol=1e-9)
    assert surrogate.report.r2 == pytest.approx(1.0)
    assert surrogate.report.loo_rmse < 1e-9


def test_sigmoid_link_fits_accuracies_and_auto_keeps_the_better_fit() -> None:
    weights = np.array([1.0, 2.0, -1.0, -2.0, 0.5, -1.5])
    c = initial_points(2, seed=0)
    y = link_forward("sigmoid", quadratic_features(c) @ weights)
    surrogate = fit_surrogate(c, y, link="sigmoid", fit="auto")
    assert set(surrogate.report.candidates) == {"linear", "nonlinear"}
    assert surrogate.report.loo_rmse == min(surrogate.report.candidates.values())
    np.testing.assert_allclose(surrogate.value(c), y, atol=1e-6)
    assert np.all(surrogate.value(np.random.default_rng(0).uniform(-3, 3, (100, 2))) > 0)


def test_gradient_matches_finite_differences() -> None:
    c = initial_points(3, seed=0)
    y = link_forward("softplus", quadratic_features(c) @ random_quadratic(3, 7))
    surrogate = fit_surrogate(c, y, link="softplus")
    point = np.array([[0.3, 0.6, 0.2]])
    eps = 1e-6
    numeric = [
        (surrogate.value(point + eps * e) - surrogate.value(point - eps * e))[0] / (2 * eps)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(surrogate.gradient(point)[0], numeric, rtol=1e-5, atol=1e-8)


def test_bad_inputs_name_the_problem() -> None:
    c = initial_points(2, seed=0)
    with pytest.raises(ValueError, match="unknown link 'probit'"):
        fit_surrogate(c, np.zeros(len(c)), link="probit")
    with pytest.raises(ValueError, match="needs >= 6 points"):
        fit_surrogate(c[:4], np.zeros(4))
    y = np.zeros(len(c))
    y[3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit_surrogate(c, y)


def test_initial_points_include_one_hots_and_avoid_excluded_grid_points() -> None:
    points = initial_points(3, seed=5)
    assert points.shape == (20, 3)
    np.testing.assert_array_equal(points[:3], np.eye(3))
    rest = points[3:]
    assert not np.any(np.isclose(rest.sum(axis=1), 1.0))
    assert not np.any(np.all(np.isclose(rest, rest[:, :1]), axis=1))
    assert len(np.unique(points, axis=0)) == 20
    np.testing.assert_array_equal(points, initial_points(3, seed=5))
