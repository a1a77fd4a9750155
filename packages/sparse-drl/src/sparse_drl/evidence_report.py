"""Tables, intervals, verdicts and the figure of ``sparse-drl evidence``, all computed from results.json.

The README's evidence section is :func:`render_tables` of the committed ``evidence/results.json``
(between the ``<!-- evidence:begin -->`` and ``<!-- evidence:end -->`` lines); a test holds them equal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BEGIN", "END", "bootstrap_ci", "readme_block", "render_tables", "summarize", "write_figure"]

BEGIN = "<!-- evidence:begin -->"
END = "<!-- evidence:end -->"
RESAMPLES = 10_000


def bootstrap_ci(values: list[float], seed: int = 0) -> tuple[float, float, float]:
    """Mean and 95 % percentile-bootstrap interval of the mean (``RESAMPLES`` resamples, seeded)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(RESAMPLES, x.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(x.mean()), float(lo), float(hi)


def _scores(results: dict[str, Any], block: str, arm: str, lr: float) -> dict[int, float]:
    return {
        c["seed"]: c["score"]
        for c in results["cells"]
        if c["block"] == block and c["arm"] == arm and c["lr"] == lr
    }


def _final(results: dict[str, Any], block: str, arm: str) -> list[float]:
    """The scores of ``arm`` over every seed (in seed order) at its chosen learning rate."""
    by_seed = _scores(results, block, arm, results["chosen_lr"][f"{block}/{arm}"])
    return [by_seed[s] for s in results["seeds"]]


def _paired_diff(results: dict[str, Any], block: str, a: str, b: str) -> tuple[float, float, float]:
    """Mean of ``a - b`` over the shared seeds, with its bootstrap interval (seeds resampled in pairs)."""
    diff = [x - y for x, y in zip(_final(results, block, a), _final(results, block, b), strict=True)]
    return bootstrap_ci(diff)


def _arm_names(results: dict[str, Any], block: str) -> list[str]:
    return [a["name"] for a in results["arms"] if a["block"] == block]


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Per arm: chosen lr, mean score and interval; per block: the gate and the verdict sentences."""
    summary: dict[str, Any] = {}
    for block in ("rl", "plasticity"):
        arms = {}
        for name in _arm_names(results, block):
            mean, lo, hi = bootstrap_ci(_final(results, block, name))
            arms[name] = {"lr": results["chosen_lr"][f"{block}/{name}"], "mean": mean, "lo": lo, "hi": hi}
        summary[block] = {"arms": arms, **_verdict(results, block)}
    return summary


def _fmt(mean: float, lo: float, hi: float) -> str:
    return f"{mean:.2f} [{lo:.2f}, {hi:.2f}]"


def _verdict(results: dict[str, Any], block: str) -> dict[str, str]:
    names = _arm_names(results, block)
    dense = [n for n in names if n.startswith("dense-w")]
    sparse = [n for n in names if n.startswith("sparse90-")]
    matched = next(n for n in names if n.startswith("dense-matched"))
    big_sparse = sparse[-1]
    big_dense = dense[-1]
    what = "return" if block == "rl" else "last-phase accuracy"
    vs_dense = _paired_diff(results, block, big_sparse, big_dense)
    vs_matched = _paired_diff(results, block, big_sparse, matched)
    out: dict[str, str] = {}
    gate_ok = True
    if len(dense) > 1:
        grow = _paired_diff(results, block, big_dense, dense[0])
        gate_ok = grow[2] < 0
        out["gate"] = f"Gate: {big_dense} minus {dense[0]} = {_fmt(*grow)} ({what}); dense " + (
            "degrades as it grows." if gate_ok else "does not degrade as it grows at this scale."
        )
    better = vs_dense[1] > 0 and vs_matched[1] > 0
    appears = gate_ok and better
    out["verdict"] = (
        f"Verdict: the effect {'appears' if appears else 'does not appear'}: {big_sparse} minus {big_dense} "
        f"= {_fmt(*vs_dense)}, {big_sparse} minus {matched} = {_fmt(*vs_matched)} ({what}, paired over "
        f"{len(results['seeds'])} seeds, 95 % bootstrap intervals"
        + ("" if gate_ok or not better else "; sparse is better, but dense did not degrade first")
        + ")."
    )
    return out


def render_tables(results: dict[str, Any]) -> str:
    """The markdown tables (per block: arms at their chosen lr, then the lr sweep) and the verdicts."""
    scale = results["scale"]
    counts = {(a["block"], a["name"]): a for a in results["arms"]}
    lines = [
        f"Scale `{scale['name']}`, seeds {results['seeds']}, {results['cpu_s_cells']:.0f} CPU-s in cells; "
        "mean over seeds with a 95 % bootstrap interval, each arm at its own best learning rate.",
        "",
    ]
    titles = {
        "rl": (
            f"DQN on {results['rl_env']} ({scale['rl_steps']:,} steps; SimBa Q-network, LayerNorm in "
            "every block); score: mean eval return of the last two evaluations"
        ),
        "plasticity": (
            f"Plasticity probe (ReLU MLP, depth 3, {scale['probe_phases']} phases x "
            f"{scale['probe_steps']} Adam steps); score: accuracy at the end of the last phase"
        ),
    }
    for block in ("rl", "plasticity"):
        summ = results["summary"][block]
        lines += [f"**{titles[block]}**", "", "| arm | params (non-zero) | lr | score [95 % CI] |"]
        lines.append("|---|---:|---:|---:|")
        for name in _arm_names(results, block):  # arm order (results.json stores dicts key-sorted)
            row, arm = summ["arms"][name], counts[(block, name)]
            lines.append(
                f"| {name} | {arm['params']:,} ({arm['nonzero_params']:,}) | {row['lr']:g} | "
                f"{_fmt(row['mean'], row['lo'], row['hi'])} |"
            )
        lrs = scale["rl_lrs"] if block == "rl" else scale["probe_lrs"]
        n = scale["rl_sweep_seeds"] if block == "rl" else scale["probe_sweep_seeds"]
        sweep_seeds = results["seeds"][:n]
        lines += ["", f"lr sweep (mean score over seeds {sweep_seeds}):", ""]
        lines.append("| arm | " + " | ".join(f"lr {lr:g}" for lr in lrs) + " |")
        lines.append("|---|" + "---:|" * len(lrs))
        for name in _arm_names(results, block):
            row = []
            for lr in lrs:
                by_seed = _scores(results, block, name, lr)
                vals = [by_seed[s] for s in sweep_seeds if s in by_seed]
                row.append(f"{sum(vals) / len(vals):.2f}" if vals else "-")
            lines.append(f"| {name} | " + " | ".join(row) + " |")
        lines += [""]
        if "gate" in summ:
            lines += [summ["gate"], ""]
        lines += [summ["verdict"], ""]
    return "\n".join(lines).rstrip() + "\n"


def readme_block(results: dict[str, Any]) -> str:
    """The README's evidence section body, with its begin/end marker lines."""
    return f"{BEGIN}\n{render_tables(results)}{END}"


def write_figure(results: dict[str, Any], path: str | os.PathLike[str]) -> Path | None:
    """Bar chart (mean and 95 % interval per arm, one panel per block); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    path = Path(path)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    labels = {"rl": "eval return (MinAtar Breakout)", "plasticity": "last-phase accuracy"}
    for ax, block in zip(axes, ("rl", "plasticity"), strict=True):
        arms = results["summary"][block]["arms"]
        names = _arm_names(results, block)
        means = [arms[n]["mean"] for n in names]
        err = [
            [arms[n]["mean"] - arms[n]["lo"] for n in names],
            [arms[n]["hi"] - arms[n]["mean"] for n in names],
        ]
        colors = ["tab:orange" if n.startswith("sparse") else "tab:blue" for n in names]
        ax.bar(range(len(names)), means, yerr=err, color=colors, capsize=4)
        ax.set_xticks(range(len(names)), [f"{n}\nlr {arms[n]['lr']:g}" for n in names], fontsize=7)
        ax.set_ylabel(labels[block])
        ax.set_title(f"{block}: mean over {len(results['seeds'])} seeds, 95 % CI")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path
