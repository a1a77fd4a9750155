"""Benchmark of rice-n training: wall and CPU seconds of 300 PPO training episodes (paper defaults: shared
policy FC [256, 256], 20 lockstep episodes per iteration), without and with bilateral negotiation.

    python benchmarks/rice-n-train.py                    # both protocols, 300 episodes each
    python benchmarks/rice-n-train.py --protocol none    # one protocol
    python benchmarks/rice-n-train.py --episodes 100 --out bench.json

Prints (and with --out writes) a JSON object. torch runs on one thread (``--threads``). On a shared
machine the wall time depends on the other load; ``cpu_s`` (CPU time of this process) is the figure of
one core. Target (issue 16): 300 episodes with bilateral negotiation in at most 60 s on a quiet machine. Upstream (facts
file, section 5, Colab notebook, RLlib on one CPU worker): 300 episodes about 6 min without negotiation,
about 33 min with.
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

from rice_n.train import preset, train

TARGETS_S = {"none": 60.0, "bilateral": 60.0}
UPSTREAM_CPU_S = {"none": 360.0, "bilateral": 33 * 60.0}


def bench(protocol: str, episodes: int, seed: int) -> dict[str, Any]:
    """Train ``episodes`` episodes with the default PPO preset; time it (wall and CPU)."""
    with tempfile.TemporaryDirectory() as tmp:
        w0, c0 = time.perf_counter(), time.process_time()
        res = train(preset("ppo", episodes=episodes, protocol=protocol, seed=seed), Path(tmp), progress=False)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    h = res.history
    rollout_s = sum(x["rollout_s"] for x in h)
    learn_s = sum(x["learn_s"] for x in h)
    env_steps = h[-1]["env_steps"]
    return {
        "protocol": protocol,
        "episodes": episodes,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "target_s": TARGETS_S[protocol] * episodes / 300,
        "meets_target_cpu": cpu < TARGETS_S[protocol] * episodes / 300,
        "meets_target_wall": wall < TARGETS_S[protocol] * episodes / 300,
        "upstream_rllib_cpu_s": UPSTREAM_CPU_S[protocol] * episodes / 300,
        "rollout_wall_s": round(rollout_s, 2),
        "learn_wall_s": round(learn_s, 2),
        "env_steps": env_steps,
        "agent_steps": env_steps * 27,
        "first_mean_episode_reward": round(h[0]["mean_episode_reward"], 3),
        "last_mean_episode_reward": round(h[-1]["mean_episode_reward"], 3),
        "last_temperature_rise": round(h[-1]["temperature_rise"], 3),
        "masked_actions": sum(x["masked_actions"] for x in h),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the JSON report."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protocol", choices=["none", "bilateral", "both"], default="both")
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the JSON report here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    protocols = ["none", "bilateral"] if args.protocol == "both" else [args.protocol]
    report = {
        "benchmark": "rice-n-train",
        "torch": torch.__version__,
        "threads": args.threads,
        "cpu": os.cpu_count(),
        "load_avg_1min_before": os.getloadavg()[0],
        "runs": [bench(proto, args.episodes, args.seed) for proto in protocols],
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
