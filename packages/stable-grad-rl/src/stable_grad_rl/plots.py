"""Plots (matplotlib, the ``plot`` extra): performance vs depth per intervention; gradient-flow heat maps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from stable_grad_rl.sweep import aggregate


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("plots need matplotlib: pip install 'stable-grad-rl[plot]'") from err
    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)


def plot_metric_vs_depth(results: list[dict[str, Any]], metric: str, path: str | Path) -> Path:
    """Line per intervention: mean +- std over seeds of ``metric`` against depth (Linear layers)."""
    plt = _pyplot()
    table = aggregate(results, metric)
    if not table:
        raise ValueError(f"no run has the metric {metric!r}")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for inter, by_depth in sorted(table.items()):
        depths = sorted(by_depth)
        mean = np.array([by_depth[d]["mean"] for d in depths])
        std = np.array([by_depth[d]["std"] for d in depths])
        ax.errorbar(depths, mean, yerr=std, marker="o", capsize=3, label=inter)
    ax.set_xlabel("depth (Linear layers of the plain network)")
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    path = Path(path)
    _save(fig, path)
    plt.close(fig)
    return path


def load_grad_flow(run_dir: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Layer names, iterations and the ``(layers, time)`` gradient-norm matrix of a run folder."""
    run_dir = Path(run_dir)
    layers = json.loads((run_dir / "layers.json").read_text())
    its, rows = [], []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec.get("grad_norms"):
            its.append(rec["iteration"])
            rows.append(rec["grad_norms"])
    if not rows:
        raise ValueError(f"{run_dir / 'metrics.jsonl'} holds no gradient norms")
    return layers, np.asarray(its), np.asarray(rows, dtype=np.float64).T


def plot_grad_flow(run_dir: str | Path, path: str | Path, title: str | None = None) -> Path:
    """Heat map of log10 per-layer gradient norms: layers (input at the top) x training iterations."""
    plt = _pyplot()
    layers, its, mat = load_grad_flow(run_dir)
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(layers) + 1.5))
    img = ax.imshow(
        np.log10(np.maximum(mat, 1e-12)), aspect="auto", cmap="viridis", interpolation="nearest",
        extent=(float(its[0]), float(its[-1]), len(layers) - 0.5, -0.5),
    )  # fmt: skip
    ax.set_yticks(range(len(layers)))
    ax.set_yticklabels([name.removesuffix(".weight") for name in layers], fontsize=6)
    ax.set_xlabel("iteration")
    ax.set_title(title or Path(run_dir).name, fontsize=9)
    fig.colorbar(img, ax=ax, label="log10 grad norm")
    path = Path(path)
    _save(fig, path)
    plt.close(fig)
    return path
