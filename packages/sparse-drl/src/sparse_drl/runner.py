"""One training run on disk: config.json, metrics.jsonl, checkpoint.pt (atomic), summary.json, --resume."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from sparse_drl import __version__
from sparse_drl.agents import AGENTS, OffPolicyAgent, make_agent
from sparse_drl.io import atomic_torch_save, atomic_write_text, read_jsonl, write_json
from sparse_drl.sparsify import density_report

__all__ = ["param_counts", "run_training"]


def param_counts(agent: OffPolicyAgent) -> dict[str, int]:
    """Dense and effective (non-pruned) parameter counts of the trained networks (targets excluded)."""
    out: dict[str, int] = {}
    for name, module in agent.networks().items():
        if name.startswith("target") or name == "obs_norm":
            continue
        report = density_report(module)
        out[f"{name}_params"] = report.dense_params
        out[f"{name}_effective_params"] = report.effective_params
    out["total_params"] = sum(v for k, v in out.items() if k.endswith("_params") and "effective" not in k)
    out["total_effective_params"] = sum(v for k, v in out.items() if k.endswith("effective_params"))
    return out


def _progress(total: int, initial: int, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return (lambda n: None), (lambda: None)
    bar = tqdm(total=total, initial=initial, desc=label, unit="step", disable=None)
    return bar.update, bar.close


def run_training(
    agent_name: str,
    options: dict[str, Any],
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    checkpoint_every: int | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Train one agent into ``out``; returns the summary (also written to ``out/summary.json``).

    ``metrics.jsonl`` gets one JSON object per evaluation/diagnostics point. A checkpoint (networks,
    optimizers, replay buffer, RNG states) is written atomically every ``checkpoint_every`` steps (default:
    each eval point) and at the end; ``resume=True`` continues from it (the episode in progress restarts).
    """
    if agent_name not in AGENTS:
        raise ValueError(f"agent must be one of {sorted(AGENTS)}, got {agent_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt, metrics_path, summary_path = out / "checkpoint.pt", out / "metrics.jsonl", out / "summary.json"
    if not resume and (metrics_path.exists() or ckpt.exists()):
        raise FileExistsError(f"{out} already holds a run; pass resume=True (--resume) or another --out")
    free = ("total_steps", "device")
    wanted = AGENTS[agent_name][1].from_dict(dict(options)).to_dict()
    if resume and summary_path.exists():
        done = json.loads(summary_path.read_text())
        same = {k: v for k, v in done["config"].items() if k not in (*free, "agent")} == {
            k: v for k, v in wanted.items() if k not in free
        }
        if same and done.get("steps", 0) >= wanted["total_steps"]:
            return done  # finished run: nothing to do (also when fewer steps are asked for)
    agent = make_agent(agent_name, **options)
    config = {"agent": agent_name, **agent.config.to_dict()}
    records: list[dict[str, Any]] = []
    if resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=True, map_location="cpu")
        saved = {k: v for k, v in state["config"].items() if k not in free}
        if saved != {k: v for k, v in agent.config.to_dict().items() if k not in free}:
            raise ValueError(
                f"{ckpt} was written with another config; use the same options to resume (only --steps and device may change)"
            )
        agent.load_state_dict(state)
        records = [r for r in read_jsonl(metrics_path) if r["step"] <= agent.step]
        atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in records))
        if summary_path.exists() and agent.step >= agent.config.total_steps:
            agent.close()
            return json.loads(summary_path.read_text())
    else:
        metrics_path.unlink(missing_ok=True)
    write_json(out / "config.json", {"config": config, "version": __version__})
    every = checkpoint_every or agent.config.eval_every
    last_ckpt = [agent.step]

    def on_metrics(rec: dict[str, Any]) -> None:
        rec = {"seed": agent.config.seed, **rec}
        records.append(rec)
        with metrics_path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        if agent.step - last_ckpt[0] >= every or agent.step >= agent.config.total_steps:
            atomic_torch_save(agent.state_dict(), ckpt)
            last_ckpt[0] = agent.step

    update, close = (
        _progress(agent.config.total_steps, agent.step, f"{agent_name} {agent.config.env_id}")
        if show_progress
        else ((lambda n: None), (lambda: None))
    )
    try:
        agent.train(on_metrics=on_metrics, progress=update)
    finally:
        close()
    evals = [r["eval_return"] for r in records if r.get("eval_return") is not None]
    last = records[-1] if records else {}
    summary = {
        "agent": agent_name,
        "config": config,
        "version": __version__,
        "final_eval_return": evals[-1] if evals else None,
        "mean_last3_eval_return": sum(evals[-3:]) / len(evals[-3:]) if evals else None,
        "final_critic_dormant_0.1": last.get("critic_dormant_0.1"),
        "final_critic_srank": last.get("critic_srank"),
        "pruned_zero_frac": last.get("pruned_zero_frac"),
        "steps": agent.step,
        "updates": agent.updates,
        **param_counts(agent),
    }
    write_json(summary_path, summary)
    agent.close()
    return summary
