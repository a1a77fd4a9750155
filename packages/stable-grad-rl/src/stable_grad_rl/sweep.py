"""Sweeps over depth x width x intervention x seed: parallel processes, or Ray Tune when installed.

Depths are given in Linear layers of the plain network (the paper's 4/8/12); residual and multi-skip
variants get the matching number of blocks, ``(layers - 2) // 2`` (1/3/5), as in the paper.
Each grid point is a run folder ``OUT/<name>/`` (see :mod:`stable_grad_rl.rundir`), the same for the
local engine (a process pool whose workers die with their parent) and the Ray engine (one Ray Tune trial
per grid point). ``OUT/sweep.json`` records the grid; ``--resume`` skips finished trials and continues
unfinished ones from their checkpoints. ``OUT/results.json`` collects the summaries.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from stable_grad_rl import __version__
from stable_grad_rl.folders import check_folder, remove_leftovers, staging_path, write_marker
from stable_grad_rl.networks import NetworkConfig
from stable_grad_rl.ray_address import reach_address, start_ray
from stable_grad_rl.rundir import (
    atomic_write_json,
    clean_json,
    finish_run,
    inspect_run,
    read_json_file,
)
from stable_grad_rl.train import TrainConfig, run_training

#: intervention name -> (MLP kind, LayerNorm, optimizer or None for the algorithm's baseline)
INTERVENTIONS: dict[str, tuple[str, bool, str | None]] = {
    "baseline": ("plain", False, None),
    "ln": ("plain", True, None),
    "residual": ("residual", True, None),
    "multiskip": ("multiskip", True, None),
    "kron": ("plain", False, "kron"),
    "all": ("multiskip", True, "kron"),
}
"""Sweep interventions by name: (network kind, LayerNorm on, optimizer override or None)."""


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["base_network"] = self.base_network.to_dict()
        return d

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


def _trial_record(name: str, summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "intervention": name.split("_")[0],
        "layers": int(name.split("_L")[1].split("_")[0]),
        **summary,
    }


#: The marker kind of a sweep folder.
SWEEP_KIND = "sweep"
_PARENT_PID: int | None = None


def _parent_guard() -> None:
    """Exit a pool worker at once (writing nothing more) if the process that started it is gone."""
    if _PARENT_PID is not None and os.getppid() != _PARENT_PID:
        os._exit(1)


def _worker_init(parent_pid: int) -> None:
    """Pool initializer: die with the parent (Linux ``PR_SET_PDEATHSIG``), one torch thread."""
    global _PARENT_PID
    _PARENT_PID = parent_pid
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    _parent_guard()


def run_trial(name: str, cfg_dict: dict[str, Any], out: str) -> dict[str, Any]:
    """Run (or resume, or return the finished) grid point ``name`` into ``out/name``; its result record."""
    import torch

    torch.set_num_threads(1)
    cfg = TrainConfig.from_dict(cfg_dict)
    summary = run_training(cfg, Path(out) / name, resume=True, progress=False, guard=_parent_guard)
    return _trial_record(name, summary)


def _run_trial_job(job: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    return run_trial(*job)


def check_sweep(
    config: SweepConfig, out: str | Path, *, resume: bool = False, overwrite: bool = False
) -> tuple[list[tuple[str, TrainConfig]], bool]:
    """Validate sweep folder ``out`` and every grid point, writing nothing; return the grid and whether
    ``out`` holds an earlier sweep.

    A folder holding this package's sweep marker is refused unless ``resume`` (same grid: finished trials
    are skipped, unfinished ones continue from their checkpoints) or ``overwrite`` (a new sweep is built
    beside it and swapped in once complete). Any other non-empty folder is refused.
    """
    out = Path(out)
    runs = config.runs()
    existing = check_folder(out, SWEEP_KIND, resume=resume, overwrite=overwrite)
    if existing and resume and (out / "sweep.json").exists():
        old = read_json_file(out / "sweep.json", "sweep file")
        if not isinstance(old, dict) or not isinstance(old.get("grid"), dict):
            raise ValueError(f"{out / 'sweep.json'} holds no 'grid' object")
        if old["grid"] != clean_json(config.to_dict()):
            raise ValueError(f"--resume: the grid in {out / 'sweep.json'} differs from the requested one")
        for name, cfg in runs:
            inspect_run(out / name, cfg.to_dict(), resume=True, overwrite=False, device=cfg.device)
    return runs, existing


def prepare_sweep(
    config: SweepConfig, out: str | Path, *, resume: bool = False, overwrite: bool = False
) -> tuple[list[tuple[str, TrainConfig]], Path]:
    """Validate (:func:`check_sweep`), then create the folder to run in: ``out`` (marker first), or with
    ``overwrite`` of an earlier sweep a staging folder beside it. Return the grid and that folder."""
    out = Path(out)
    runs, existing = check_sweep(config, out, resume=resume, overwrite=overwrite)
    remove_leftovers(out)
    work = staging_path(out) if existing and overwrite else out
    write_marker(work, SWEEP_KIND)
    grid = clean_json(config.to_dict())
    atomic_write_json(
        work / "sweep.json", {"grid": grid, "trials": [n for n, _ in runs], "version": __version__}
    )
    return runs, work


def run_sweep(
    config: SweepConfig,
    out: str | Path,
    workers: int = 1,
    *,
    resume: bool = False,
    overwrite: bool = False,
) -> list[dict[str, Any]]:
    """Run every grid point into ``out/<name>/`` in ``workers`` local processes; return and save results.

    The pool's workers die with this process (``PR_SET_PDEATHSIG``) and check their parent before every
    write. See :func:`prepare_sweep` for ``resume`` and ``overwrite``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be an integer >= 1, got {workers!r}")
    runs, work = prepare_sweep(config, out, resume=resume, overwrite=overwrite)
    jobs = [(name, cfg.to_dict(), str(work)) for name, cfg in runs]
    if workers == 1:
        results = [_run_trial_job(job) for job in jobs]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
        ) as pool:
            results = list(pool.map(_run_trial_job, jobs))
    atomic_write_json(work / "results.json", results)
    finish_run(work, Path(out))
    return results


