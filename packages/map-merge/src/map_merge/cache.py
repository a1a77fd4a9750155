"""Evaluations cached on disk by coefficient vector, so an interrupted run resumes without re-evaluating."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

Evaluate = Callable[[np.ndarray], np.ndarray]


def _key(c: np.ndarray) -> tuple[float, ...]:
    return tuple(float(x) for x in np.round(np.asarray(c, dtype=np.float64), 10))


class CachedEvaluator:
    """Wraps ``evaluate(c) -> metrics (T,)``: checks its output, counts real calls, and (with a path)
    appends every result to a JSON-lines file that is read back on the next run. ``used`` holds the
    distinct points asked for in this run (cached or not); ``n_calls`` the real calls made.

    A torn last line (a run killed mid-write) is ignored on reading.
    """

    def __init__(self, evaluate: Evaluate, n_tasks: int, path: str | Path | None = None) -> None:
        self.evaluate = evaluate
        self.n_tasks = n_tasks
        self.path = Path(path) if path is not None else None
        self.results: dict[tuple[float, ...], np.ndarray] = {}
        self.n_calls = 0
        self.used: set[tuple[float, ...]] = set()
        if self.path is not None and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                    self.results[_key(np.array(record["c"]))] = np.array(record["y"], dtype=np.float64)
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue

    def __call__(self, c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.float64)
        key = _key(c)
        self.used.add(key)
        if key in self.results:
            return self.results[key]
        y = np.asarray(self.evaluate(c.copy()), dtype=np.float64)
        if y.shape != (self.n_tasks,):
            raise ValueError(f"evaluate({c.tolist()}) returned shape {y.shape}, expected ({self.n_tasks},)")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"evaluate({c.tolist()}) returned non-finite metrics {y.tolist()}")
        self.n_calls += 1
        self.results[key] = y
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(json.dumps({"c": c.tolist(), "y": y.tolist()}) + "\n")
                file.flush()
                os.fsync(file.fileno())
        return y

    def many(self, points: np.ndarray, progress: bool = False, desc: str = "evaluations") -> np.ndarray:
        """Evaluate each row of points (N, T) -> (N, T), with an optional progress bar."""
        rows = points
        if progress:
            from tqdm.auto import tqdm

            rows = tqdm(points, desc=desc, leave=False)
        return np.array([self(c) for c in rows]).reshape(len(points), self.n_tasks)
