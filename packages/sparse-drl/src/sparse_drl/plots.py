"""Figures: return vs parameter count (dense vs sparse) and diagnostics curves (needs ``[plot]``)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sparse_drl.io import read_jsonl

__all__ = ["plot_diagnostics", "plot_scaling"]

CURVES = (
    "eval_return",
    "critic_dormant_0.1",
    "critic_srank",
    "critic_grad_cos_abs",
    "critic_weight_norm",
    "critic_grad_norm",
)


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("plots need the extra: pip install 'sparse-drl[plot]'") from err
    return plt


def _save(fig: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)


def plot_scaling(sweep_json: str | os.PathLike[str], out_png: str | os.PathLike[str]) -> Path:
    """Final return (mean +- std over seeds) vs total parameter count, one line per sparsity."""
    plt = _plt()
    summary = json.loads(Path(sweep_json).read_text())["summary"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for s in sorted({row["sparsity"] for row in summary}):
        rows = sorted(
            (r for r in summary if r["sparsity"] == s and r["return_mean"] is not None),
            key=lambda r: r["total_params"],
        )
        if not rows:
            continue
        label = "dense" if s == 0 else f"sparsity {s:g}"
        ax.errorbar(
            [r["total_params"] for r in rows],
            [r["return_mean"] for r in rows],
            yerr=[r["return_std"] for r in rows],
            marker="o",
            capsize=3,
            label=label,
        )
    ax.set_xscale("log")
    ax.set_xlabel("parameters (dense count)")
    ax.set_ylabel("return (mean of last 3 evals)")
    ax.legend()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, out_png)
    plt.close(fig)
    return out_png


def plot_diagnostics(run_dirs: Sequence[str | os.PathLike[str]], out_png: str | os.PathLike[str]) -> Path:
    """Curves of return and diagnostics over environment steps for each run folder (metrics.jsonl)."""
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(12, 6))
    for run in run_dirs:
        recs = read_jsonl(Path(run) / "metrics.jsonl")
        label = Path(run).name
        for ax, key in zip(axes.flat, CURVES, strict=False):
            pts = [(r["step"], r[key]) for r in recs if r.get(key) is not None]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=label)
            ax.set_title(key)
            ax.set_xlabel("env steps")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, out_png)
    plt.close(fig)
    return out_png