def _import_tune() -> Any:
    try:
        from ray import tune
    except ImportError as err:
        raise ImportError('the ray engine needs Ray Tune: pip install "stable-grad-rl[ray]"') from err
    return tune


def run_sweep_ray(
    config: SweepConfig,
    out: str | Path,
    *,
    address: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    cpus_per_trial: float = 1.0,
) -> list[dict[str, Any]]:
    """Run the grid through Ray Tune: one Tune trial per grid point, writing the same ``out/<name>/``
    run folder (and ``results.json``) as :func:`run_sweep`.

    ``address`` (``HOST:PORT``, ``ray://HOST:PORT`` or an explicit ``auto``) connects to an existing
    cluster; it is resolved and reached within a few seconds before anything is created (else a one-line
    ``ValueError``). By default a local Ray instance on 127.0.0.1 is started unless one is already running
    in this process. Tune's own bookkeeping goes to a
    temporary folder, so ``out`` is identical to a local sweep's. A re-run with ``resume`` continues
    unfinished trials from their checkpoints and returns finished ones as they are.
    """
    if address:
        reach_address(address)  # before anything is created
    tune = _import_tune()
    out = Path(out).resolve()
    check_sweep(config, out, resume=resume, overwrite=overwrite)
    start_ray(address)
    runs, work = prepare_sweep(config, out, resume=resume, overwrite=overwrite)
    jobs = {name: cfg.to_dict() for name, cfg in runs}
    out_str = str(work)

    def trainable(params: dict[str, Any]) -> None:
        record = run_trial(params["name"], jobs[params["name"]], out_str)
        tune.report({k: v for k, v in record.items() if isinstance(v, (int, float)) and v is not None})

    storage = tempfile.mkdtemp(prefix="stable-grad-rl-tune-")
    try:
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": cpus_per_trial}),
            param_space={"name": tune.grid_search(list(jobs))},
            run_config=tune.RunConfig(storage_path=storage, name="sweep", verbose=0),
        )
        grid = tuner.fit()
    finally:
        shutil.rmtree(storage, ignore_errors=True)
    if grid.errors:
        raise RuntimeError(f"{len(grid.errors)} Tune trial(s) failed; first: {grid.errors[0]}")
    results = [_trial_record(n, json.loads((work / n / "summary.json").read_text())) for n in jobs]
    atomic_write_json(work / "results.json", results)
    finish_run(work, out)
    return results


def collect_results(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """Summaries of every finished run ``sweep_dir/<name>/``."""
    results = []
    for summary in sorted(Path(sweep_dir).glob("*/summary.json")):
        results.append(_trial_record(summary.parent.name, json.loads(summary.read_text())))
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
