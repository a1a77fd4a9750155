"""Plots of fronts: 2-D scatter, 3-D scatter, parallel coordinates for more tasks (matplotlib, optional)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError('plots need matplotlib: pip install "map-merge[plot]"') from error
    return plt


def plot_fronts(
    fronts: dict[str, np.ndarray], path: str | Path, task_names: list[str] | None = None, title: str = ""
) -> Path:
    """Draw several named point sets (N_i, T): 2-D or 3-D scatter, or parallel coordinates for T > 3."""
    plt = _pyplot()
    n_tasks = next(iter(fronts.values())).shape[1]
    names = task_names or [f"task {t}" for t in range(n_tasks)]
    styles = {
        "grid": dict(s=6, c="0.75"),
        "grid front": dict(s=18, c="k", marker="s"),
        "MAP predicted": dict(s=16, facecolors="none", edgecolors="C0", zorder=2),
        "samples (real)": dict(s=30, c="C3", marker="x", zorder=3),
    }
    if n_tasks <= 3:
        fig = plt.figure(figsize=(6, 5))
        ax = fig.add_subplot(projection="3d" if n_tasks == 3 else None)
        for label, points in fronts.items():
            points = np.atleast_2d(points)
            ax.scatter(*points.T, label=f"{label} ({len(points)})", **styles.get(label, dict(s=14)))
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        if n_tasks == 3:
            ax.set_zlabel(names[2])
    else:
        fig, ax = plt.subplots(figsize=(1.4 * n_tasks + 2, 4))
        for k, (label, points) in enumerate(fronts.items()):
            color = f"C{k}"
            for row in np.atleast_2d(points):
                ax.plot(range(n_tasks), row, color=color, alpha=0.4)
            ax.plot([], [], color=color, label=label)
        ax.set_xticks(range(n_tasks), names)
        ax.set_ylabel("metric")
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")  # recognised by outdir.remove_stale_temps
    fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    tmp.replace(path)
    return path


def plot_experiment(result: dict[str, Any], path: str | Path) -> Path:
    """The demo figure: grid front, MAP predicted and re-evaluated, random front."""
    fronts = {
        "grid front": np.array(result["grid_front"]),
        "MAP predicted": np.array(result["front"]["predicted"]),
        "MAP real": np.array(result["front"]["real"]),
        "random (2x evals)": np.array(result["random_front"]),
    }
    title = f"MAP {result['map_evaluations']} evals vs grid {result['grid_evaluations']}"
    return plot_fronts(fronts, path, result["tasks"], title)


def plot_front_file(data: dict[str, Any], path: str | Path) -> Path:
    """Plot a front.json payload: predicted front and the real evaluated samples."""
    fronts = {  # predicted first (hollow), real samples drawn on top so none is hidden
        "MAP predicted": np.array(data["predicted"]),
        "samples (real)": np.array(data["sample_metrics"]),
    }
    title = f"{data['method']}: {len(data['predicted'])} front points, {data['n_evaluations']} evaluations"
    return plot_fronts(fronts, path, data.get("tasks"), title)
