"""One training run on disk: config.json, metrics.jsonl, checkpoint.pt (atomic), summary.json, --resume."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sparse_drl import __version__
from sparse_drl.agents import AGENTS, OffPolicyAgent, make_agent
from sparse_drl.io import atomic_torch_save, write_json
from sparse_drl.rundir import (
    PACKAGE,
    RUN_FILES,
    check_out_path,
    clean_stale,
    folder_kind,
    foreign_entries,
    load_checkpoint,
    open_out_folder,
    read_run_config,
    repair_metrics,
    swap_in,
)
from sparse_drl.sparsify import density_report

__all__ = ["RunPlan", "execute_run", "param_counts", "prepare_run", "run_training", "set_threads"]

FREE_FIELDS = ("total_steps", "device", "threads")  # may change on --resume


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


def set_threads(threads: int) -> None:
    """Run torch on ``threads`` threads (intra-op; inter-op too while torch still allows setting it)."""
    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        with contextlib.suppress(
            RuntimeError
        ):  # settable only before the process's first inter-op parallel work
            torch.set_num_interop_threads(threads)


def _progress(total: int, initial: int, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return (lambda n: None), (lambda: None)
    bar = tqdm(total=total, initial=initial, desc=label, unit="step", disable=None)
    return bar.update, bar.close


@dataclass
class RunPlan:
    """A validated training run, ready to execute (nothing on disk has been touched yet)."""

    agent: str
    options: dict[str, Any]
    out: Path
    mode: str  # "fresh", "overwrite", "resume" or "done"
    checkpoint_every: int | None
    state: dict[str, Any] | None = None  # the checkpoint to resume from
    summary: dict[str, Any] | None = None  # the finished run's summary (mode "done")


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def strip(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k not in (*FREE_FIELDS, "agent")}

    return strip(a) == strip(b)


def _check_action_space(agent_name: str, env_id: str) -> None:
    """Build the environment once to check it exists here and suits the agent (SAC: Box, DQN: Discrete)."""
    import gymnasium as gym

    try:
        env = gym.make(env_id)
    except Exception as err:  # missing dependency, bad kwargs: one user error
        raise ValueError(f"cannot create environment {env_id!r}: {err}") from None
    space = env.action_space
    env.close()  # type: ignore[no-untyped-call]
    wanted = gym.spaces.Box if agent_name == "sac" else gym.spaces.Discrete
    if not isinstance(space, wanted):
        raise ValueError(f"{agent_name} needs a {wanted.__name__} action space; {env_id} has {space}")


def prepare_run(
    agent_name: str,
    options: dict[str, Any],
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    checkpoint_every: int | None = None,
) -> RunPlan:
    """Validate a run before anything is written: options, device, environment, the ``out`` folder and,
    for ``resume``, its config and checkpoint. Raises ``ValueError``/``TypeError`` with one-line messages.

    ``out`` may be missing or empty; a folder holding this package's ``train`` marker needs ``resume``
    (continue) or ``overwrite`` (the new run is built beside it and replaces it once complete; refused
    when the folder also holds files this package did not write); any other non-empty folder is refused.
    """
    if agent_name not in AGENTS:
        raise ValueError(f"agent must be one of {sorted(AGENTS)}, got {agent_name!r}")
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    if checkpoint_every is not None and (
        isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1
    ):
        raise ValueError(f"checkpoint_every must be a positive number of env steps, got {checkpoint_every!r}")
    try:
        cfg = AGENTS[agent_name][1].from_dict(dict(options))
    except TypeError as err:
        raise ValueError(str(err)) from None
    cfg.validate()
    _check_action_space(agent_name, cfg.env_id)
    wanted = cfg.to_dict()
    out = Path(out)
    check_out_path(out)
    kind = folder_kind(out)
    plan = RunPlan(agent_name, dict(options), out, "fresh", checkpoint_every)
    if kind == "other":
        raise ValueError(
            f"--out {str(out)!r} is not empty and holds no sparse-drl run (no .sparse-drl-run.json); refusing"
        )
    if kind in ("missing", "empty"):
        return plan
    if kind != "train":
        raise ValueError(f"--out {str(out)!r} holds a sparse-drl {kind}, not a training run; refusing")
    if overwrite:
        foreign = foreign_entries(out, set(RUN_FILES))
        if foreign:
            raise ValueError(
                f"--overwrite: {str(out)!r} also holds files sparse-drl did not write: {foreign[:3]}"
            )
        plan.mode = "overwrite"
        return plan
    if not resume:
        raise ValueError(f"{out} already holds a run (a train); pass --resume or --overwrite")
    saved = read_run_config(out)
    if saved is not None and not _same(saved, wanted):
        raise ValueError(
            f"{out} holds a run with another config; use the same options to resume (only --steps may change)"
        )
    summary_path = out / "summary.json"
    if summary_path.exists():
        try:
            done = json.loads(summary_path.read_text())
            finished = _same(done["config"], wanted) and done["steps"] >= wanted["total_steps"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{summary_path} is not a sparse-drl summary") from None
        if finished:
            plan.mode, plan.summary = "done", done
            return plan
    ckpt = out / "checkpoint.pt"
    plan.mode = "resume"
    if ckpt.exists():
        state = load_checkpoint(ckpt)
        if not _same(state["config"], wanted):
            raise ValueError(f"{ckpt} was written with another config; use the same options to resume")
        plan.state = state
    return plan


def execute_run(
    plan: RunPlan, *, show_progress: bool = True, guard: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Carry out a ``RunPlan``; returns the summary (also written to ``out/summary.json``).

    ``metrics.jsonl`` gets one JSON object per evaluation/diagnostics point. A checkpoint (networks,
    optimizers, replay buffer, RNG states) is written atomically every ``checkpoint_every`` steps (default:
    each eval point) and at the end; a resumed run continues from it exactly (env state included).
    ``guard`` is called before every write (a sweep worker uses it to stop when its parent is gone).
    """
    if plan.mode == "done":
        assert plan.summary is not None
        return plan.summary
    check = guard or (lambda: None)
    set_threads(int(plan.options.get("threads", 1)))
    agent = make_agent(plan.agent, **plan.options)
    check()
    out = open_out_folder(plan.out, "train", staging=plan.mode == "overwrite")
    clean_stale(out)
    ckpt, metrics_path, summary_path = out / "checkpoint.pt", out / "metrics.jsonl", out / "summary.json"
    records: list[dict[str, Any]] = []
    if plan.state is not None:
        agent.load_state_dict(plan.state)
        if agent.inexact_resume:
            print(f"sparse-drl: resume is not exact: {agent.inexact_resume}", file=sys.stderr)
        records = repair_metrics(out, agent.step)
    else:
        metrics_path.unlink(missing_ok=True)
    config = {"agent": plan.agent, **agent.config.to_dict()}
    write_json(out / "config.json", {"package": PACKAGE, "config": config, "version": __version__})
    every = plan.checkpoint_every or agent.config.eval_every
    last_ckpt = [agent.step]

    def on_metrics(rec: dict[str, Any]) -> None:
        rec = {"seed": agent.config.seed, **rec}
        records.append(rec)
        check()
        with metrics_path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        if agent.step - last_ckpt[0] >= every or agent.step >= agent.config.total_steps:
            check()
            atomic_torch_save(agent.state_dict(), ckpt)
            last_ckpt[0] = agent.step

    update, close = (
        _progress(agent.config.total_steps, agent.step, f"{plan.agent} {agent.config.env_id}")
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
        "agent": plan.agent,
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
    check()
    write_json(summary_path, summary)
    agent.close()
    if out != plan.out:
        swap_in(out, plan.out)
    return summary


def run_training(
    agent_name: str,
    options: dict[str, Any],
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    checkpoint_every: int | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Validate (``prepare_run``) and train one agent into ``out`` (``execute_run``); returns the summary."""
    plan = prepare_run(
        agent_name, options, out, resume=resume, overwrite=overwrite, checkpoint_every=checkpoint_every
    )
    return execute_run(plan, show_progress=show_progress)
