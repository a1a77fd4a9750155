"""Where MAP evaluates the real models: one-hot points plus a random subset of a regular grid."""

from __future__ import annotations

import itertools
from typing import cast

import numpy as np


def default_budget(n_tasks: int) -> int:
    """(T+1)(T+2): twice the coefficients of a full quadratic (12, 20, 30 and 90 for T = 2, 3, 4, 8)."""
    return (n_tasks + 1) * (n_tasks + 2)


def _eligible_grid(n_tasks: int, levels: int) -> np.ndarray:
    """Grid points on [0,1]^T without one-hot points, points summing to 1 and all-equal points."""
    axis = np.linspace(0.0, 1.0, levels)
    if levels**n_tasks > 2_000_000:
        raise ValueError(f"a grid of {levels}^{n_tasks} points is too large to sample from")
    grid = np.array(list(itertools.product(axis, repeat=n_tasks)))
    sums_to_one = np.isclose(grid.sum(axis=1), 1.0)
    all_equal = np.all(np.isclose(grid, grid[:, :1]), axis=1)
    return cast(np.ndarray, grid[~(sums_to_one | all_equal)])


def initial_points(n_tasks: int, n_points: int | None = None, seed: int = 0) -> np.ndarray:
    """The T one-hot vectors plus a random subset of the finest-needed regular grid: (n_points, T)."""
    if n_tasks < 1:
        raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
    n_points = default_budget(n_tasks) if n_points is None else int(n_points)
    if n_points < n_tasks:
        raise ValueError(f"n_points={n_points} is below the {n_tasks} one-hot points")
    rng = np.random.default_rng(seed)
    needed = n_points - n_tasks
    levels = 3
    grid = _eligible_grid(n_tasks, levels)
    while len(grid) < needed:
        levels += 1
        grid = _eligible_grid(n_tasks, levels)
    chosen = grid[rng.choice(len(grid), size=needed, replace=False)]
    return np.concatenate([np.eye(n_tasks), chosen], axis=0)


def uniform_points(
    n_tasks: int, n_points: int, seed: int = 0, bounds: tuple[float, float] = (0.0, 1.0)
) -> np.ndarray:
    """Uniform random coefficient vectors in the box (the random-sampling baseline)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(bounds[0], bounds[1], size=(n_points, n_tasks))


def grid_points(n_tasks: int, levels: int, bounds: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """The full regular grid with ``levels`` values per task (the brute-force baseline): (levels^T, T)."""
    axis = np.linspace(bounds[0], bounds[1], levels)
    return np.array(list(itertools.product(axis, repeat=n_tasks)))
