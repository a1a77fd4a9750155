"""The paper's question with learned behaviour: does negotiation lead trained agents to better climate
outcomes, and at what economic cost?

``python -m rice_n.experiment --out DIR`` trains the shared PPO policy under each protocol (no
negotiation, upstream's bilateral negotiation, a climate club) for several seeds, evaluates every
trained policy and the untrained policy of the same protocol and seed (the network as initialized:
nearly uniform over the allowed levels) on the same evaluation seed, and writes ``DIR/results.json``,
``DIR/table.md`` and ``DIR/protocols.png``. Each training run is a normal run folder
(``DIR/runs/<protocol>-seed<S>``), so an interrupted experiment continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from rice_n import __version__
from rice_n._io import (
    OutputError,
    check_owned_dir,
    output_dir,
    owned_output,
    write_bytes_atomic,
    write_json_atomic,
    write_marker,
)
from rice_n.params import RiceParams, default_params
from rice_n.protocols import ClimateClub, Protocol, protocol_label

#: Reported per evaluation: means over the evaluation episodes.
KEYS = ("temperature_rise", "gross_output", "episode_reward", "climate_index", "economic_index")


def largest_emitters(params: RiceParams, k: int) -> list[int]:
    """The ``k`` regions with the largest industrial emissions at the start (sigma_0 x production)."""
    y0 = params.A_0 * params.K_0**params.gamma * (params.L_0 / 1000.0) ** (1.0 - params.gamma)
    return sorted(int(i) for i in np.argsort(-(params.sigma_0 * y0))[:k])


def experiment_protocols(club_size: int = 9) -> dict[str, str | Protocol]:
    """The compared protocols: none, bilateral, and a club of the largest emitters (0.5 floor, 0.3 tariff)."""
    members = largest_emitters(default_params(), club_size)
    return {
        "none": "none",
        "bilateral": "bilateral",
        "climate-club": ClimateClub(members=members, min_mitigation=0.5, tariff=0.3),
    }


def _untrained(protocol: Any, seed: int, hidden: tuple[int, ...]) -> Any:
    """The policy as ``train`` initializes it for this protocol and seed."""
    import torch

    from rice_n.batch import BatchRiceEnv
    from rice_n.train.policy import ObsSplit, SharedPolicy

    env = BatchRiceEnv(num_envs=1, protocol=protocol)
    torch.manual_seed(seed)
    return SharedPolicy(ObsSplit.from_env(env), env.action_nvec, hidden)


def _evaluation(result: Any) -> dict[str, float]:
    out = {k: result.metrics[k] for k in KEYS}
    out["mean_mitigation"] = float(np.mean(result.trajectory["mean_mitigation"][1:]))  # activity steps
    out["mean_savings"] = float(np.mean(result.trajectory["mean_savings"][1:]))
    return out


def run_experiment(
    out: Path,
    seeds: list[int],
    episodes: int,
    eval_episodes: int,
    eval_seed: int,
    resume: bool,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Train and evaluate every (protocol, seed); returns the results object (also written to out).

    ``only`` restricts the protocols (several processes can share ``out`` with ``resume``; a last run
    over all protocols then finds every training done and only evaluates).
    """
    from rice_n.evaluate import PolicyActor, evaluate_actor, evaluate_policy
    from rice_n.train import preset, train

    protocols = experiment_protocols()
    if only:
        unknown = sorted(set(only) - set(protocols))
        if unknown:
            raise ValueError(f"unknown protocol {unknown[0]!r}; the experiment compares {sorted(protocols)}")
        protocols = {k: v for k, v in protocols.items() if k in only}
    rows = []
    total = len(protocols) * len(seeds)
    t0 = time.perf_counter()
    for i, (name, protocol) in enumerate(protocols.items()):
        for j, seed in enumerate(seeds):
            step = i * len(seeds) + j + 1
            print(f"[{step}/{total}] {name}, seed {seed}: training {episodes} episodes", flush=True)
            cfg = preset("ppo", episodes=episodes, protocol=protocol, seed=seed)
            run = out / "runs" / f"{name}-seed{seed}"
            done = (run / "policy.safetensors").is_file() and _episodes_done(run) >= episodes
            if not done:
                c0 = time.process_time()
                train(cfg, run, resume=resume, progress=False)
                cpu = time.process_time() - c0
            else:
                cpu = None
            trained = evaluate_policy(run, episodes=eval_episodes, seed=eval_seed)
            actor = PolicyActor(_untrained(protocol, seed, cfg.hidden), eval_seed)
            untrained = evaluate_actor(actor, eval_episodes, protocol=protocol)
            rows.append(
                {
                    "protocol": name,
                    "seed": seed,
                    "train_cpu_s": cpu,
                    "trained": _evaluation(trained),
                    "untrained": _evaluation(untrained),
                }
            )
    results = {
        "question": "does negotiation lead trained agents to better climate outcomes, at what economic cost?",
        "protocols": {k: protocol_label(v) for k, v in protocols.items()},
        "seeds": seeds,
        "episodes": episodes,
        "eval_episodes": eval_episodes,
        "eval_seed": eval_seed,
        "rows": rows,
        "summary": summarize(rows),
        "wall_s": time.perf_counter() - t0,
        "rice_n_version": __version__,
    }
    write_json_atomic(out / "results.json", results)
    write_bytes_atomic(out / "table.md", format_table(results).encode())
    plot_protocols(results, out)
    return results


