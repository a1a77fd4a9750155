"""Sweeps over network size x sparsity x seed: a local process pool, or Ray Tune trials."""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import os
import signal
import socket
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sparse_drl.allocation import check_sparsity
from sparse_drl.io import atomic_write_text, write_json
from sparse_drl.rundir import (
    SWEEP_FILES,
    check_out_path,
    folder_kind,
    foreign_entries,
    open_out_folder,
    swap_in,
)
from sparse_drl.runner import prepare_run

__all__ = [
    "ENGINES",
    "SweepRun",
    "check_ray_address",
    "expand_grid",
    "parse_size",
    "run_sweep",
    "run_trial",
    "summarize",
]

ENGINES = ("local", "ray")


def check_engine_options(
    engine: str, workers: int | None, address: str | None, resume: bool, overwrite: bool, unit: str
) -> int:
    """Validate the options shared by ``sweep`` and ``evidence`` (one ``ValueError`` line each) and
    return the number of local workers (1 when not given); ``unit`` names what Ray runs per CPU."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if workers is not None and engine != "local":
        raise ValueError(f"--workers applies to --engine local only (Ray runs one {unit} per free CPU)")
    workers = 1 if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a positive int, got {workers!r}")
    if address is not None and engine != "ray":
        raise ValueError("--address applies to --engine ray only")
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    return workers


SPEC = "sweep-config.json"

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


_PARENT_PID: int | None = None


def _die_with_parent(parent: int) -> None:
    """Pool initializer: the kernel kills this worker when its parent dies (Linux ``PR_SET_PDEATHSIG``);
    elsewhere the pid check before every write stops it."""
    global _PARENT_PID
    _PARENT_PID = parent
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    _check_parent()


def _check_parent() -> None:
    """Exit at once (writing nothing) when the sweep process that started this worker is gone."""
    if _PARENT_PID is not None and os.getppid() != _PARENT_PID:
        os._exit(1)


def run_trial(agent: str, run: SweepRun, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Train (or resume, or skip when finished) one grid point into ``out/<run.name>``; returns its row.

    The same function runs in the local engine's worker processes and inside each Ray Tune trial, so
    both engines write identical run folders."""
    import torch

    from sparse_drl.runner import execute_run, prepare_run

    torch.set_num_threads(1)
    plan = prepare_run(agent, run.options, Path(out) / run.name, resume=True)
    summary = execute_run(plan, show_progress=False, guard=_check_parent)
    return {"name": run.name, "size": run.size, "sparsity": run.sparsity, "seed": run.seed, **summary}


def _run_local(agent: str, runs: list[SweepRun], out: Path, workers: int) -> None:
    if workers == 1:
        for i, run in enumerate(runs, 1):
            row = run_trial(agent, run, out)
            print(f"[{i}/{len(runs)}] {run.name}: return {row['mean_last3_eval_return']}", flush=True)
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {pool.submit(run_trial, agent, run, str(out)): run for run in runs}
        for i, fut in enumerate(as_completed(futures), 1):
            row = fut.result()
            print(f"[{i}/{len(runs)}] {row['name']}: return {row['mean_last3_eval_return']}", flush=True)


LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray's node address is 127.0.0.1


def import_ray(loopback: bool = False) -> Any:
    """``ray`` with Tune, or ``ImportError`` giving the pip line. With ``loopback`` (a local instance)
    and Ray not yet imported, Ray is told to use 127.0.0.1 as this node's address: ``ray.init`` turns
    ``_node_ip_address="127.0.0.1"`` into the machine's network address, this setting it honours."""
    if loopback and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ONLY, "0")
    try:
        import ray
        from ray import tune  # noqa: F401
    except ImportError:
        raise ImportError('the Ray engine needs Ray Tune: pip install "sparse-drl[ray]"') from None
    return ray


def _tune_trial(config: dict[str, Any], agent: str, runs: dict[str, SweepRun], out: str) -> None:
    """Body of one Ray Tune trial: the grid point ``config["trial"]``, written like a local run."""
    from ray import tune

    row = run_trial(agent, runs[config["trial"]], out)
    report = getattr(tune, "report", None)
    if report is None:  # Ray < 2.41
        from ray import train

        report = train.report
    report({k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})


LOOPBACK = ("127.0.0.1", "localhost", "::1")
CONNECT_TIMEOUT_S = 3.0


def _host(address: str) -> str:
    """The host part of ``HOST:PORT`` or ``ray://HOST:PORT``."""
    return address.removeprefix("ray://").rpartition(":")[0].strip("[]")


def check_ray_address(address: str | None) -> str | None:
    """Validate ``--address`` and reach the cluster (a TCP connection, ``CONNECT_TIMEOUT_S``) before
    anything is written; returns the address to pass to ``ray.init`` (None: start a local instance).

    ``"auto"`` (only when given) means the Ray instance last started on this machine (``ray start``);
    otherwise ``HOST:PORT`` of a head node or ``ray://HOST:PORT`` of a Ray client server."""
    if address is None:
        return None
    target = address
    if address == "auto":
        try:  # Ray core only: importing Tune takes seconds
            from ray._private.services import canonicalize_bootstrap_address
        except ImportError:
            raise ImportError('the Ray engine needs Ray Tune: pip install "sparse-drl[ray]"') from None

        try:
            target = canonicalize_bootstrap_address("auto") or ""
        except Exception:  # Ray raises ConnectionError (or others) when it finds no instance
            target = ""
        if not target:
            raise ValueError("--address auto: no running Ray instance found on this machine")
    host, sep, port = target.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--address must be auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ValueError(
            f"--address {address!r}: cannot reach a Ray cluster at {host}:{port} ({reason})"
        ) from None
    return target


