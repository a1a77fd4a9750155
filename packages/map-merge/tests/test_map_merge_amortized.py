"""amortized_front: the interface outside checks rely on, its variants, caching and resume."""

from __future__ import annotations

import numpy as np
import pytest

from map_merge import amortized_front


def accuracy_like(c: np.ndarray) -> np.ndarray:
    """Two conflicting accuracy-like metrics in (0, 1), quadratic under a sigmoid."""
    z1 = 2.0 + 3.0 * c[0] - 1.5 * c[1] - 2.0 * c[0] ** 2 - 0.5 * c[0] * c[1]
    z2 = 1.0 - 1.0 * c[0] + 3.5 * c[1] - 2.5 * c[1] ** 2 - 0.3 * c[0] * c[1]
    return 1.0 / (1.0 + np.exp(-np.array([z1, z2])))


class Counter:
    def __init__(self, fn) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, c: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.fn(c)


def three_tasks(c: np.ndarray) -> np.ndarray:
    centers = np.array([[0.9, 0.1, 0.2], [0.1, 0.8, 0.3], [0.3, 0.2, 0.9]])
    return 1.0 / (1.0 + ((c[None, :] - centers) ** 2).sum(axis=1))


def test_interface_shapes_counts_and_selection() -> None:
    evaluate = Counter(accuracy_like)
    front = amortized_front(evaluate, 2, maximize=True, seed=0, n_generations=40)
    k = len(front.coefficients)
    assert k >= 10 and front.coefficients.shape == (k, 2) and front.predicted.shape == (k, 2)
    assert front.n_evaluations == evaluate.calls == 12
    for task in range(2):
        chosen = front.select(np.eye(2)[task])
        assert chosen.shape == (2,)
        best = front.coefficients[np.argmax(front.predicted[:, task])]
        np.testing.assert_array_equal(chosen, best)
        predicted = front.predicted[np.argmax(front.predicted[:, task])]
        np.testing.assert_allclose(accuracy_like(chosen)[task], predicted[task], atol=0.02)
    assert all(row["r2"] > 0.99 for row in front.fit_report())


def test_same_seed_same_front_and_bad_arguments() -> None:
    a = amortized_front(accuracy_like, 2, seed=3, n_generations=20)
    b = amortized_front(accuracy_like, 2, seed=3, n_generations=20)
    np.testing.assert_array_equal(a.coefficients, b.coefficients)
    with pytest.raises(ValueError, match="unknown method 'grid'"):
        amortized_front(accuracy_like, 2, method="grid")
    with pytest.raises(ValueError, match="budget=4"):
        amortized_front(accuracy_like, 2, budget=4)
    with pytest.raises(ValueError, match="preference must have 2 entries"):
        a.select([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="not all zero"):
        a.select([0.0, 0.0])
    with pytest.raises(ValueError, match=r"returned shape \(3,\)"):
        amortized_front(lambda c: np.zeros(3), 2)


def test_cache_makes_a_rerun_free_and_identical(tmp_path) -> None:
    first = Counter(accuracy_like)
    a = amortized_front(first, 2, cache=tmp_path / "evals.jsonl", n_generations=20)
    with (tmp_path / "evals.jsonl").open("a") as file:
        file.write('{"c": [0.1, 0.')  # a run killed mid-write leaves a torn line
    second = Counter(accuracy_like)
    b = amortized_front(second, 2, cache=tmp_path / "evals.jsonl", n_generations=20)
    assert first.calls == 12 and second.calls == 0
    assert b.n_evaluations == 12
    np.testing.assert_array_equal(a.coefficients, b.coefficients)


def test_bayesian_counts_rounds_and_does_not_lose_accuracy() -> None:
    evaluate = Counter(three_tasks)
    front = amortized_front(evaluate, 3, method="bayesian", budget=40, n_generations=20)
    initial = 20  # max(p + 2, budget // 2)
    update = (40 - initial) // 2
    assert evaluate.calls == front.n_evaluations == initial + 2 * update
    assert [h["n_evaluations"] for h in front.history] == [initial, initial + update, initial + 2 * update]
    errors = [h["mean_loo_rmse"] for h in front.history]
    assert errors[-1] <= errors[0] * 1.05


def test_nested_makes_t_minus_one_merges_and_is_deterministic() -> None:
    a = amortized_front(three_tasks, 3, method="nested", n_generations=20, seed=1)
    b = amortized_front(three_tasks, 3, method="nested", n_generations=20, seed=1)
    assert len(a.history) == 2
    assert a.n_evaluations <= 2 * 20
    assert a.coefficients.shape[1] == 3 and a.predicted.shape == a.coefficients.shape
    np.testing.assert_array_equal(a.coefficients, b.coefficients)
    chosen = a.select([1.0, 1.0, 1.0])
    assert np.all(np.isfinite(chosen))
