"""The held-out error at the evaluated front: near zero where a quadratic is exact, and a warning (in
``warnings``, ``fit_report()`` and the JSON form) where the front is a thin ridge no quadratic follows."""

from __future__ import annotations

import numpy as np

from map_merge import AmortizedFront, amortized_front
from map_merge.diagnostics import FRONT_LIMIT, front_heldout_error
from map_merge.front import fit_surrogates


def ridge(c: np.ndarray) -> np.ndarray:
    """Three accuracy-like metrics that trade off along a thin curved ridge at coefficient sums near 1.2."""
    on = np.exp(-(((c.sum() - 1.2 - 0.3 * (c[0] - c[1]) ** 2) / 0.08) ** 2))
    return 0.3 + 0.1 * c + 0.5 * on * c / max(float(c.sum()), 1e-9)


def test_front_heldout_error_is_zero_for_an_exact_quadratic() -> None:
    rng = np.random.default_rng(0)
    c = rng.uniform(0, 1, size=(20, 2))
    y = np.stack([1 + c[:, 0] - c[:, 0] ** 2, 2 - c[:, 1] ** 2 + c[:, 0] * c[:, 1]], axis=1)

    def refit(x: np.ndarray, m: np.ndarray) -> list:
        return fit_surrogates(x, m, True, "identity", "linear")

    np.testing.assert_allclose(front_heldout_error(c, y, True, refit), 0.0, atol=1e-9)
    assert np.all(np.isnan(front_heldout_error(c[:6], y[:6], True, refit)))  # too few to refit


def test_a_front_the_surrogates_miss_is_reported() -> None:
    front = amortized_front(ridge, 3, budget=30, seed=0, n_generations=20)
    assert any("at the evaluated front's merges" in w for w in front.warnings)
    report = front.fit_report()
    flagged = [row for row in report if (row["front_heldout_error_ratio"] or 0) > FRONT_LIMIT]
    assert flagged and all(row["poor_fit"] for row in flagged)
    again = AmortizedFront.from_dict(front.to_dict())
    assert again.fit_report() == report and again.warnings == front.warnings
