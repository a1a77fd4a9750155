"""Evaluations cached on disk, keyed by everything that determines a result: the run's context (models'
fingerprints, evaluator) and the coefficient vector. An interrupted run resumes without re-evaluating;
a cache written for other models or another evaluator is refused, never silently reused."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

Evaluate = Callable[[np.ndarray], np.ndarray]


def _key(c: np.ndarray) -> tuple[float, ...]:
    return tuple(float(x) for x in np.round(np.asarray(c, dtype=np.float64), 10))


def file_digest(path: str | Path) -> str:
    """BLAKE2b digest (hex, 32 characters) of a file's bytes."""
    digest = hashlib.blake2b(digest_size=16)
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def callable_fingerprint(fn: object) -> dict[str, object]:
    """Identity of an evaluator: its module, qualified name and the digest of its source file, plus what
    it declares itself through a ``fingerprint()`` method (e.g. a digest of the data it reads)."""
    target = fn if inspect.isroutine(fn) or inspect.isclass(fn) else type(fn)
    record: dict[str, object] = {
        "name": f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', '?')}"
    }
    try:
        source = inspect.getsourcefile(target)
    except TypeError:
        source = None
    if source and Path(source).is_file():
        record["source"] = file_digest(source)
    declared = getattr(fn, "fingerprint", None)
    if callable(declared):
        record["declared"] = json.loads(json.dumps(declared(), default=str))
    return record


def describe(evaluate: object) -> dict[str, object]:
    """The default cache context of an evaluate callable: its own ``fingerprint()`` if it has one
    (``MergeObjective`` hashes its models and names its evaluator), else its name and source digest."""
    fingerprint = getattr(evaluate, "fingerprint", None)
    return fingerprint() if callable(fingerprint) else {"evaluate": callable_fingerprint(evaluate)}


class CachedEvaluator:
    """Wraps ``evaluate(c) -> metrics (T,)``: checks its output, counts real calls, and (with a path)
    appends every result to a JSON-lines file that is read back on the next run. ``used`` holds the
    distinct points asked for in this run (cached or not); ``n_calls`` the real calls made.

    The file's first line records ``context`` (a JSON object); reading a file whose context differs is a
    ValueError naming the differing entries. A torn last line (a run killed mid-write) is ignored.
    If ``evaluate`` has a method ``evaluate_many(points) -> (N, T)``, ``many`` hands it all uncached
    points of a round at once (parallel engines).
    """

    def __init__(
        self,
        evaluate: Evaluate,
        n_tasks: int,
        path: str | Path | None = None,
        context: dict[str, object] | None = None,
    ) -> None:
        self.evaluate = evaluate
        self.n_tasks = n_tasks
        self.path = Path(path) if path is not None else None
        if context is None and self.path is not None:  # described only when a file records it
            context = describe(evaluate)
        self.context = json.loads(json.dumps(context if context is not None else {}))
        self.results: dict[tuple[float, ...], np.ndarray] = {}
        self.n_calls = 0
        self.used: set[tuple[float, ...]] = set()
        self._has_header = False
        if self.path is not None and self.path.is_file():
            self._read()

    def _read(self) -> None:
        assert self.path is not None
        lines = self.path.read_text(encoding="utf-8").splitlines()
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        if not records:
            return
        header = records[0] if isinstance(records[0], dict) else {}
        if header.get("context") != self.context:
            found = header.get("context")
            differ = (
                sorted(k for k in set(found) | set(self.context) if found.get(k) != self.context.get(k))
                if isinstance(found, dict)
                else ["no context recorded"]
            )
            raise ValueError(
                f"{self.path} holds evaluations of another run (differs in: {', '.join(map(str, differ))}); "
                "use a new output folder or remove the file"
            )
        self._has_header = True
        for record in records[1:]:
            try:
                c, y = np.array(record["c"], dtype=np.float64), np.array(record["y"], dtype=np.float64)
            except (KeyError, TypeError, ValueError):
                continue
            if c.shape == y.shape == (self.n_tasks,) and np.all(np.isfinite(y)):
                self.results[_key(c)] = y

    def _check(self, c: np.ndarray, y: object) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (self.n_tasks,):
            raise ValueError(f"evaluate({c.tolist()}) returned shape {y.shape}, expected ({self.n_tasks},)")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"evaluate({c.tolist()}) returned non-finite metrics {y.tolist()}")
        return y

    def _store(self, c: np.ndarray, y: np.ndarray) -> None:
        self.n_calls += 1
        self.results[_key(c)] = y
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            if not self._has_header:
                file.write(json.dumps({"context": self.context}) + "\n")
                self._has_header = True
            file.write(json.dumps({"c": c.tolist(), "y": y.tolist()}) + "\n")
            file.flush()
            os.fsync(file.fileno())

    def __call__(self, c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.float64)
        key = _key(c)
        self.used.add(key)
        if key not in self.results:
            self._store(c, self._check(c, self.evaluate(c.copy())))
        return self.results[key]

    def many(self, points: np.ndarray, progress: bool = False, desc: str = "evaluations") -> np.ndarray:
        """Evaluate each row of points (N, T) -> (N, T); uncached points go to ``evaluate_many`` in one
        batch when the callable has it, else one by one (with an optional progress bar)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, self.n_tasks)
        batch = getattr(self.evaluate, "evaluate_many", None)
        if callable(batch):
            todo, seen = [], set()
            for c in points:
                if _key(c) not in self.results and _key(c) not in seen:
                    seen.add(_key(c))
                    todo.append(c)
            if todo:
                if progress:
                    print(f"{desc}: {len(todo)} merges in parallel", flush=True)
                for c, y in zip(todo, np.asarray(batch(np.array(todo))), strict=True):
                    self._store(c, self._check(c, y))
            rows = points
        elif progress:
            from tqdm.auto import tqdm

            rows = tqdm(points, desc=desc, leave=False)
        else:
            rows = points
        return np.array([self(c) for c in rows]).reshape(len(points), self.n_tasks)
