"""``rice-n evidence``: the paper's question with learned behaviour. Does negotiation change the climate
outcome of trained agents at all, and at what economic cost?

The shared PPO policy is trained under each protocol (no negotiation, upstream's bilateral negotiation, a
climate club of the largest emitters) with the same seeds in every arm; every trained policy and the
untrained policy of the same protocol and seed (the network as initialized) are evaluated on the same
evaluation seed. ``DIR`` gets ``results.json`` (every seed's numbers, means with 95 % bootstrap intervals,
the gate), ``table.md`` and ``protocols.png``. Each (protocol, seed) is a normal run folder
(``DIR/runs/<protocol>-seed<S>``) plus its finished row (``DIR/rows/<protocol>-seed<S>.json``), so a killed
experiment continues with ``--resume``. ``python -m rice_n.experiment`` is an alias of ``rice-n evidence``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rice_n import __version__
from rice_n._io import write_bytes_atomic, write_json_atomic
from rice_n.params import RiceParams, default_params
from rice_n.protocols import ClimateClub, Protocol, protocol_label

#: Reported per evaluation: means over the evaluation episodes.
KEYS = ("temperature_rise", "gross_output", "episode_reward", "climate_index", "economic_index")
#: The experiment's settings file, written first into DIR (``--resume`` needs the same settings).
SETTINGS_FILE = "evidence-config.json"
#: Bootstrap resamples of the 95 % intervals (fixed generator seed: the same table every time).
BOOTSTRAP = 10_000


@dataclass(frozen=True)
class EvidenceConfig:
    """What ``rice-n evidence`` runs: training episodes, evaluation episodes and seed, seeds, protocols."""

    episodes: int = 200
    eval_episodes: int = 10
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    eval_seed: int = 0
    protocols: tuple[str, ...] = ("none", "bilateral", "climate-club")
    scale: str = "default"


#: ``--quick`` (CPU, about the demo's cost per run), the default (the README table's scale) and ``--full``
#: (five times longer runs, ten seeds: for a GPU or a cluster; the paper trains 100 seeds much longer).
SCALES: dict[str, EvidenceConfig] = {
    "quick": EvidenceConfig(episodes=40, eval_episodes=5, scale="quick"),
    "default": EvidenceConfig(),
    "full": EvidenceConfig(episodes=1000, eval_episodes=20, seeds=tuple(range(10)), scale="full"),
}


def largest_emitters(params: RiceParams, k: int) -> list[int]:
    """The ``k`` regions with the largest industrial emissions at the start (sigma_0 x production)."""
    y0 = params.A_0 * params.K_0**params.gamma * (params.L_0 / 1000.0) ** (1.0 - params.gamma)
    return sorted(int(i) for i in np.argsort(-(params.sigma_0 * y0))[:k])


def experiment_protocols(club_size: int = 9) -> dict[str, str | Protocol]:
    """The compared protocols: none, bilateral, and a club of the largest emitters (0.5 floor, 0.3 tariff)."""
    members = largest_emitters(default_params(), club_size)
    return {
        "none": "none",
        "bilateral": "bilateral",
        "climate-club": ClimateClub(members=members, min_mitigation=0.5, tariff=0.3),
    }


def _untrained(protocol: Any, seed: int, hidden: tuple[int, ...]) -> Any:
    """The policy as ``train`` initializes it for this protocol and seed."""
    import torch

    from rice_n.batch import BatchRiceEnv
    from rice_n.train.policy import ObsSplit, SharedPolicy

    env = BatchRiceEnv(num_envs=1, protocol=protocol)
    torch.manual_seed(seed)
    return SharedPolicy(ObsSplit.from_env(env), env.action_nvec, hidden)


def _evaluation(result: Any) -> dict[str, float]:
    out = {k: float(result.metrics[k]) for k in KEYS}
    out["mean_mitigation"] = float(np.mean(result.trajectory["mean_mitigation"][1:]))  # activity steps
    out["mean_savings"] = float(np.mean(result.trajectory["mean_savings"][1:]))
    return out


def job_name(protocol: str, seed: int) -> str:
    """The name of one (protocol, seed) job: its run folder and row file."""
    return f"{protocol}-seed{seed}"


def run_job(out: str, protocol: str, seed: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Train (or continue) one run, evaluate it and its untrained policy; write and return its row.

    A module-level function taking plain values, so a worker process or a Ray task can run it.
    """
    import torch

    from rice_n.evaluate import PolicyActor, evaluate_actor, evaluate_policy
    from rice_n.train import preset, train

    torch.set_num_threads(1)
    proto = experiment_protocols()[protocol]
    cfg = preset("ppo", episodes=settings["episodes"], protocol=proto, seed=seed)
    run = Path(out) / "runs" / job_name(protocol, seed)
    c0 = time.process_time()
    train(cfg, run, resume=True, progress=False)  # a missing/empty folder starts, a marked one continues
    cpu = time.process_time() - c0
    trained = evaluate_policy(run, episodes=settings["eval_episodes"], seed=settings["eval_seed"])
    actor = PolicyActor(_untrained(proto, seed, cfg.hidden), settings["eval_seed"])
    untrained = evaluate_actor(actor, settings["eval_episodes"], protocol=proto)
    row = {
        "protocol": protocol,
        "seed": seed,
        "train_cpu_s": cpu,
        "trained": _evaluation(trained),
        "untrained": _evaluation(untrained),
    }
    write_json_atomic(Path(out) / "rows" / f"{job_name(protocol, seed)}.json", row)
    return row


