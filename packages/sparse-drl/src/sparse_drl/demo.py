"""The short end-to-end demo: dense vs 80%-sparse SAC (SimBa) on Pendulum, with diagnostics."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from sparse_drl.io import write_json
from sparse_drl.runner import run_training

__all__ = ["run_demo"]


def run_demo(out: str | os.PathLike[str], seed: int = 0, steps: int = 4000) -> dict[str, Any]:
    """Train dense and sparse SAC for ``steps`` steps each; write ``out/demo.json`` (with ``key_figure``)."""
    torch.set_num_threads(1)
    out = Path(out)
    base = {
        "env_id": "Pendulum-v1",
        "total_steps": int(steps),
        "learning_starts": 500,
        "replay_ratio": 1.0,
        "batch_size": 128,
        "actor_width": 64,
        "critic_width": 128,
        "critic_depth": 1,
        "actor_lr": 1e-3,
        "critic_lr": 1e-3,
        "temp_lr": 1e-3,
        "temp_init": 0.1,
        "eval_every": max(1, steps // 4),
        "log_every": max(1, steps // 4),
        "eval_episodes": 5,
        "seed": int(seed),
    }
    results = {}
    for label, s in (("dense", 0.0), ("sparse", 0.8)):
        results[label] = run_training(
            "sac",
            {**base, "actor_sparsity": s, "critic_sparsity": s},
            out / label,
            resume=True,
            show_progress=False,
        )
    d, s = results["dense"], results["sparse"]
    key = (
        f"Pendulum SAC {steps} steps: dense {d['mean_last3_eval_return']:.0f} vs 80%-sparse "
        f"{s['mean_last3_eval_return']:.0f} ({s['total_effective_params']:,}/{s['total_params']:,} params), "
        f"dormant {d['final_critic_dormant_0.1']:.3f} vs {s['final_critic_dormant_0.1']:.3f}"
    )
    demo = {"key_figure": key, "seed": seed, "steps": steps, "runs": results}
    write_json(out / "demo.json", demo)
    return demo
