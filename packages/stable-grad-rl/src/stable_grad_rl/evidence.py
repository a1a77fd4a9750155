"""``stable-grad-rl evidence``: the depth study with controls, one command, resumable cell by cell.

Arms (every one at its own best learning rate from a small sweep at one depth, then at every depth with
the same seeds): ``plain`` (ReLU MLP, no normalisation), ``ln`` (the same MLP with LayerNorm: the control
for multi-skip), ``multiskip`` (multi-skip residual + LayerNorm) and ``kron`` (multi-skip + LayerNorm +
the Kron optimizer). Depths are Linear layers of the plain network (residual arms get
``(layers - 2) // 2`` blocks, as in :mod:`stable_grad_rl.sweep`).

Output folder::

    .stable-grad-rl-run.json   ownership marker (kind "evidence"), written first
    evidence.json              the requested grid (a --resume may change it, not the cells' settings)
    cells/<cell>.json          one finished cell each (written atomically: a kill loses only running cells)
    results.json, table.md, evidence.png   written at the end (see :mod:`stable_grad_rl.evidence_report`)

A cell runs in a scratch folder ``.cell-<name>.tmp-<pid>`` removed once its record is written; a rerun
removes scratch folders of dead processes. Unfinished cells restart from scratch (MinAtar's state cannot
be checkpointed exactly), so a resumed evidence run has the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from stable_grad_rl import __version__
from stable_grad_rl.atomic import atomic_write_json, clean_json
from stable_grad_rl.folders import check_folder, remove_leftovers, staging_path, swap_in, write_marker
from stable_grad_rl.sweep import _parent_guard, _worker_init, intervention_network

#: evidence arm -> sweep intervention
ARMS: dict[str, str] = {"plain": "baseline", "ln": "ln", "multiskip": "multiskip", "kron": "all"}
#: What every cell of a folder shares; ``--resume`` may change the rest (arms, depths, seeds, the sweep):
#: finished cells of the new grid are reused, the missing ones run.
CELL_FIELDS = ("env", "steps", "width", "algo_config", "device")
#: The marker kind of an evidence folder.
EVIDENCE_KIND = "evidence"
_MINATAR = {"exploration_fraction": 0.2}


@dataclass(frozen=True)
class EvidenceConfig:
    """One evidence grid: the lr sweep (``sweep_lrs`` x ``sweep_seeds`` at ``sweep_depth``) and the study
    (``arms`` x ``depths`` x ``seeds``, each arm at its best swept lr)."""

    scale: str = "default"
    env: str = "MinAtar/Breakout-v1"
    steps: int = 20_480
    width: int = 128
    arms: tuple[str, ...] = ("plain", "ln", "multiskip", "kron")
    depths: tuple[int, ...] = (4, 8, 12, 16)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    sweep_lrs: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    sweep_depth: int = 8
    sweep_seeds: tuple[int, ...] = (0, 1)
    algo_config: dict[str, Any] = field(default_factory=lambda: dict(_MINATAR))
    device: str = "cpu"

    def validate(self) -> EvidenceConfig:
        """Raise a one-line ``ValueError`` naming the bad field; return self."""
        bad = [a for a in self.arms if a not in ARMS]
        if bad or not self.arms:
            raise ValueError(f"arms {list(self.arms)!r}: expected some of {list(ARMS)}")
        for name in ("depths", "seeds", "sweep_lrs", "sweep_seeds"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{name} must be a non-empty list without repeats, got {list(values)}")
        if any(d < 2 for d in (*self.depths, self.sweep_depth)):
            raise ValueError(f"depths must be >= 2 Linear layers, got {list(self.depths)}")
        if any(not (isinstance(v, (int, float)) and 0 < v < math.inf) for v in self.sweep_lrs):
            raise ValueError(f"learning rates must be finite numbers > 0, got {list(self.sweep_lrs)}")
        if self.steps < 1 or self.width < 1:
            raise ValueError(f"steps and width must be >= 1, got {self.steps}, {self.width}")
        for seed in self.seeds:
            self.cell(self.arms[0], self.depths[0], self.sweep_lrs[0], seed)  # validates env, device, ...
        return self

    def cell(self, arm: str, layers: int, lr: float, seed: int) -> tuple[str, dict[str, Any]]:
        """``(name, TrainConfig dict)`` of one cell."""
        from stable_grad_rl.train import TrainConfig

        net, opt = intervention_network(ARMS[arm], layers, self.width)
        iterations_hint = 1_000_000  # one final checkpoint only: cells restart, they are not resumed
        cfg = TrainConfig(
            algo="pqn", env=self.env, network=net, optimizer=opt, lr=lr, seed=seed,
            algo_config={**self.algo_config, "total_timesteps": self.steps}, log_every=5, diag_every=10,
            checkpoint_every=iterations_hint, device=self.device,
        ).validate()  # fmt: skip
        return f"{arm}_L{layers}_lr{lr:g}_s{seed}", cfg.to_dict()

    def sweep_cells(self) -> list[tuple[str, dict[str, Any]]]:
        """The lr sweep's cells."""
        return [
            self.cell(arm, self.sweep_depth, lr, seed)
            for arm in self.arms
            for lr in self.sweep_lrs
            for seed in self.sweep_seeds
        ]

    def study_cells(self, best_lr: dict[str, float]) -> list[tuple[str, dict[str, Any]]]:
        """The depth study's cells, each arm at ``best_lr[arm]`` (seed by seed: a stopped run has whole seeds)."""
        return [
            self.cell(arm, layers, best_lr[arm], seed)
            for seed in self.seeds
            for arm in self.arms
            for layers in self.depths
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return clean_json(asdict(self))  # type: ignore[no-any-return]


#: Named scales: ``quick`` (CPU minutes), ``default`` (the README's table), ``full`` (the paper's, GPU).
SCALES: dict[str, EvidenceConfig] = {
    "quick": EvidenceConfig(
        scale="quick", steps=10_240, width=64, depths=(4, 12), seeds=(0, 1, 2), sweep_lrs=(1e-3,),
        sweep_depth=12, sweep_seeds=(0,),
    ),
    "default": EvidenceConfig(),
    "full": EvidenceConfig(
        scale="full", steps=5_000_000, width=512, depths=(4, 8, 12, 16), sweep_lrs=(1e-4, 2.5e-4, 1e-3),
        sweep_seeds=(0, 1, 2), algo_config={}, device="cuda",
    ),
}  # fmt: skip

#: Relative CPU cost of a cell by arm (Kron's preconditioner), used only for the printed estimate.
_ARM_COST = {"plain": 1.0, "ln": 1.1, "multiskip": 1.1, "kron": 6.0}


def estimate_cpu_s(cells: Sequence[str], measured_name: str, measured_cpu_s: float) -> float:
    """Estimated CPU-s of ``cells`` from one measured cell: cost ~ (layers + 5) x the arm's factor."""

    def weight(name: str) -> float:
        arm, layers = name.split("_L")[0], int(name.split("_L")[1].split("_")[0])
        return (layers + 5) * _ARM_COST.get(arm, 1.0)

    return measured_cpu_s * sum(weight(n) for n in cells) / weight(measured_name)


def run_cell(name: str, cfg_dict: dict[str, Any], out: str) -> dict[str, Any]:
    """Train cell ``name`` in a scratch folder under ``out`` and persist ``out/cells/<name>.json``."""
    import torch

    from stable_grad_rl.train import TrainConfig, run_training

    torch.set_num_threads(1)
    target = Path(out) / "cells" / f"{name}.json"
    scratch = Path(out) / f".cell-{name}.tmp-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    start = time.process_time()
    summary = run_training(TrainConfig.from_dict(cfg_dict), scratch, progress=False, guard=_parent_guard)
    cfg = cfg_dict
    record = {
        "name": name,
        "arm": name.split("_L")[0],
        "layers": int(name.split("_L")[1].split("_")[0]),
        "lr": cfg["lr"],
        "seed": cfg["seed"],
        "final_return": summary.get("final_return"),
        "best_window_return": summary.get("best_window_return"),
        "episodes": summary.get("episodes"),
        "n_params": summary.get("n_params"),
        **{k: summary.get(k) for k in ("grad_first_last_ratio", "grad_first_last_hidden_ratio")},
        "cpu_s": round(time.process_time() - start, 2),
    }
    _parent_guard()
    atomic_write_json(target, record)
    shutil.rmtree(scratch, ignore_errors=True)
    return record


def _run_cell_job(job: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    return run_cell(*job)


def _remove_dead_scratch(work: Path) -> None:
    """Remove ``.cell-*.tmp-<pid>`` folders of processes that are gone (a killed evidence run's)."""
    for path in work.glob(".cell-*.tmp-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                shutil.rmtree(path, ignore_errors=True)
            except PermissionError:
                pass


Runner = Callable[[list[tuple[str, dict[str, Any], str]]], list[dict[str, Any]]]


def local_runner(workers: int) -> Runner:
    """Run cells in this process (``workers == 1``) or a spawn pool whose workers die with this process."""

    def run(jobs: list[tuple[str, dict[str, Any], str]]) -> list[dict[str, Any]]:
        if workers == 1 or len(jobs) <= 1:
            return [_run_cell_job(job) for job in jobs]
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            min(workers, len(jobs)), mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
        ) as pool:
            return list(pool.map(_run_cell_job, jobs))

    return run


def ray_runner(address: str | None) -> Runner:
    """Run cells as Ray tasks (one CPU each) on a local loopback instance or the cluster at ``address``."""
    from stable_grad_rl.ray_address import start_ray

    ray = start_ray(address)
    remote = ray.remote(num_cpus=1)(run_cell)

    def run(jobs: list[tuple[str, dict[str, Any], str]]) -> list[dict[str, Any]]:
        return list(ray.get([remote.remote(*job) for job in jobs]))

    return run


def _finished(work: Path, cells: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    import json

    done = {}
    for name, _ in cells:
        path = work / "cells" / f"{name}.json"
        if path.exists():
            try:
                done[name] = json.loads(path.read_text())
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # cannot happen with atomic writes; rerun the cell
    return done


def _run_cells(
    cells: list[tuple[str, dict[str, Any]]],
    work: Path,
    runner: Runner,
    log: Callable[[str], None],
    later: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """Every cell's record: finished ones read back, the rest run (the first alone, to measure its cost
    and print the estimate of the others and of the ``later`` cells)."""
    done = _finished(work, cells)
    todo = [(n, c, str(work)) for n, c in cells if n not in done]
    if done:
        log(f"      {len(done)} of {len(cells)} cells already finished")
    if todo:
        first = runner(todo[:1])[0]
        done[first["name"]] = first
        rest = todo[1:]
        names = [n for n, _, _ in rest] + list(later)
        est = estimate_cpu_s(names, first["name"], first["cpu_s"])
        log(
            f"      cell {first['name']}: {first['cpu_s']:.1f} CPU-s; the other {len(names)} cells: "
            f"about {est / 60:.1f} CPU-min (from this cell; imports inflate the first)"
        )
        for record in runner(rest):
            done[record["name"]] = record
    return {n: done[n] for n, _ in cells}


def best_lrs(config: EvidenceConfig, sweep: list[dict[str, Any]]) -> dict[str, float]:
    """Each arm's lr with the highest mean final return over the sweep seeds (ties: the smaller lr)."""
    best: dict[str, float] = {}
    for arm in config.arms:
        scores = []
        for lr in sorted(config.sweep_lrs):
            vals = [r["final_return"] for r in sweep if r["arm"] == arm and r["lr"] == lr]
            vals = [v for v in vals if v is not None]
            scores.append((sum(vals) / len(vals) if vals else -math.inf, -lr))
        best[arm] = -max(scores)[1]
    return best


def check_evidence(config: EvidenceConfig, out: Path, *, resume: bool, overwrite: bool) -> bool:
    """Validate ``config`` and ``out`` writing nothing; True if ``out`` holds an earlier evidence run."""
    import json

    config.validate()
    existing = check_folder(out, EVIDENCE_KIND, resume=resume, overwrite=overwrite)
    grid = out / "evidence.json"
    if existing and resume and grid.exists():
        try:
            old = json.loads(grid.read_text()).get("config")
        except (OSError, ValueError, AttributeError) as err:
            raise ValueError(f"{grid} is unreadable; pass --overwrite") from err
        new = config.to_dict()
        changed = [k for k in CELL_FIELDS if not isinstance(old, dict) or old.get(k) != new[k]]
        if changed:
            raise ValueError(
                f"--resume: {', '.join(changed)} in {grid} differ from the requested ones (the finished "
                "cells would not fit); pass --overwrite"
            )
    return existing


def run_evidence(
    config: EvidenceConfig,
    out: str | Path,
    *,
    runner: Runner | None = None,
    resume: bool = False,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the lr sweep, then the depth study, into ``out``; write results.json, table.md, evidence.png.

    Validated first (nothing is written on bad input). ``runner`` runs a batch of cells
    (:func:`local_runner`, :func:`ray_runner`; default: in this process). Returns the results dict.
    """
    from stable_grad_rl.evidence_report import build_results, write_outputs

    out = Path(out)
    existing = check_evidence(config, out, resume=resume, overwrite=overwrite)
    runner = runner or local_runner(1)
    remove_leftovers(out)
    work = staging_path(out) if existing and overwrite else out
    write_marker(work, EVIDENCE_KIND)
    _remove_dead_scratch(work)
    atomic_write_json(work / "evidence.json", {"config": config.to_dict(), "version": __version__})
    start_cpu, start_wall = _children_cpu(), time.perf_counter()
    sweep_cells = config.sweep_cells()
    log(f"[1/3] lr sweep: {len(sweep_cells)} cells ({config.env}, {config.steps} steps each)")
    later = [n for n, _ in config.study_cells(dict.fromkeys(config.arms, config.sweep_lrs[0]))]
    sweep = list(_run_cells(sweep_cells, work, runner, log, later).values())
    lrs = best_lrs(config, sweep)
    log("      best lr: " + ", ".join(f"{a} {v:g}" for a, v in lrs.items()))
    study_cells = config.study_cells(lrs)
    log(f"[2/3] depth study: {len(study_cells)} cells")
    study = list(_run_cells(study_cells, work, runner, log).values())
    log("[3/3] tables and figure")
    results = build_results(config, sweep, lrs, study)
    results["run"] = {
        "cpu_s_this_invocation": round(_children_cpu() - start_cpu, 1),
        "wall_s_this_invocation": round(time.perf_counter() - start_wall, 1),
        "cpu_s_of_cells": round(sum(r["cpu_s"] for r in {**_by_name(sweep), **_by_name(study)}.values()), 1),
    }
    write_outputs(results, work)
    if work != out:
        swap_in(work, out)
    return results


def _by_name(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in records}


def _children_cpu() -> float:
    """CPU seconds of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def scale_config(scale: str, **overrides: Any) -> EvidenceConfig:
    """The named scale with ``overrides`` (fields left ``None`` keep the scale's value)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {list(SCALES)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(SCALES[scale], **given)
