"""The designs: where they sample, that poor fits are reported (and good ones are not), that the default
design finds a front at large coefficient sums, and (small scale) that it finds the front of a pretrained
base whose good merges sit at small coefficient sums better than random sampling."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from map_merge import AmortizedFront, amortized_front, front_quality, grid_points, uniform_points
from map_merge.adaptive import exploit_preferences, start_points
from map_merge.diagnostics import front_excess
from map_merge.refine import space_filling_start


def smooth(c: np.ndarray) -> np.ndarray:
    centers = np.array([[0.2, 0.1, 0.1], [0.1, 0.3, 0.0], [0.0, 0.1, 0.2]])
    return 1.0 / (1.0 + 3.0 * ((c[None, :] - centers) ** 2).sum(axis=1))


def far(c: np.ndarray) -> np.ndarray:
    """Three accuracy-like metrics whose front lies at coefficient sums 1.9-2.3."""
    centers = np.array([[0.9, 0.7, 0.6], [0.6, 0.9, 0.7], [0.7, 0.6, 1.0]])
    return 1.0 / (1.0 + 8.0 * ((c[None, :] - centers) ** 2).sum(axis=1))


def test_default_start_fills_the_whole_box() -> None:
    points = space_filling_start(3, 15, seed=0, bounds=(0.0, 1.0))
    np.testing.assert_array_equal(points[0], np.zeros(3))
    for e in np.eye(3):
        assert np.any(np.all(points == e, axis=1))
    assert len(np.unique(points, axis=0)) == 15
    np.testing.assert_array_equal(points, space_filling_start(3, 15, seed=0, bounds=(0.0, 1.0)))
    sums = points.sum(axis=1)
    assert np.sum(sums > 2.0) >= 2 and np.sum((sums > 0) & (sums < 1.0)) >= 2  # large sums and small ones
    gaps = np.linalg.norm(points[:, None] - points[None], axis=2) + np.eye(15) * 9
    random_gaps = np.linalg.norm(uniform_points(3, 15)[:, None] - uniform_points(3, 15)[None], axis=2)
    assert gaps.min() > (random_gaps + np.eye(15) * 9).min()  # maximin: no two points close together


def test_default_design_finds_a_front_at_large_sums_where_the_sqrt_design_samples_little() -> None:
    truth = np.array([far(c) for c in grid_points(3, 11)])
    front = amortized_front(far, 3, budget=30, seed=0, n_generations=40)
    sqrt = amortized_front(far, 3, budget=30, seed=0, design="sqrt", n_generations=5, polish=False)
    assert np.sum(front.samples.sum(axis=1) > 1.5) > np.sum(sqrt.samples.sum(axis=1) > 1.5)
    real = np.array([far(c) for c in front.coefficients])
    random_real = np.array([far(c) for c in uniform_points(3, 60, seed=0)])
    ours, theirs = front_quality(real, truth), front_quality(random_real, truth)
    assert ours["hypervolume_ratio"] >= 0.95 and ours["igd"] < theirs["igd"]
    assert not front.warnings


def test_sqrt_design_start_holds_the_base_point_one_hots_and_small_sums() -> None:
    points = start_points(3, 18, seed=0, bounds=(0.0, 1.0))
    np.testing.assert_array_equal(points[0], np.zeros(3))
    for e in np.eye(3):
        assert np.any(np.all(points == e, axis=1))
    assert len(np.unique(points, axis=0)) == 18
    np.testing.assert_array_equal(points, start_points(3, 18, seed=0, bounds=(0.0, 1.0)))
    sums = points.sum(axis=1)
    assert np.sum((sums > 0) & (sums < 0.5)) >= 3  # spread in sqrt(c): small sums are well covered


def test_last_round_evaluates_the_predicted_best_merge_of_each_exploit_preference() -> None:
    preferences = exploit_preferences(3)
    np.testing.assert_allclose(np.linalg.norm(preferences, axis=1), 1.0)
    np.testing.assert_allclose(preferences[1] * np.sqrt(6), [2, 1, 1])
    front = amortized_front(smooth, 3, budget=24, seed=2, n_generations=30)
    assert front.history[-1]["n_evaluations"] == 24 and len(np.unique(front.samples, axis=0)) == 24
    truth = np.array([smooth(c) for c in grid_points(3, 21)])
    for unit, c in zip(preferences, front.samples[-4:], strict=True):
        assert smooth(c) @ unit >= (truth @ unit).max() - 0.1


def test_adaptive_front_is_deterministic_round_trips_and_fits_a_smooth_problem() -> None:
    a = amortized_front(smooth, 3, budget=24, seed=2, n_generations=30)
    b = amortized_front(smooth, 3, budget=24, seed=2, n_generations=30)
    np.testing.assert_array_equal(a.coefficients, b.coefficients)
    assert a.n_evaluations == 24 and len(a.history) >= 1 and not a.warnings  # a good fit is not flagged
    assert not any(row["poor_fit"] for row in a.fit_report()) and a.diagnostics["front_excess"] < 0.2
    assert all("out_of_sample_rmse" in h for h in a.history)
    again = AmortizedFront.from_dict(a.to_dict())
    surrogate_rows = ~a.measured
    assert surrogate_rows.any()
    np.testing.assert_allclose(
        again.surrogates[0].value(a.coefficients[surrogate_rows]), a.predicted[surrogate_rows, 0], atol=1e-12
    )
    for c, y in zip(a.coefficients[a.measured], a.predicted[a.measured], strict=True):
        np.testing.assert_array_equal(y, smooth(c))  # real samples on the front carry their real metrics
    np.testing.assert_array_equal(again.measured, a.measured)
    np.testing.assert_array_equal(again.select([1, 2, 1]), a.select([1, 2, 1]))
    paper = amortized_front(smooth, 3, budget=24, seed=2, n_generations=30, design="paper")
    assert not np.any(np.all(paper.samples == 0.0, axis=1))  # the paper's design stays available as is


def test_a_poor_fit_is_reported() -> None:
    def rugged(c: np.ndarray) -> np.ndarray:
        return 0.5 + 0.4 * np.sign(np.sin(40.0 * c))

    front = amortized_front(rugged, 2, budget=16, seed=0, n_generations=20)
    assert any("held-out error" in w for w in front.warnings)
    report = front.fit_report()
    assert any(row["poor_fit"] for row in report)
    assert all(row["heldout_error_ratio"] > 0.15 for row in report if row["poor_fit"])
    again = AmortizedFront.from_dict(front.to_dict())
    assert again.fit_report() == report and again.warnings == front.warnings


def test_front_excess_measures_what_the_prediction_claims_beyond_real_samples() -> None:
    real = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    assert front_excess(real[:2], real, maximize=True) == 0.0
    assert front_excess(np.array([[0.8, 0.8]]), real, maximize=True) == pytest.approx(0.3)
    assert front_excess(np.array([[0.2, 0.2]]), real, maximize=False) == pytest.approx(0.3)


def test_pretrained_base_small_scale_map_beats_random_with_twice_the_evaluations() -> None:
    pytest.importorskip("sklearn")
    import torch

    from map_merge import MergeObjective, classification_evaluator, task_vectors
    from map_merge.digits import build_digits_problem

    tasks = ["classes_1_4_7", "classes_3_5_8", "classes_0_2_6_9"]
    problem = build_digits_problem(tasks, seed=0, pretrain="autoencoder", width=12, finetune_steps=100)
    vectors = task_vectors(problem.base, dict(zip(tasks, problem.finetuned, strict=True)))
    evaluator = classification_evaluator({t: [problem.test[t]] for t in tasks}, heads=problem.heads)
    objective = MergeObjective(copy.deepcopy(problem.base), vectors, evaluator)
    torch.set_num_threads(1)
    grid = grid_points(3, 6)
    truth = np.array([objective(c) for c in grid])
    front = amortized_front(objective, 3, budget=30, seed=0, n_generations=60)
    real = np.array([objective(c) for c in front.coefficients])
    random_points = uniform_points(3, 60, seed=0)
    random_real = np.array([objective(c) for c in random_points])
    ours, theirs = front_quality(real, truth), front_quality(random_real, truth)
    assert ours["igd"] < theirs["igd"]
    assert ours["hypervolume_ratio"] >= 0.9
    for preference in ([1, 1, 1], [2, 1, 1], [1, 2, 1], [1, 1, 2]):
        unit = np.asarray(preference) / np.linalg.norm(preference)
        assert objective(front.select(preference)) @ unit >= (truth @ unit).max() - 0.02