def _run_ray(agent: str, runs: list[SweepRun], out: Path, address: str | None) -> None:
    ray = import_ray()
    from ray import tune

    out = out.resolve()  # Tune runs each trial in its own working directory
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None or (_host(address) in LOOPBACK and not address.startswith("ray://")):
            options["_node_ip_address"] = "127.0.0.1"  # never bind the machine's network interface
        ray.init(address=address or "local", **options)
        started = True
    try:
        run_config_cls: Any = getattr(tune, "RunConfig", None)
        if run_config_cls is None:  # Ray < 2.41
            run_config_cls = importlib.import_module("ray.train").RunConfig
        trainable = tune.with_resources(
            tune.with_parameters(_tune_trial, agent=agent, runs={r.name: r for r in runs}, out=str(out)),
            {"cpu": 1},
        )
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search([r.name for r in runs])},
            run_config=run_config_cls(storage_path=str(out / ".tune"), name="sweep", verbose=0),
        )
        results = tuner.fit()
        failed = [results[i] for i in range(len(results)) if results[i].error is not None]
        if failed:
            raise RuntimeError(f"{len(failed)} Ray Tune trial(s) failed; first: {failed[0].error}")
    finally:
        if started:
            ray.shutdown()


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


def read_sweep_spec(out: Path) -> dict[str, Any] | None:
    """The grid recorded in ``out`` by an earlier sweep, or None when ``out`` holds no sweep."""
    path = out / SPEC
    if not path.exists():
        return None
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{str(path)!r} is not a readable sweep record: {err}") from None
    if not isinstance(spec, dict) or spec.get("package") != "sparse-drl":
        raise ValueError(f"{str(path)!r} is not a sparse-drl sweep record")
    return spec


def run_sweep(
    agent: str,
    base: dict[str, Any],
    sizes: list[str],
    sparsities: list[float],
    seeds: list[int],
    out: str | os.PathLike[str],
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run the grid and write ``out/sweep.csv`` (one row per run) and ``out/sweep.json`` (rows and
    per-(size, sparsity) means); each grid point's run folder is ``out/<name>`` for either engine.

    ``engine="local"``: a pool of ``workers`` processes (default 1) that die with this process;
    ``"ray"``: one Ray Tune trial per grid point (1 CPU each) on a new local Ray instance (127.0.0.1) or
    the cluster at ``address`` (``"auto"`` only when passed), which is reached before anything is
    written. Every grid point is validated before anything is written. A folder that holds this
    package's sweep marker is refused unless ``resume`` (same grid: finished runs are skipped, unfinished
    ones continue from their checkpoints) or ``overwrite`` (the new sweep is built beside it and replaces
    it once complete; refused when the folder holds files this package did not write)."""
    workers = check_engine_options(engine, workers, address, resume, overwrite, "trial")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seed lists a seed twice: {list(seeds)}")
    out = Path(out)
    check_out_path(out)
    kind = folder_kind(out)
    if kind == "other":
        raise ValueError(
            f"--out {str(out)!r} is not empty and holds no sparse-drl sweep (no .sparse-drl-run.json); refusing"
        )
    if kind not in ("missing", "empty", "sweep"):
        raise ValueError(f"--out {str(out)!r} holds a sparse-drl {kind}, not a sweep; refusing")
    runs = expand_grid(agent, base, sizes, sparsities, seeds)
    spec: dict[str, Any] = {"package": "sparse-drl", "agent": agent, "base": base, "sizes": sizes}
    spec |= {"sparsities": sparsities, "seeds": seeds}
    in_place = kind == "sweep" and not overwrite
    if kind == "sweep" and not (resume or overwrite):
        raise ValueError(f"--out {str(out)!r} already holds a sweep; pass --resume or --overwrite")
    if kind == "sweep" and overwrite:
        foreign = foreign_entries(out, set(SWEEP_FILES), runs=True)
        if foreign:
            raise ValueError(
                f"--overwrite: {str(out)!r} also holds files sparse-drl did not write: {foreign[:3]}"
            )
    old_spec = read_sweep_spec(out) if in_place else None
    if old_spec is not None and old_spec != json.loads(json.dumps(spec)):
        raise ValueError(f"--resume: the grid in {str(out / SPEC)!r} differs from the requested one")
    plans = {  # a trial folder is resumed inside the sweep; validated against a fresh one otherwise
        r.name: prepare_run(agent, r.options, (out if in_place else out / ".new") / r.name, resume=True)
        for r in runs
    }
    todo = [r for r in runs if plans[r.name].mode != "done"]
    ray_address = check_ray_address(address)  # reached before anything is written
    if engine == "ray":
        import_ray(loopback=ray_address is None or _host(ray_address) in LOOPBACK)
    work = open_out_folder(out, "sweep", staging=kind == "sweep" and overwrite)
    write_json(work / SPEC, spec)
    print(f"sweep: {len(runs)} runs, {len(runs) - len(todo)} already finished, engine {engine}", flush=True)
    if todo:
        if engine == "ray":
            _run_ray(agent, todo, work, ray_address)
        else:
            _run_local(agent, todo, work, workers)
    rows = []
    for r in runs:
        summary = json.loads((work / r.name / "summary.json").read_text())
        rows.append({"name": r.name, "size": r.size, "sparsity": r.sparsity, "seed": r.seed, **summary})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TABLE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(work / "sweep.csv", buf.getvalue())
    result = {"agent": agent, "rows": rows, "summary": summarize(rows)}
    write_json(work / "sweep.json", result)
    if work != out:
        swap_in(work, out)
    return result
