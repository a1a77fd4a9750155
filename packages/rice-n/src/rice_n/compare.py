"""Compare policies: evaluate each (run folders, evaluation folders or ``random``) on the same seed and
tabulate the competition metrics, the Pareto front in (climate index, economic index) and its hypervolume.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rice_n import __version__
from rice_n._io import write_csv_atomic, write_json_atomic
from rice_n.evaluate import METRIC_KEYS, evaluate_policy
from rice_n.metrics import hypervolume, pareto_front

COMPARE_COLUMNS = ("name", "source", *METRIC_KEYS, "hypervolume", "on_front")


def _load_entry(
    spec: str, episodes: int, seed: int, greedy: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Metrics of one compared policy (and its training history, if it is a run folder)."""
    path = Path(spec)
    history: list[dict[str, Any]] = []
    if spec != "random" and path.is_dir() and (path / "metrics.json").is_file():
        data = json.loads((path / "metrics.json").read_text())
        missing = [k for k in ("climate_index", "economic_index") if k not in data]
        if missing:
            raise ValueError(f"{str(path / 'metrics.json')!r} lacks {missing}: not an evaluation")
        data.setdefault("per_episode", {k: [data[k]] for k in METRIC_KEYS if k in data})
        return {"source": "evaluation", **data}, history
    if spec != "random" and not path.exists():
        raise ValueError(f"no run, evaluation folder or policy file at {spec!r} (or pass 'random')")
    result = evaluate_policy(spec, episodes=episodes, seed=seed, greedy=greedy).to_json()
    if path.is_dir() and (path / "metrics.jsonl").is_file():
        history = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return {"source": "random" if spec == "random" else "policy", **result}, history


def compare(
    specs: list[str],
    out: str | Path,
    episodes: int = 10,
    seed: int = 0,
    greedy: bool = False,
    plots: bool = True,
) -> dict[str, Any]:
    """Evaluate or read each of ``specs``; write ``compare.json``, ``compare.csv`` and plots under ``out``."""
    if not specs:
        raise ValueError("nothing to compare: give run folders, evaluation folders or 'random'")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = _unique_names(specs)
    rows, groups, histories = [], {}, {}
    for name, spec in zip(names, specs, strict=True):
        entry, history = _load_entry(spec, episodes, seed, greedy)
        rows.append({"name": name, "source": entry["source"], **{k: entry.get(k) for k in METRIC_KEYS}})
        rows[-1]["hypervolume"] = entry.get("hypervolume")
        groups[name] = entry["per_episode"]
        if history:
            histories[name] = history
    points = np.array([[r["climate_index"], r["economic_index"]] for r in rows], dtype=np.float64)
    front = pareto_front(points)
    for r, p in zip(rows, points, strict=True):
        r["on_front"] = bool(any(np.allclose(p, f) for f in front))
    summary = {
        "policies": rows,
        "pareto_front": [r["name"] for r in rows if r["on_front"]],
        "hypervolume": hypervolume(points),
        "best_reward": max(rows, key=lambda r: r["episode_reward"])["name"],
        "config": {"specs": list(specs), "episodes": episodes, "seed": seed, "greedy": greedy},
        "rice_n_version": __version__,
    }
    write_json_atomic(out / "compare.json", summary)
    write_csv_atomic(out / "compare.csv", rows, COMPARE_COLUMNS)
    if plots:
        from rice_n.plots import plot_compare_curves, plot_indices

        summary["plots"] = plot_indices(groups, out) + plot_compare_curves(histories, out)
    return summary


def _unique_names(specs: list[str]) -> list[str]:
    """Short display names (folder names), made unique with a suffix."""
    names: list[str] = []
    for spec in specs:
        base = Path(spec).name or str(spec)
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def format_table(summary: dict[str, Any]) -> str:
    """A plain-text table of the compared policies."""
    head = f"{'policy':<24}{'reward':>10}{'dT (°C)':>10}{'climate':>10}{'economic':>10}  front"
    lines = [head]
    for r in summary["policies"]:
        lines.append(
            f"{r['name'][:23]:<24}{r['episode_reward']:>10.2f}{r['temperature_rise']:>10.3f}"
            f"{r['climate_index']:>10.3f}{r['economic_index']:>10.3f}  {'*' if r['on_front'] else ''}"
        )
    lines.append(f"hypervolume of the policies' (climate, economic) points: {summary['hypervolume']:.4f}")
    return "\n".join(lines)
