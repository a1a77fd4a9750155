"""Sweeps over depth x width x intervention x seed: parallel processes, or Ray Tune when installed.

Depths are given in Linear layers of the plain network (the paper's 4/8/12); residual and multi-skip
variants get the matching number of blocks, ``(layers - 2) // 2`` (1/3/5), as in the paper.
Each run goes to ``OUT/runs/<name>/`` (see :mod:`stable_grad_rl.train`); finished runs are skipped, so
a sweep is resumable. ``OUT/results.json`` collects the summaries.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stable_grad_rl.networks import NetworkConfig
from stable_grad_rl.train import TrainConfig, atomic_write_json, run_training

#: intervention name -> (MLP kind, LayerNorm, optimizer or None for the algorithm's baseline)
INTERVENTIONS: dict[str, tuple[str, bool, str | None]] = {
    "baseline": ("plain", False, None),
    "ln": ("plain", True, None),
    "residual": ("residual", True, None),
    "multiskip": ("multiskip", True, None),
    "kron": ("plain", False, "kron"),
    "all": ("multiskip", True, "kron"),
}


def blocks_for_layers(layers: int) -> int:
    """Residual blocks matching a plain network of ``layers`` Linear layers (4 -> 1, 8 -> 3, 12 -> 5)."""
    return max((layers - 2) // 2, 0)


def intervention_network(
    name: str, layers: int, width: int, base: NetworkConfig | None = None
) -> tuple[NetworkConfig, str | None]:
    """Network config and optimizer override of intervention ``name`` at ``layers`` depth and ``width``."""
    if name not in INTERVENTIONS:
        raise ValueError(f"unknown intervention {name!r}; expected one of {sorted(INTERVENTIONS)}")
    kind, ln, opt = INTERVENTIONS[name]
    depth = blocks_for_layers(layers) if kind in ("residual", "multiskip") else layers
    net = replace(base or NetworkConfig(), kind=kind, layernorm=ln, depth=depth, width=width)
    return net.validate(), opt


@dataclass
class SweepConfig:
    """The grid of a sweep."""

    algo: str = "nonstationary"
    env: str = "CartPole-v1"
    depths: tuple[int, ...] = (4, 8, 12)
    widths: tuple[int, ...] = (128,)
    interventions: tuple[str, ...] = ("baseline", "multiskip", "kron", "all")
    seeds: tuple[int, ...] = (0, 1, 2)
    lr: float | None = None
    algo_config: dict[str, Any] = field(default_factory=dict)
    base_network: NetworkConfig = field(default_factory=NetworkConfig)
    device: str = "cpu"
    log_every: int = 1
    diag_every: int = 10

    def runs(self) -> list[tuple[str, TrainConfig]]:
        """``(name, config)`` of every run in the grid."""
        out = []
        for depth, width, inter, seed in itertools.product(
            self.depths, self.widths, self.interventions, self.seeds
        ):
            net, opt = intervention_network(inter, depth, width, self.base_network)
            cfg = TrainConfig(
                algo=self.algo, env=self.env, network=net, optimizer=opt, lr=self.lr, seed=seed,
                algo_config=dict(self.algo_config), device=self.device, log_every=self.log_every,
                diag_every=self.diag_every,
            ).validate()  # fmt: skip
            out.append((f"{inter}_L{depth}_W{width}_s{seed}", cfg))
        return out


def _run_one(args: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    name, cfg_dict, out = args
    cfg = TrainConfig.from_dict(cfg_dict)
    summary = run_training(cfg, Path(out) / "runs" / name, resume=True, progress=False)
    return {
        "name": name,
        "intervention": name.split("_")[0],
        "layers": int(name.split("_L")[1].split("_")[0]),
        **summary,
    }


def run_sweep(config: SweepConfig, out: str | Path, workers: int = 1) -> list[dict[str, Any]]:
    """Run every grid point (``workers`` processes, spawn start method); return and save the summaries."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, cfg.to_dict(), str(out)) for name, cfg in config.runs()]
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        results = [_run_one(job) for job in jobs]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_run_one, jobs))
    atomic_write_json(out / "results.json", results)
    return results


def run_sweep_ray(config: SweepConfig, out: str | Path, cpus_per_trial: float = 1.0) -> list[dict[str, Any]]:
    """Run the grid through Ray Tune (``pip install 'ray[tune]'``); same run folders and results file."""
    try:
        from ray import tune
    except ImportError as err:
        raise ImportError("run_sweep_ray needs Ray Tune: pip install 'ray[tune]'") from err
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    jobs = {name: cfg.to_dict() for name, cfg in config.runs()}

    def trainable(params: dict[str, Any]) -> dict[str, Any]:
        result = _run_one((params["name"], jobs[params["name"]], str(out)))
        return {k: v for k, v in result.items() if isinstance(v, (int, float)) and v is not None}

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus_per_trial}),
        param_space={"name": tune.grid_search(sorted(jobs))},
        run_config=tune.RunConfig(storage_path=str(out / "ray"), name="sweep"),
    )
    tuner.fit()
    results = [
        json.loads((out / "runs" / n / "summary.json").read_text()) | {"name": n} for n in sorted(jobs)
    ]
    for r in results:
        r["intervention"] = r["name"].split("_")[0]
        r["layers"] = int(r["name"].split("_L")[1].split("_")[0])
    atomic_write_json(out / "results.json", results)
    return results


def collect_results(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """Summaries of every finished run under ``sweep_dir/runs`` (all sweeps written into that folder)."""
    results = []
    for summary in sorted(Path(sweep_dir).glob("runs/*/summary.json")):
        name = summary.parent.name
        record = json.loads(summary.read_text())
        record.update(
            name=name, intervention=name.split("_")[0], layers=int(name.split("_L")[1].split("_")[0])
        )
        results.append(record)
    return results


def aggregate(results: list[dict[str, Any]], metric: str) -> dict[str, dict[int, dict[str, float]]]:
    """Mean, std and count of ``metric`` per intervention and depth (widths pooled)."""
    import numpy as np

    table: dict[str, dict[int, list[float]]] = {}
    for r in results:
        value = r.get(metric)
        if value is not None:
            table.setdefault(r["intervention"], {}).setdefault(r["layers"], []).append(float(value))
    return {
        inter: {
            d: {"mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v)}
            for d, v in sorted(by.items())
        }
        for inter, by in table.items()
    }
