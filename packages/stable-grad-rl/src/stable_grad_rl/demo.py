"""The short demo behind ``stable-grad-rl demo``: the paper's Fig. 1 point on the non-stationary task.

Three networks of the same depth, width, optimizer (Adam) and data are trained on a task whose labels
are redrawn every phase: a deep plain ReLU MLP, the same MLP with LayerNorm in every hidden layer (the
control a reviewer asks for: LayerNorm without skips), and the paper's multi-skip residual MLP with
LayerNorm. The plain network loses its plasticity after the first shift; LayerNorm alone recovers most of
it and the multi-skip network keeps fitting every phase, so at this depth most of the gap is LayerNorm.

What the gradient-flow heat maps (``gradflow_<name>.png``, per-layer gradient norm over training) show:
the plain network's gradients do **not** shrink towards the input; its first layer gets a gradient about
as large as, or larger than, the layers near the output. Its failure is dead units and collapsed feature
rank (``dead_fraction``, ``srank`` in the figures), not vanishing gradients.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from stable_grad_rl.folders import check_folder, write_marker
from stable_grad_rl.rundir import read_metrics
from stable_grad_rl.sweep import intervention_network
from stable_grad_rl.train import TrainConfig, run_training

#: The demo's task (a :class:`~stable_grad_rl.nonstationary.NonStationaryConfig`) and network size.
DEMO_TASK = {"n_phases": 4, "steps_per_phase": 200, "n_samples": 512, "log_every": 25}
DEMO_LAYERS = 24
DEMO_WIDTH = 64
#: The marker kind of a demo folder.
DEMO_KIND = "demo"
#: demo name -> sweep intervention
DEMO_RUNS = {"plain": "baseline", "ln_only": "ln", "multiskip_ln": "multiskip"}


def _sig(value: float | None, digits: int = 2) -> float | None:
    """``value`` rounded to ``digits`` significant digits (reproducible headline numbers)."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _phase_end(run: Path, phase: int) -> dict[str, Any]:
    """The metrics record written at the end of ``phase`` (accuracy, dead fraction, srank, ...)."""
    records = map(json.loads, read_metrics(run / "metrics.jsonl"))
    return next(r for r in records if r.get("phase") == phase and "phase_accuracy" in r)


def run_demo(
    out: str | Path,
    seed: int = 0,
    layers: int | None = None,
    width: int | None = None,
    task: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train the plain, the LayerNorm-only and the multi-skip+LN network on the label-shift task; return
    the demo summary.

    Prints one progress line per stage. ``out`` must be empty, missing or a previous demo's folder (its
    marker: its runs are replaced, also those of a killed demo). ``task`` overrides fields of
    :data:`DEMO_TASK` (``layers`` / ``width``: :data:`DEMO_LAYERS` / :data:`DEMO_WIDTH`). ``figures`` holds, per network,
    the accuracy on the first phase and the mean over the phases after a label shift (rounded to two
    significant digits), and the dead-unit fraction and srank of the features at the end.
    """
    out = Path(out)
    layers = DEMO_LAYERS if layers is None else layers
    width = DEMO_WIDTH if width is None else width
    previous = check_folder(out, DEMO_KIND, overwrite=True)  # an earlier (or killed) demo is replaced
    write_marker(out, DEMO_KIND)
    task = {**DEMO_TASK, **(task or {})}
    n_phases = int(task["n_phases"])
    runs: dict[str, dict[str, Any]] = {}
    stages = len(DEMO_RUNS) + 1
    for i, (name, inter) in enumerate(DEMO_RUNS.items(), 1):
        net, opt = intervention_network(inter, layers, width)
        cfg = TrainConfig(algo="nonstationary", network=net, optimizer=opt, seed=seed, algo_config=task)
        print(
            f"[{i}/{stages}] training {name} (L{layers} W{width}, Adam) on {n_phases} label shifts ...",
            flush=True,
        )
        start = time.process_time()
        runs[name] = run_training(cfg, out / name, overwrite=previous, progress=False)
        acc = ", ".join(f"{a:.2f}" for a in runs[name]["phase_accuracy"])
        print(f"      phase accuracy {acc} ({time.process_time() - start:.1f} CPU-s)", flush=True)
    print(f"[{stages}/{stages}] summarising ...", flush=True)
    figures: dict[str, float | None] = {}
    for name in runs:
        acc = runs[name]["phase_accuracy"]
        end = _phase_end(out / name, n_phases - 1)
        figures[f"{name}_first_phase_acc"] = _sig(acc[0])
        figures[f"{name}_after_shift_acc"] = _sig(sum(acc[1:]) / max(len(acc) - 1, 1))
        figures[f"{name}_dead_fraction"] = _sig(end["dead_fraction"])
        figures[f"{name}_srank"] = end["srank"]
    key = (
        f"shifted: plain {figures['plain_after_shift_acc']:.2f} "
        f"LN {figures['ln_only_after_shift_acc']:.2f} "
        f"MS+LN {figures['multiskip_ln_after_shift_acc']:.2f}"
    )
    heatmaps = []
    try:
        from stable_grad_rl.plots import plot_grad_flow

        heatmaps = [str(plot_grad_flow(out / name, out / f"gradflow_{name}.png")) for name in runs]
    except ImportError:
        pass
    return {
        "key_figure": key,
        "figures": figures,
        "layers": layers,
        "width": width,
        "task": task,
        "phase_accuracy": {k: v["phase_accuracy"] for k, v in runs.items()},
        "heatmaps": heatmaps,
        "seed": seed,
    }