def _episodes_done(run: Path) -> int:
    lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").is_file() else []
    try:
        return int(json.loads(lines[-1])["episodes"]) if lines else 0
    except (ValueError, KeyError):
        return 0


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per protocol and policy (trained/untrained): [mean, std over seeds] of each metric."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for name in dict.fromkeys(r["protocol"] for r in rows):
        out[name] = {}
        for which in ("untrained", "trained"):
            vals = [r[which] for r in rows if r["protocol"] == name]
            out[name][which] = {
                k: [float(np.mean([v[k] for v in vals])), float(np.std([v[k] for v in vals]))]
                for k in vals[0]
            }
    return out


def format_table(results: dict[str, Any]) -> str:
    """A markdown table: protocol x (untrained, trained), mean ± std over seeds."""
    head = (
        "| protocol | policy | temperature rise (°C) | gross output | episode reward | mean mitigation "
        "| mean savings |\n|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for name, by in results["summary"].items():
        for which in ("untrained", "trained"):
            m = by[which]
            cells = [
                f"{m['temperature_rise'][0]:.2f} ± {m['temperature_rise'][1]:.2f}",
                f"{m['gross_output'][0]:.0f} ± {m['gross_output'][1]:.0f}",
                f"{m['episode_reward'][0]:.1f} ± {m['episode_reward'][1]:.1f}",
                f"{m['mean_mitigation'][0]:.2f} ± {m['mean_mitigation'][1]:.2f}",
                f"{m['mean_savings'][0]:.2f} ± {m['mean_savings'][1]:.2f}",
            ]
            lines.append(f"| {name} | {which} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def plot_protocols(results: dict[str, Any], out: Path) -> list[str]:
    """Temperature rise against gross output: untrained -> trained, per protocol (seeds as points)."""
    from rice_n.plots import _pyplot, _save

    plt = _pyplot()
    if plt is None:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colors = {"none": "tab:gray", "bilateral": "tab:blue", "climate-club": "tab:green"}
    for name in results["summary"]:
        rows = [r for r in results["rows"] if r["protocol"] == name]
        c = colors.get(name)
        for r in rows:
            u, t = r["untrained"], r["trained"]
            ax.annotate(
                "",
                xy=(t["gross_output"], t["temperature_rise"]),
                xytext=(u["gross_output"], u["temperature_rise"]),
                arrowprops={"arrowstyle": "->", "color": c, "alpha": 0.6},
            )
        ax.scatter(
            [r["untrained"]["gross_output"] for r in rows],
            [r["untrained"]["temperature_rise"] for r in rows],
            marker="o",
            facecolors="none",
            edgecolors=c,
            label=f"{name}, untrained",
        )
        ax.scatter(
            [r["trained"]["gross_output"] for r in rows],
            [r["trained"]["temperature_rise"] for r in rows],
            marker="o",
            color=c,
            label=f"{name}, trained",
        )
    ax.set_xlabel("gross output (sum over regions and steps)")
    ax.set_ylabel("temperature rise 2015-2115 (°C)")
    ax.set_title(f"PPO, {results['episodes']} episodes, {len(results['seeds'])} seeds: untrained -> trained")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out / "protocols.png")
    plt.close(fig)
    return ["protocols.png"]


def main(argv: list[str] | None = None) -> int:
    """``python -m rice_n.experiment --out DIR [--seeds 0,1,2] [--episodes 300]``."""
    parser = argparse.ArgumentParser(prog="python -m rice_n.experiment", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, metavar="DIR", help="experiment folder")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated (default 0,1,2)")
    parser.add_argument("--episodes", type=int, default=300, help="training episodes per run (default 300)")
    parser.add_argument("--eval-episodes", type=int, default=20, help="evaluation episodes (default 20)")
    parser.add_argument("--eval-seed", type=int, default=0, help="seed of the evaluation's sampled actions")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted experiment in DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace the experiment in DIR once done")
    parser.add_argument("--protocols", default=None, help="a subset, comma-separated (default: all three)")
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        if not seeds or args.episodes < 1 or args.eval_episodes < 1:
            raise ValueError("--seeds, --episodes and --eval-episodes need at least one seed / episode")
        if args.resume and args.overwrite:
            raise ValueError("--resume and --overwrite exclude each other")
        out = Path(args.out)
        held = check_owned_dir(
            out,
            "evidence",
            "rice-n evidence",
            replace=args.resume or args.overwrite,
            flags="--resume or --overwrite",
        )
        only = args.protocols.split(",") if args.protocols else None
        if held and args.resume:
            with output_dir(out):
                write_marker(out, "evidence")  # refreshed (atomic): a run killed before it has it already
                results = run_experiment(
                    out, seeds, args.episodes, args.eval_episodes, args.eval_seed, True, only=only
                )
        else:
            with owned_output(out, "evidence", held) as folder:
                results = run_experiment(
                    folder, seeds, args.episodes, args.eval_episodes, args.eval_seed, False, only=only
                )
    except (OutputError, ValueError) as exc:
        print(f"rice_n.experiment: error: {exc}", file=sys.stderr)
        return 2
    print(format_table(results), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
