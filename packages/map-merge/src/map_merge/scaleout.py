"""The Ray engine of `map-merge front --engine ray`: a round's merges evaluated in parallel by actors that
each load the base and the task vectors once."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, cast

import numpy as np

from map_merge.config import FrontConfig, build_objective


class _Worker:
    """One actor: builds the config's MergeObjective once (one thread), then evaluates batches."""

    def __init__(self, config: dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(1)
        self.objective = build_objective(FrontConfig(**config))

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """Metrics (N, T) of the merges at points (N, T)."""
        return np.array([self.objective(c) for c in points]).reshape(len(points), -1)


class RayObjective:
    """``objective(c)`` and ``objective.evaluate_many(points)`` backed by Ray actors.

    Points are dealt round-robin to the actors and the answers put back in the points' order, so the
    results (and the cache file and front.json) equal the local engine's for deterministic evaluators.
    Connects to ``address`` or starts a local Ray instance.
    """

    def __init__(self, config: FrontConfig, address: str | None = None, n_workers: int | None = None) -> None:
        if address is None:  # read when Ray is imported: a local node stays on 127.0.0.1
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        import ray

        if not ray.is_initialized():
            where: dict[str, Any] = (
                {"address": address} if address else {"address": "local", "_node_ip_address": "127.0.0.1"}
            )
            ray.init(include_dashboard=False, log_to_driver=False, **where)
        n = n_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
        actor: Any = ray.remote(num_cpus=1)(_Worker)
        self._ray = ray
        self.workers = [actor.remote(dataclasses.asdict(config)) for _ in range(n)]

    def evaluate_many(self, points: np.ndarray) -> np.ndarray:
        """Metrics (N, T) of the merges at points (N, T), evaluated in parallel."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        n = min(len(self.workers), len(points))
        parts = self._ray.get([self.workers[k].evaluate.remote(points[k::n]) for k in range(n)])
        out = np.empty((len(points), parts[0].shape[1]))
        for k, part in enumerate(parts):
            out[k::n] = part
        return out

    def __call__(self, c: np.ndarray) -> np.ndarray:
        """Metrics (T,) of one merge."""
        return cast(np.ndarray, self.evaluate_many(np.asarray(c, dtype=np.float64)[None, :])[0])