def bootstrap_ci(values: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """The 95 % percentile bootstrap interval of the mean of ``values`` (``BOOTSTRAP`` resamples)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return float(x.mean()), float(x.mean())
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(BOOTSTRAP, x.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def _stat(values: Sequence[float]) -> dict[str, Any]:
    lo, hi = bootstrap_ci(values)
    return {"mean": float(np.mean(values)), "lo": lo, "hi": hi, "values": [float(v) for v in values]}


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Per protocol and policy (untrained/trained) and metric: mean, 95 % bootstrap interval, per seed."""
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for name in dict.fromkeys(r["protocol"] for r in rows):
        mine = sorted((r for r in rows if r["protocol"] == name), key=lambda r: r["seed"])
        out[name] = {
            which: {k: _stat([r[which][k] for r in mine]) for k in mine[0][which]}
            for which in ("untrained", "trained")
        }
    return out


def contrasts(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Temperature rise and gross output of each protocol minus no negotiation, paired by seed."""
    by = {(r["protocol"], r["seed"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows})
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name in dict.fromkeys(r["protocol"] for r in rows):
        if name == "none" or ("none", seeds[0]) not in by:
            continue
        out[name] = {
            f"{which}_{key}": _stat([by[(name, s)][which][key] - by[("none", s)][which][key] for s in seeds])
            for which in ("trained", "untrained")
            for key in ("temperature_rise", "gross_output")
        }
    return out


def gate(diffs: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The plain sentence answering "does negotiation change the trained agents' temperature at all?"."""
    if not diffs:
        return "Gate: no negotiation protocol was run beside 'none': nothing to compare."
    parts, changed = [], []
    for name, d in diffs.items():
        t = d["trained_temperature_rise"]
        parts.append(f"{name} {t['mean']:+.2f} °C [{t['lo']:+.2f}, {t['hi']:+.2f}]")
        if t["lo"] > 0 or t["hi"] < 0:
            changed.append(name)
    what = "; ".join(parts)
    if changed:
        return (
            f"Gate: yes, negotiation changes the trained agents' temperature rise beyond seed noise "
            f"({', '.join(changed)}; difference to no negotiation, 95 % interval over seeds: {what})."
        )
    return (
        "Gate: no, no protocol changes the trained agents' temperature rise beyond seed noise (difference "
        f"to no negotiation, 95 % interval over seeds: {what}); the table shows no effect of negotiation."
    )


def format_table(results: dict[str, Any]) -> str:
    """Markdown: the gate sentence, protocol x (untrained, trained) as mean [95 % interval], the contrasts."""

    def cell(s: dict[str, Any], fmt: str) -> str:
        return f"{s['mean']:{fmt}} [{s['lo']:{fmt}}, {s['hi']:{fmt}}]"

    head = (
        "| protocol | policy | temperature rise (°C) | gross output | episode reward | mean mitigation "
        "| mean savings |\n|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for name, by in results["summary"].items():
        for which in ("untrained", "trained"):
            m = by[which]
            cells = [
                cell(m["temperature_rise"], ".2f"),
                cell(m["gross_output"], ".0f"),
                cell(m["episode_reward"], ".1f"),
                cell(m["mean_mitigation"], ".2f"),
                cell(m["mean_savings"], ".2f"),
            ]
            lines.append(f"| {name} | {which} | " + " | ".join(cells) + " |")
    text = results["gate"] + "\n\n" + head + "\n".join(lines) + "\n"
    if results["contrasts"]:
        text += (
            "\n| protocol minus none (same seed) | temperature rise, trained (°C) | temperature rise, "
            "untrained (°C) | gross output, trained |\n|---|---|---|---|\n"
        )
        for name, d in results["contrasts"].items():
            text += (
                f"| {name} | {cell(d['trained_temperature_rise'], '+.2f')} | "
                f"{cell(d['untrained_temperature_rise'], '+.2f')} | {cell(d['trained_gross_output'], '+.0f')} |\n"
            )
    return str(text)


def plot_protocols(results: dict[str, Any], out: Path) -> list[str]:
    """Temperature rise against gross output: untrained -> trained, per protocol (seeds as points)."""
    from rice_n.plots import _pyplot, _save

    plt = _pyplot()
    if plt is None:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colors = {"none": "tab:gray", "bilateral": "tab:blue", "climate-club": "tab:green"}
    for name in results["summary"]:
        rows = [r for r in results["rows"] if r["protocol"] == name]
        c = colors.get(name)
        for r in rows:
            u, t = r["untrained"], r["trained"]
            ax.annotate(
                "",
                xy=(t["gross_output"], t["temperature_rise"]),
                xytext=(u["gross_output"], u["temperature_rise"]),
                arrowprops={"arrowstyle": "->", "color": c, "alpha": 0.6},
            )
        for which, style in (
            ("untrained", {"facecolors": "none", "edgecolors": c}),
            ("trained", {"color": c}),
        ):
            ax.scatter(
                [r[which]["gross_output"] for r in rows],
                [r[which]["temperature_rise"] for r in rows],
                marker="o",
                label=f"{name}, {which}",
                **style,
            )
    ax.set_xlabel("gross output (sum over regions and steps)")
    ax.set_ylabel("temperature rise 2015-2115 (°C)")
    ax.set_title(f"PPO, {results['episodes']} episodes, {len(results['seeds'])} seeds: untrained -> trained")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out / "protocols.png")
    plt.close(fig)
    return ["protocols.png"]


def read_settings(out: Path) -> dict[str, Any] | None:
    """The settings an earlier experiment in ``out`` was started with (None: killed before writing them)."""
    try:
        data = json.loads((out / SETTINGS_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(out / SETTINGS_FILE)!r} is not valid JSON ({exc}): cannot resume") from None
    return data if isinstance(data, dict) else {}


def settings_of(config: EvidenceConfig) -> dict[str, Any]:
    """The JSON form of ``config`` (what ``evidence-config.json`` holds)."""
    d = dataclasses.asdict(config)
    d["seeds"], d["protocols"] = list(config.seeds), list(config.protocols)
    return d


def _die_with_parent(parent: int) -> None:
    """Worker initializer: the worker gets SIGKILL when the parent dies (Linux), and never outlives it."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _run_jobs(
    out: Path, jobs: list[tuple[str, int]], settings: dict[str, Any], workers: int, ray_address: Any
) -> None:
    """Run the pending jobs: in this process, in ``workers`` processes, or as Ray tasks."""
    total = len(jobs)

    def done(i: int, row: dict[str, Any]) -> None:
        t = row["trained"]
        print(
            f"[{i}/{total}] {job_name(row['protocol'], row['seed'])}: trained {t['temperature_rise']:.2f} °C, "
            f"reward {t['episode_reward']:.1f}",
            flush=True,
        )

    if ray_address is not False:
        import ray

        task = ray.remote(num_cpus=1)(run_job)
        refs = [task.remote(str(out.resolve()), p, s, settings) for p, s in jobs]
        pending = list(refs)
        i = 0
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            i += 1
            done(i, ray.get(ready[0]))
        return
    if workers == 1 or total <= 1:
        for i, (p, s) in enumerate(jobs, 1):
            done(i, run_job(str(out), p, s, settings))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(
        max_workers=min(workers, total),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = [pool.submit(run_job, str(out), p, s, settings) for p, s in jobs]
        for i, fut in enumerate(as_completed(futures), 1):
            done(i, fut.result())


def run_evidence(
    out: Path, config: EvidenceConfig, workers: int = 1, ray_address: Any = False
) -> dict[str, Any]:
    """Run (or continue) the experiment in the folder ``out`` (already checked and marked by the caller).

    Jobs whose row file exists are done; the others train from scratch or continue their run folder.
    ``ray_address``: False for local processes, else the (checked) Ray address (None: a local instance).
    Returns the results object, also written as ``results.json``, ``table.md`` and ``protocols.png``.
    """
    settings = settings_of(config)
    write_json_atomic(out / SETTINGS_FILE, settings)
    jobs = [(p, s) for p in config.protocols for s in config.seeds]
    pending = [(p, s) for p, s in jobs if not (out / "rows" / f"{job_name(p, s)}.json").is_file()]
    print(
        f"rice-n evidence: {len(jobs)} runs ({len(config.protocols)} protocols x {len(config.seeds)} seeds, "
        f"{config.episodes} episodes), {len(jobs) - len(pending)} done already",
        flush=True,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    started_ray = False
    if ray_address is not False and pending:
        if not ray_address:  # read when Ray is imported: a local instance stays on 127.0.0.1
            from rice_n.train.rllib import LOOPBACK_ENV

            os.environ.setdefault(LOOPBACK_ENV, "0")
        import ray

        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if ray_address:
                options["address"] = ray_address
            else:  # a local instance on the loopback address only
                options.update(address="local", num_cpus=workers, _node_ip_address="127.0.0.1")
            ray.init(**options)
            started_ray = True
    try:
        _run_jobs(out, pending, settings, workers, ray_address)
    finally:
        if started_ray:
            import ray

            ray.shutdown()
    rows = [json.loads((out / "rows" / f"{job_name(p, s)}.json").read_text()) for p, s in jobs]
    protocols = experiment_protocols()
    diffs = contrasts(rows)
    results = {
        "question": "does negotiation change the climate outcome of trained agents at all, at what cost?",
        "protocols": {k: protocol_label(protocols[k]) for k in config.protocols},
        **settings,
        "rows": rows,
        "summary": summarize(rows),
        "contrasts": diffs,
        "gate": gate(diffs),
        "interval": f"95 % percentile bootstrap over seeds ({BOOTSTRAP} resamples, generator seed 0)",
        "train_cpu_s": float(sum(r["train_cpu_s"] for r in rows)),
        "wall_s": time.perf_counter() - t0,
        "driver_cpu_s": time.process_time() - c0,
        "rice_n_version": __version__,
    }
    write_json_atomic(out / "results.json", results)
    write_bytes_atomic(out / "table.md", format_table(results).encode())
    plot_protocols(results, out)
    return results


def check_settings(out: Path, config: EvidenceConfig) -> None:
    """On ``--resume``: the folder's experiment must have been started with the same settings."""
    saved = read_settings(out)
    if saved is not None and saved != settings_of(config):
        raise ValueError(
            f"{str(out)!r} holds an experiment with other settings ({SETTINGS_FILE}: {saved}); "
            "resume it with the same options, or pass --overwrite"
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m rice_n.experiment ...``: the same as ``rice-n evidence ...`` (kept as an alias)."""
    import sys

    from rice_n.cli import main as cli_main

    return cli_main(["evidence", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
