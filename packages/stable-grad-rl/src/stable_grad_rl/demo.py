"""The short demo behind ``stable-grad-rl demo``: a deep plain MLP vs the interventions on the
non-stationary supervised task, with gradient-norm spread and (if matplotlib is present) heat maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stable_grad_rl.sweep import intervention_network
from stable_grad_rl.train import TrainConfig, run_training

DEMO_TASK = {"n_phases": 4, "steps_per_phase": 250, "n_samples": 1024, "log_every": 25}


def run_demo(
    out: str | Path, seed: int = 0, layers: int = 12, width: int = 64, task: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Train baseline, multi-skip+LN and Kron on the label-shift task; return the demo summary.

    ``task`` overrides fields of :data:`DEMO_TASK` (a :class:`NonStationaryConfig`).
    """
    out = Path(out)
    runs: dict[str, Any] = {}
    for inter in ("baseline", "multiskip", "kron"):
        net, opt = intervention_network(inter, layers, width)
        cfg = TrainConfig(
            algo="nonstationary",
            network=net,
            optimizer=opt,
            seed=seed,
            algo_config={**DEMO_TASK, **(task or {})},
        )
        runs[inter] = run_training(cfg, out / inter, progress=False)
    heatmaps = []
    try:
        from stable_grad_rl.plots import plot_grad_flow

        heatmaps = [str(plot_grad_flow(out / name, out / f"gradflow_{name}.png")) for name in runs]
    except ImportError:
        pass
    acc = {k: v["final_accuracy"] for k, v in runs.items()}
    ratio = {k: v.get("grad_first_last_ratio") for k, v in runs.items()}
    key = (
        f"last-phase acc (L{layers} W{width}): plain {acc['baseline']:.2f}, "
        f"multiskip+LN {acc['multiskip']:.2f}, Kron {acc['kron']:.2f}"
    )
    return {
        "key_figure": key,
        "final_accuracy": acc,
        "phase_accuracy": {k: v["phase_accuracy"] for k, v in runs.items()},
        "grad_first_last_ratio": ratio,
        "heatmaps": heatmaps,
        "seed": seed,
    }
