"""Headline metrics of RICE-N runs (upstream ``evaluate_submission.py``) and the hypervolume of a front."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Upstream's index bounds: temperature rise of the worst / best climate runs (savings 1 / mitigation 1).
TEMPERATURE_RISE_WORST = 7.006738662719727
TEMPERATURE_RISE_BEST = 1.2506777048110962
#: Upstream's index bounds on total gross output (mitigation 1 run / savings 1 run).
GROSS_OUTPUT_WORST = 606.57275390625
GROSS_OUTPUT_BEST = 9673.5322265625


def climate_index(temperature_rise: Any) -> Any:
    """(TR - 7.0067) / (1.2507 - 7.0067): 0 for the worst climate run, 1 for the best."""
    tr = np.asarray(temperature_rise, dtype=np.float64)
    return (tr - TEMPERATURE_RISE_WORST) / (TEMPERATURE_RISE_BEST - TEMPERATURE_RISE_WORST)


def economic_index(gross_output: Any) -> Any:
    """(GO - 606.57) / (9673.53 - 606.57): 0 for the poorest run, 1 for the richest."""
    go = np.asarray(gross_output, dtype=np.float64)
    return (go - GROSS_OUTPUT_WORST) / (GROSS_OUTPUT_BEST - GROSS_OUTPUT_WORST)


def pareto_front(points: Any) -> np.ndarray:
    """The non-dominated rows of ``points`` (K, 2), both objectives maximized, sorted by the first."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pts.size == 0:
        return pts
    if not np.all(np.isfinite(pts)):
        raise ValueError("points must be finite")
    order = np.lexsort((-pts[:, 1], -pts[:, 0]))
    front, best = [], -np.inf
    for idx in order:
        if pts[idx, 1] > best:
            front.append(pts[idx])
            best = pts[idx, 1]
    return np.array(front)[::-1]


def hypervolume(points: Any, reference: tuple[float, float] = (0.0, 0.0)) -> float:
    """Area dominated by (climate, economic) points (both maximized) above ``reference``.

    Upstream ranks submissions by this hypervolume of the Pareto front in (climate index, economic
    index) space, with reference (0, 0) (the worst point of each index).
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ref = np.asarray(reference, dtype=np.float64)
    pts = pts[np.all(pts > ref, axis=1)]
    if pts.size == 0:
        return 0.0
    front = pareto_front(pts)  # ascending in x, descending in y
    xs = np.concatenate([[ref[0]], front[:, 0]])
    return float(np.sum((xs[1:] - xs[:-1]) * (front[:, 1] - ref[1])))
