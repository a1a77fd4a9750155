"""Built-in PPO vs RLlib PPO (``rice-n train --engine rllib``) on the same machine in the same run.

Both train the default ``ppo`` preset (shared policy FC [256, 256], 20 episodes per iteration, 4 epochs x 4
minibatches, gamma 0.92, lr 5e-4) for the same number of episodes with the same seed, one after the
other, then evaluate the final policy with ``rice-n evaluate``'s code (20 sampled episodes, seed 0).

    python benchmarks/rice-n-rllib.py                          # 300 episodes, no negotiation
    python benchmarks/rice-n-rllib.py --episodes 100 --num-env-runners 1 --out bench.json

Prints (and with --out writes) a JSON object: per engine wall seconds, CPU seconds (built-in: this
process; RLlib: this process plus every Ray process it started, read from /proc before shutdown), the
last iteration's mean episode reward and temperature rise, and the evaluation of the final policy; with
the 1-minute load average before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import torch

from rice_n.evaluate import evaluate_policy
from rice_n.train import preset, train


def descendants_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of the live descendants of process ``root`` (Linux /proc)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parent[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    total = 0
    for pid, t in ticks.items():
        p = parent.get(pid, 0)
        while p > 1 and p != root:
            p = parent.get(p, 0)
        if p == root and pid != root:
            total += t
    return total / os.sysconf("SC_CLK_TCK")


def summary(history: list[dict[str, Any]], run: Path) -> dict[str, Any]:
    """Last-iteration training figures and a 20-episode evaluation of the run's final policy."""
    ev = evaluate_policy(str(run), episodes=20, seed=0)
    last = history[-1]
    return {
        "episodes": last["episodes"],
        "iterations": last["iteration"],
        "last_mean_episode_reward": round(last["mean_episode_reward"], 2),
        "last_temperature_rise": round(last["temperature_rise"], 3),
        "eval_episode_reward": round(float(ev.metrics["episode_reward"]), 2),
        "eval_temperature_rise": round(float(ev.metrics["temperature_rise"]), 3),
        "masked_actions": sum(int(h["masked_actions"]) for h in history),
    }


def bench_builtin(config: Any, tmp: Path) -> dict[str, Any]:
    """The built-in trainer: wall and CPU seconds of this process."""
    w0, c0 = time.perf_counter(), time.process_time()
    res = train(config, tmp / "builtin", progress=False)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {
        "engine": "local",
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        **summary(res.history, res.out),
    }


def bench_rllib(config: Any, tmp: Path, num_env_runners: int) -> dict[str, Any]:
    """RLlib on a fresh local Ray instance: Ray start-up timed apart; CPU includes the Ray processes."""
    import ray

    from rice_n.train.rllib_runner import connect, train_rllib

    w0, c0 = time.perf_counter(), time.process_time()
    connect(None, num_env_runners)
    start_s = time.perf_counter() - w0
    ray_cpu0 = descendants_cpu_s(os.getpid())
    w1, c1 = time.perf_counter(), time.process_time()
    res = train_rllib(config, tmp / "rllib", num_env_runners=num_env_runners, progress=False)
    wall, cpu = time.perf_counter() - w1, time.process_time() - c1
    ray_cpu = descendants_cpu_s(os.getpid()) - ray_cpu0
    ray.shutdown()
    return {
        "engine": "rllib",
        "num_env_runners": num_env_runners,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu + ray_cpu, 1),
        "cpu_driver_s": round(cpu, 1),
        "cpu_ray_processes_s": round(ray_cpu, 1),
        "ray_start_wall_s": round(start_s, 1),
        "ray_start_cpu_driver_s": round(c1 - c0, 1),
        **summary(res.history, res.out),
    }


def main(argv: list[str] | None = None) -> int:
    """Run both engines and print the JSON report."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--protocol", choices=["none", "bilateral"], default="none")
    p.add_argument("--num-env-runners", type=int, default=0, help="RLlib sampling actors (0: in-process)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the JSON report here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    config = preset("ppo", episodes=args.episodes, protocol=args.protocol, seed=args.seed)
    report: dict[str, Any] = {
        "benchmark": "rice-n-rllib",
        "protocol": args.protocol,
        "episodes": args.episodes,
        "torch": torch.__version__,
        "cpu": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory() as tmp:
        report["runs"] = [
            bench_builtin(config, Path(tmp)),
            bench_rllib(config, Path(tmp), args.num_env_runners),
        ]
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
