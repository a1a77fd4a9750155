"""Index formulas and the hypervolume of (climate, economic) points."""

from __future__ import annotations

import numpy as np
import pytest

from rice_n import climate_index, economic_index, hypervolume, pareto_front


def test_index_bounds() -> None:
    assert climate_index(7.006738662719727) == pytest.approx(0.0, abs=1e-12)
    assert climate_index(1.2506777048110962) == pytest.approx(1.0)
    assert economic_index(606.57275390625) == pytest.approx(0.0, abs=1e-12)
    assert economic_index(9673.5322265625) == pytest.approx(1.0)


def test_hypervolume_and_front() -> None:
    assert hypervolume([[0.5, 0.5]]) == pytest.approx(0.25)
    # two non-dominated points: union of two rectangles
    assert hypervolume([[0.2, 0.8], [0.6, 0.4]]) == pytest.approx(0.2 * 0.8 + 0.4 * 0.4)
    # a dominated point adds nothing
    assert hypervolume([[0.2, 0.8], [0.6, 0.4], [0.1, 0.1]]) == pytest.approx(0.32)
    front = pareto_front([[0.2, 0.8], [0.6, 0.4], [0.1, 0.1], [0.6, 0.3]])
    np.testing.assert_allclose(front, [[0.2, 0.8], [0.6, 0.4]])
    assert hypervolume([[-0.1, 0.5]]) == 0.0
    assert hypervolume([[1.0, 1.0]], reference=(0.5, 0.5)) == pytest.approx(0.25)
