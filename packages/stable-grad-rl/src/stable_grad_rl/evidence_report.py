"""The evidence run's report: bootstrap intervals, the gate and verdicts, table.md, evidence.png, README.

Everything here is a pure function of the cell records (or of ``results.json``), so the README's evidence
section is regenerated from the committed results file by :func:`render_readme_section` and a test holds
the two equal.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import numpy as np

from stable_grad_rl.atomic import atomic_write_bytes, atomic_write_json

#: How the tables name the arms.
ARM_LABELS = {
    "plain": "plain",
    "ln": "LN only",
    "multiskip": "multi-skip + LN",
    "kron": "multi-skip + LN + Kron",
}
BOOTSTRAP_RESAMPLES = 10_000
#: The README's generated block: ``README_BEGIN.format(source=...)`` ... :data:`README_END`.
README_BEGIN = "<!-- evidence-table: begin (generated from {source}) -->"
README_END = "<!-- evidence-table: end -->"


def bootstrap_ci(values: list[float], seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (fixed resampling seed: reproducible)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, (BOOTSTRAP_RESAMPLES, data.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bootstrap_diff_ci(a: list[float], b: list[float], seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of ``mean(a) - mean(b)`` (independent resampling of each)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size == 0 or y.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    mx = x[rng.integers(0, x.size, (BOOTSTRAP_RESAMPLES, x.size))].mean(axis=1)
    my = y[rng.integers(0, y.size, (BOOTSTRAP_RESAMPLES, y.size))].mean(axis=1)
    lo, hi = np.quantile(mx - my, [0.025, 0.975])
    return float(lo), float(hi)


def _returns(cells: list[dict[str, Any]], arm: str, layers: int) -> list[float]:
    return [
        float(c["final_return"])
        for c in sorted(cells, key=lambda c: c["seed"])
        if c["arm"] == arm and c["layers"] == layers and c["final_return"] is not None
    ]


def summarise(cells: list[dict[str, Any]], arms: list[str], depths: list[int]) -> dict[str, Any]:
    """Per arm and depth: mean, 95 % bootstrap interval, n and the per-seed returns."""
    table: dict[str, Any] = {}
    for arm in arms:
        for layers in depths:
            vals = _returns(cells, arm, layers)
            lo, hi = bootstrap_ci(vals)
            table.setdefault(arm, {})[str(layers)] = {
                "mean": float(np.mean(vals)) if vals else None, "lo": lo, "hi": hi, "n": len(vals),
                "per_seed": vals,
            }  # fmt: skip
    return table


def _fmt(st: dict[str, Any]) -> str:
    if st["mean"] is None:
        return "-"
    return f"{st['mean']:.2f} [{st['lo']:.2f}, {st['hi']:.2f}]"


def _compare(cells: list[dict[str, Any]], a: str, b: str, depths: list[int]) -> list[dict[str, Any]]:
    out = []
    for layers in depths:
        x, y = _returns(cells, a, layers), _returns(cells, b, layers)
        if x and y:
            lo, hi = bootstrap_diff_ci(x, y)
            out.append({"layers": layers, "diff": float(np.mean(x) - np.mean(y)), "lo": lo, "hi": hi})
    return out


def _diff_sentence(name_a: str, name_b: str, diffs: list[dict[str, Any]]) -> str:
    above = [d["layers"] for d in diffs if d["lo"] > 0]
    below = [d["layers"] for d in diffs if d["hi"] < 0]
    parts = ", ".join(f"L{d['layers']} {d['diff']:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}]" for d in diffs)
    if above and not below:
        head = (
            f"{name_a} is better than {name_b} at {_layers(above)} (95 % interval of the difference above 0)"
        )
    elif below and not above:
        head = f"{name_a} is worse than {name_b} at {_layers(below)} (interval of the difference below 0)"
    elif above and below:
        head = f"{name_a} is better than {name_b} at {_layers(above)} and worse at {_layers(below)}"
    else:
        head = (
            f"no difference between {name_a} and {name_b} is resolved at any depth (every interval spans 0)"
        )
    return f"{head}; differences of the means: {parts}."


def _layers(depths: list[int]) -> str:
    return ", ".join(f"{d} layers" for d in depths)


def verdicts(
    cells: list[dict[str, Any]], summary: dict[str, Any], arms: list[str], depths: list[int]
) -> dict[str, str]:
    """Plain sentences: the gate (does plain degrade with depth?), multi-skip vs LN-only, Kron."""
    out: dict[str, str] = {}
    if "plain" in arms and len(depths) > 1:
        lo_d, hi_d = min(depths), max(depths)
        a, b = summary["plain"][str(lo_d)], summary["plain"][str(hi_d)]
        if a["mean"] is not None and b["mean"] is not None:
            trend = f"plain {_fmt(a)} at {lo_d} layers -> {_fmt(b)} at {hi_d} layers"
            if b["hi"] < a["lo"]:
                out["gate"] = (
                    f"The problem exists here: the plain network degrades with depth ({trend}; intervals apart)."
                )
            elif b["mean"] < a["mean"]:
                out["gate"] = (
                    f"The plain network's mean drops with depth ({trend}) but the intervals overlap: the "
                    "degradation is not resolved at this scale."
                )
            else:
                out["gate"] = f"The plain network does not degrade with depth at this scale ({trend})."
    if "multiskip" in arms and "ln" in arms:
        out["multiskip_vs_ln"] = _diff_sentence(
            "multi-skip + LN", "LN only", _compare(cells, "multiskip", "ln", depths)
        )
    if "kron" in arms and "multiskip" in arms:
        out["kron_vs_multiskip"] = _diff_sentence(
            "adding Kron (multi-skip + LN + Kron)", "multi-skip + LN with RAdam",
            _compare(cells, "kron", "multiskip", depths),
        )  # fmt: skip
    return out


def build_results(
    config: Any, sweep: list[dict[str, Any]], best_lr: dict[str, float], study: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``results.json`` object: config, every cell, best lrs, summaries with intervals, verdicts."""
    from stable_grad_rl import __version__

    arms, depths = list(config.arms), list(config.depths)
    summary = summarise(study, arms, depths)
    sweep_summary: dict[str, Any] = {}
    for arm in arms:
        for lr in config.sweep_lrs:
            vals = [
                float(c["final_return"])
                for c in sweep
                if c["arm"] == arm and c["lr"] == lr and c["final_return"] is not None
            ]
            sweep_summary.setdefault(arm, {})[f"{lr:g}"] = {
                "mean": float(np.mean(vals)) if vals else None, "per_seed": vals,
            }  # fmt: skip
    return {
        "version": __version__,
        "config": config.to_dict(),
        "best_lr": {a: best_lr[a] for a in arms},
        "sweep": sweep_summary,
        "summary": summary,
        "verdicts": verdicts(study, summary, arms, depths),
        "sweep_cells": sorted(sweep, key=lambda c: c["name"]),
        "cells": sorted(study, key=lambda c: c["name"]),
    }


