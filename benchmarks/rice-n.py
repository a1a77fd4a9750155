"""Benchmark of rice-n: single-env steps/s, batched episode-steps/s, memory of the batch env.

    python benchmarks/rice-n.py                  # full run (about a minute)
    python benchmarks/rice-n.py --quick          # fewer repeats
    python benchmarks/rice-n.py --out bench.json

Prints (and with --out writes) a JSON object. Every rate is the best of several repeats, given both per
wall-clock second and per CPU-second of this process (``*_per_cpu_s``): on a shared machine the wall
rate depends on the other load, the CPU rate is the per-core figure. Upstream's Python env runs about
31 env steps/s on one core (facts file, section 5); the issue's targets are >= 3,000 single-env steps/s
and >= 200,000 episode-steps/s with 1,024 episodes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import rice_n

N = 27


def best_rate(run_episode: Callable[[], int], repeats: int, per: int = 1) -> dict[str, float]:
    """Best (steps * per) / second over ``repeats`` calls of ``run_episode`` (which returns its steps)."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        steps = run_episode()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        best_wall, best_cpu = min(best_wall, wall / steps), min(best_cpu, max(cpu, 1e-9) / steps)
    return {"per_wall_s": per / best_wall, "per_cpu_s": per / best_cpu}


def bench_parallel_env(repeats: int) -> dict[str, float]:
    """PettingZoo ParallelEnv, 27 agents, dict actions and observations (masks included)."""
    env = rice_n.parallel_env()
    rng = np.random.default_rng(0)
    actions = {f"region_{i}": rng.integers(0, 10, 57) for i in range(N)}

    def episode() -> int:
        env.reset()
        steps = 0
        while env.agents:
            env.step(actions)
            steps += 1
        return steps

    return best_rate(episode, repeats)


def bench_batch(
    num_envs: int, repeats: int, observe: bool, backend: str = "numpy", dtype: Any = None
) -> dict:
    """BatchRiceEnv: episode-steps/s with integer actions (B, 27, 57)."""
    env = rice_n.BatchRiceEnv(num_envs=num_envs, observe=observe, backend=backend)
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 10, (num_envs, N, 57), dtype=dtype or np.int64)
    if backend == "torch":
        import torch

        torch.set_num_threads(1)
        acts = torch.as_tensor(acts)

    def episode() -> int:
        env.reset()
        for _ in range(env.episode_length):
            env.step(acts)
        return env.episode_length

    return best_rate(episode, repeats, per=num_envs)


def state_bytes(env: rice_n.BatchRiceEnv) -> int:
    """Bytes held by the env's current state arrays."""
    return int(sum(getattr(v, "nbytes", 0) for v in vars(env.state).values()))


def bench_memory(num_envs: int) -> dict[str, Any]:
    """State size and traced peak of a 20-step episode (no history kept unless record=True)."""
    env = rice_n.BatchRiceEnv(num_envs=num_envs, observe=False)
    acts = np.random.default_rng(0).integers(0, 10, (num_envs, N, 57))
    env.reset()
    tracemalloc.start()
    for _ in range(env.episode_length):
        env.step(acts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "num_envs": num_envs,
        "state_mib": state_bytes(env) / 2**20,
        "peak_traced_mib_during_episode": peak / 2**20,
        "history_len_without_record": len(env.history),
    }


def index_bounds() -> dict[str, float]:
    """Upstream's two index-bound runs (savings 1.0 / mitigation 1.0)."""
    out = {}
    for name, slot in (("worst_climate", 0), ("best_climate", 1)):
        env = rice_n.BatchRiceEnv(num_envs=1, observe=False)
        env.reset()
        f = np.zeros((1, N, 57))
        f[..., slot] = 1.0
        for _ in range(20):
            env.step_unchecked(f)
        m = env.episode_metrics()
        out[name] = {
            "temperature_rise": float(m["temperature_rise"][0]),
            "gross_output": float(m["gross_output"][0]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    parser.add_argument("--torch", action="store_true", help="also time the torch backend on the CPU")
    args = parser.parse_args(argv)
    reps = 3 if args.quick else 7
    results: dict[str, Any] = {
        "rice_n_version": rice_n.__version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "load_average_at_start": os.getloadavg(),
        "upstream_env_steps_per_s": 31,
        "index_bounds": index_bounds(),
    }
    results["parallel_env_steps"] = bench_parallel_env(reps)
    results["batch_1_env_steps_obs"] = bench_batch(1, reps, observe=True)
    results["batch_1024_episode_steps_no_obs"] = bench_batch(1024, reps, observe=False)
    results["batch_1024_episode_steps_no_obs_int8_actions"] = bench_batch(
        1024, reps, observe=False, dtype=np.int8
    )
    results["batch_1024_episode_steps_with_obs"] = bench_batch(1024, max(2, reps // 2), observe=True)
    results["batch_64_episode_steps_with_obs"] = bench_batch(64, reps, observe=True)
    if args.torch:
        results["torch_cpu_batch_1024_no_obs"] = bench_batch(1024, reps, observe=False, backend="torch")
    results["memory"] = bench_memory(1024)
    results["load_average_at_end"] = os.getloadavg()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
