"""Sweeps over network size x sparsity x seed: parallel processes on one machine, or Ray Tune."""

from __future__ import annotations

import csv
import io
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sparse_drl.allocation import check_sparsity
from sparse_drl.io import atomic_write_text, write_json

__all__ = ["SweepRun", "expand_grid", "parse_size", "run_sweep", "summarize"]

TABLE_COLUMNS = [
    "name",
    "size",
    "sparsity",
    "seed",
    "total_params",
    "total_effective_params",
    "final_eval_return",
    "mean_last3_eval_return",
    "final_critic_dormant_0.1",
    "final_critic_srank",
    "pruned_zero_frac",
]


@dataclass(frozen=True)
class SweepRun:
    """One point of the grid."""

    name: str
    size: str
    sparsity: float
    seed: int
    options: dict[str, Any]


def parse_size(text: str) -> tuple[int, int]:
    """``"256x2"`` -> (width 256, depth 2)."""
    try:
        width, depth = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise ValueError(f"size must look like WIDTHxDEPTH (e.g. 256x2), got {text!r}") from err
    if width < 1 or depth < 0:
        raise ValueError(f"size must have width >= 1 and depth >= 0, got {text!r}")
    return width, depth


def expand_grid(
    agent: str, base: dict[str, Any], sizes: list[str], sparsities: list[float], seeds: list[int]
) -> list[SweepRun]:
    """Every (size, sparsity, seed) with its agent options (size and sparsity go to the critic/Q-net and,
    for SAC, the sparsity to the actor too)."""
    runs = []
    for size in sizes:
        width, depth = parse_size(size)
        for s in sparsities:
            s = check_sparsity(s)
            for seed in seeds:
                opts = dict(base, seed=int(seed))
                if agent == "sac":
                    opts.update(critic_width=width, critic_depth=depth, critic_sparsity=s, actor_sparsity=s)
                else:
                    opts.update(width=width, depth=depth, critic_sparsity=s)
                runs.append(SweepRun(f"{size}_s{s:g}_seed{seed}", size, s, int(seed), opts))
    return runs


def _run_one(agent: str, run: SweepRun, out: str) -> dict[str, Any]:
    import torch

    from sparse_drl.runner import run_training

    torch.set_num_threads(1)
    summary = run_training(
        agent, run.options, Path(out) / "runs" / run.name, resume=True, show_progress=False
    )
    return {"name": run.name, "size": run.size, "sparsity": run.sparsity, "seed": run.seed, **summary}


def _run_ray(agent: str, runs: list[SweepRun], out: str, workers: int) -> list[dict[str, Any]]:
    try:
        from ray import tune
    except ImportError as err:
        raise ImportError("the Ray backend needs the extra: pip install 'sparse-drl[ray]'") from err
    by_name = {r.name: r for r in runs}
    out_abs = str(Path(out).resolve())

    import ray

    major, minor = (int(v) for v in ray.__version__.split(".")[:2])
    if (major, minor) >= (2, 41):
        report = tune.report  # the Tune-native API of recent Ray
    else:
        from ray import train

        report = train.report

    def trainable(config: dict[str, Any]) -> None:
        row = _run_one(agent, by_name[config["name"]], out_abs)
        report({k: v for k, v in row.items() if isinstance(v, (int, float, str))})

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"name": tune.grid_search(list(by_name))},
        tune_config=tune.TuneConfig(max_concurrent_trials=workers),
        run_config=tune.RunConfig(storage_path=str(Path(out_abs) / "ray"), name="sweep")
        if hasattr(tune, "RunConfig")
        else None,
    )
    results = tuner.fit()
    rows = []
    for res in results:
        if res.error is not None:
            raise RuntimeError(f"ray trial failed: {res.error}")
        name = res.config["name"]
        rows.append(_run_one(agent, by_name[name], out_abs))  # reads the finished summary (resume)
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of each (size, sparsity)."""
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["size"], row["sparsity"]), []).append(row)
    out = []
    for (size, s), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        rets = [g["mean_last3_eval_return"] for g in group if g.get("mean_last3_eval_return") is not None]
        dorm = [g["final_critic_dormant_0.1"] for g in group if g.get("final_critic_dormant_0.1") is not None]
        mean = sum(rets) / len(rets) if rets else None
        std = math.sqrt(sum((r - mean) ** 2 for r in rets) / len(rets)) if rets else None
        out.append(
            {
                "size": size,
                "sparsity": s,
                "seeds": len(group),
                "total_params": group[0].get("total_params"),
                "total_effective_params": group[0].get("total_effective_params"),
                "return_mean": mean,
                "return_std": std,
                "dormant_0.1_mean": sum(dorm) / len(dorm) if dorm else None,
            }
        )
    return out


def run_sweep(
    agent: str,
    base: dict[str, Any],
    sizes: list[str],
    sparsities: list[float],
    seeds: list[int],
    out: str | os.PathLike[str],
    *,
    workers: int = 1,
    backend: str = "process",
) -> dict[str, Any]:
    """Run the grid (``backend="process"``: a process pool of ``workers``; ``"ray"``: Ray Tune) and write
    ``out/sweep.csv`` (one row per run) and ``out/sweep.json`` (rows and per-(size, sparsity) means).
    Finished runs are skipped on a re-run (each run resumes from its own checkpoint)."""
    if backend not in ("process", "ray"):
        raise ValueError(f"backend must be 'process' or 'ray', got {backend!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    runs = expand_grid(agent, base, sizes, sparsities, seeds)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if backend == "ray":
        rows = _run_ray(agent, runs, str(out), workers)
    elif workers == 1:
        rows = [_run_one(agent, r, str(out)) for r in runs]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            rows = list(pool.map(_run_one, [agent] * len(runs), runs, [str(out)] * len(runs)))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TABLE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "sweep.csv", buf.getvalue())
    result = {"agent": agent, "rows": rows, "summary": summarize(rows)}
    write_json(out / "sweep.json", result)
    return result