def render_table(results: dict[str, Any]) -> str:
    """Markdown: the depth table (mean [95 % interval]), the lr sweep table, the verdicts."""
    cfg = results["config"]
    arms, depths = list(results["summary"]), [str(d) for d in cfg["depths"]]
    seeds = ", ".join(str(s) for s in cfg["seeds"])
    lines = [
        f"PQN on {cfg['env']}, {cfg['steps']:,} env steps, width {cfg['width']}, seeds {seeds} (the same "
        "in every arm). Return: mean of the last 20 episodes; mean over seeds with a 95 % bootstrap "
        "interval; each arm at its best lr from the sweep below.",
        "",
        "| arm (lr) | " + " | ".join(f"{d} layers" for d in depths) + " |",
        "|---|" + "---|" * len(depths),
    ]
    for arm in arms:
        row = [_fmt(results["summary"][arm][d]) for d in depths]
        lines.append(
            f"| {ARM_LABELS.get(arm, arm)} ({results['best_lr'][arm]:g}) | " + " | ".join(row) + " |"
        )
    lrs = [f"{lr:g}" for lr in cfg["sweep_lrs"]]
    sweep_seeds = ", ".join(str(s) for s in cfg["sweep_seeds"])
    lines += [
        "",
        f"Learning-rate sweep at {cfg['sweep_depth']} layers, seeds {sweep_seeds}: mean return (per seed).",
        "",
        "| arm | " + " | ".join(f"lr {lr}" for lr in lrs) + " |",
        "|---|" + "---|" * len(lrs),
    ]
    for arm in arms:
        cells = []
        for lr in lrs:
            st = results["sweep"][arm][lr]
            per = ", ".join(f"{v:.2f}" for v in st["per_seed"])
            mark = "**" if float(lr) == results["best_lr"][arm] else ""
            cells.append("-" if st["mean"] is None else f"{mark}{st['mean']:.2f}{mark} ({per})")
        lines.append(f"| {ARM_LABELS.get(arm, arm)} | " + " | ".join(cells) + " |")
    names = {"gate": "Gate", "multiskip_vs_ln": "Multi-skip vs LN only", "kron_vs_multiskip": "Kron"}
    lines.append("")
    for key, text in results["verdicts"].items():
        lines.append(f"- **{names.get(key, key)}**: {text}")
    return "\n".join(lines) + "\n"


def render_readme_section(results: dict[str, Any], source: str = "evidence/results.json") -> str:
    """The README's generated evidence block for the results file ``source`` (path relative to the
    package), between :data:`README_BEGIN` and :data:`README_END`."""
    return f"{README_BEGIN.format(source=source)}\n{render_table(results)}{README_END}"


def plot_evidence(results: dict[str, Any], path: Path) -> Path:
    """Return vs depth per arm with its 95 % bootstrap band (needs matplotlib, the ``plot`` extra)."""
    from stable_grad_rl.plots import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for arm, by_depth in results["summary"].items():
        depths = sorted(int(d) for d in by_depth if by_depth[d]["mean"] is not None)
        means = [by_depth[str(d)]["mean"] for d in depths]
        ax.plot(
            depths, means, marker="o", label=f"{ARM_LABELS.get(arm, arm)} (lr {results['best_lr'][arm]:g})"
        )
        ax.fill_between(
            depths,
            [by_depth[str(d)]["lo"] for d in depths],
            [by_depth[str(d)]["hi"] for d in depths],
            alpha=0.2,
        )
    ax.set_xlabel("depth (Linear layers of the plain network)")
    ax.set_ylabel("final return (95 % bootstrap CI)")
    ax.set_title(f"PQN on {results['config']['env']}, {results['config']['steps']:,} steps")
    ax.legend(fontsize=8)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def write_outputs(results: dict[str, Any], out: Path) -> None:
    """Write ``results.json``, ``table.md`` and (with matplotlib) ``evidence.png`` into ``out``."""
    atomic_write_json(out / "results.json", results)
    atomic_write_bytes(out / "table.md", render_table(results).encode())
    with contextlib.suppress(ImportError):  # matplotlib (the plot extra) absent: no figure
        plot_evidence(results, out / "evidence.png")
