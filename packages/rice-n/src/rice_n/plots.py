"""PNG plots of a simulated trajectory (needs matplotlib: ``pip install 'rice-n[plot]'``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from rice_n._io import write_bytes_atomic


def _pyplot() -> Any:
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def have_matplotlib() -> bool:
    """True when matplotlib can be imported (the PNG plots need it: ``pip install 'rice-n[plot]'``)."""
    return _pyplot() is not None


def _save(fig: Any, path: Path) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    write_bytes_atomic(path, buf.getvalue())


def plot_trajectory(
    rows: list[dict[str, Any]], region_rows: list[dict[str, Any]], out: str | Path
) -> list[str]:
    """Temperature, carbon, consumption per region and mitigation plots; returns the file names written.

    Returns an empty list (and writes nothing) when matplotlib is not installed.
    """
    plt = _pyplot()
    if plt is None:
        return []
    out = Path(out)
    years = [r["year"] for r in rows]
    written = []
    specs = [
        (
            "temperature.png",
            "Temperature rise over pre-industrial (°C)",
            [("T_AT", "atmosphere"), ("T_LO", "lower ocean")],
        ),
        (
            "carbon.png",
            "Carbon mass (GtC)",
            [("M_AT", "atmosphere"), ("M_UP", "upper ocean"), ("M_LO", "lower ocean")],
        ),
    ]
    for name, title, series in specs:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for key, label in series:
            ax.plot(years, [r[key] for r in rows], label=label)
        ax.set_title(title)
        ax.set_xlabel("year")
        ax.legend()
        _save(fig, out / name)
        plt.close(fig)
        written.append(name)
    regions = sorted(
        {r["region"] for r in region_rows}, key=lambda n: [r["region"] for r in region_rows].index(n)
    )
    for name, key, title in (
        ("consumption.png", "consumption", "Consumption per region"),
        ("mitigation.png", "mitigation", "Mitigation rate per region"),
    ):
        fig, ax = plt.subplots(figsize=(7, 4))
        for region in regions:
            pts = [(r["year"], r[key]) for r in region_rows if r["region"] == region and r["t"] > 0]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=0.8)
        ax.set_title(title + f" ({len(regions)} regions)")
        ax.set_xlabel("year")
        _save(fig, out / name)
        plt.close(fig)
        written.append(name)
    return written


def plot_learning_curve(
    history: list[dict[str, Any]], out: str | Path, name: str = "learning_curve.png"
) -> list[str]:
    """Mean episode reward, temperature rise and the two indices against training episodes."""
    plt = _pyplot()
    if plt is None or not history:
        return []
    eps = [h["episodes"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    axes[0].plot(eps, [h["mean_episode_reward"] for h in history])
    axes[0].set_title("mean episode reward (sum over regions)")
    axes[1].plot(eps, [h["temperature_rise"] for h in history], color="tab:red")
    axes[1].set_title("temperature rise 2015-2115 (°C)")
    axes[2].plot(eps, [h["climate_index"] for h in history], label="climate index")
    axes[2].plot(eps, [h["economic_index"] for h in history], label="economic index")
    axes[2].legend()
    axes[2].set_title("competition indices")
    for ax in axes:
        ax.set_xlabel("training episodes")
    fig.tight_layout()
    _save(fig, Path(out) / name)
    plt.close(fig)
    return [name]


def plot_evaluation(result: Any, out: str | Path) -> list[str]:
    """Plots of an evaluation (a :class:`rice_n.evaluate.EvalResult`): climate, mitigation, indices."""
    plt = _pyplot()
    if plt is None:
        return []
    out = Path(out)
    traj = result.trajectory
    years = traj["year"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    axes[0].plot(years, traj["T_AT"], color="tab:red")
    axes[0].set_title("atmospheric temperature (°C, mean over episodes)")
    for ax, per_region, mean, what in (
        (axes[1], result.region_mitigation, traj["mean_mitigation"], "mitigation"),
        (axes[2], result.region_savings, traj["mean_savings"], "savings"),
    ):
        arr = np.asarray(per_region)  # (steps, regions)
        ax.fill_between(years, arr.min(1), arr.max(1), color="tab:blue", alpha=0.2, label="regions: min-max")
        ax.plot(years, np.percentile(arr, 50, axis=1), color="tab:blue", lw=1, label="regions: median")
        ax.plot(years, mean, color="k", lw=2, label="mean of regions")
        ax.set_title(f"{what} rate ({arr.shape[1]} regions, mean over episodes)")
        ax.legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("year")
    fig.tight_layout()
    _save(fig, out / "evaluation.png")
    plt.close(fig)
    written = ["evaluation.png"]
    written += plot_indices({"episodes": result.per_episode}, out, name="indices.png")
    return written


def plot_indices(
    groups: dict[str, dict[str, list[float]]], out: str | Path, name: str = "indices.png"
) -> list[str]:
    """Scatter of (climate index, economic index) per episode, one colour per group (policy)."""
    plt = _pyplot()
    if plt is None:
        return []
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for label, per in groups.items():
        ax.scatter(per["climate_index"], per["economic_index"], s=14, label=label, alpha=0.7)
    ax.set_xlabel("climate index")
    ax.set_ylabel("economic index")
    ax.set_title("competition indices (1 = best bound)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, Path(out) / name)
    plt.close(fig)
    return [name]


def plot_compare_curves(histories: dict[str, list[dict[str, Any]]], out: str | Path) -> list[str]:
    """Learning curves (mean episode reward and temperature rise) of several runs on shared axes."""
    plt = _pyplot()
    if plt is None or not histories:
        return []
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for label, hist in histories.items():
        eps = [h["episodes"] for h in hist]
        axes[0].plot(eps, [h["mean_episode_reward"] for h in hist], label=label)
        axes[1].plot(eps, [h["temperature_rise"] for h in hist], label=label)
    axes[0].set_title("mean episode reward")
    axes[1].set_title("temperature rise (°C)")
    for ax in axes:
        ax.set_xlabel("training episodes")
        ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, Path(out) / "learning_curves.png")
    plt.close(fig)
    return ["learning_curves.png"]
