"""sparse-drl: CPU cost of a checkpoint per agent, and CPU-s of a short SAC run at 1 and 2 threads.

python benchmarks/sparse-drl-resume.py            # both
python benchmarks/sparse-drl-resume.py checkpoint # cost of one checkpoint vs the env steps between two
python benchmarks/sparse-drl-resume.py threads    # SAC, 800 Pendulum steps (critic 128x1), a fresh process per count
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def checkpoint_cost() -> None:
    """Defaults of each agent; the replay buffer at its full size; a checkpoint every ``eval_every`` steps."""
    from sparse_drl.agents import make_agent
    from sparse_drl.io import atomic_torch_save
    from sparse_drl.runner import set_threads

    set_threads(1)
    for name, env_id, steps in (("sac", "Pendulum-v1", 20), ("dqn", "CartPole-v1", 1000)):
        agent = make_agent(name, env_id=env_id)
        cfg = agent.config
        agent.train(until=cfg.learning_starts)
        start, debt = time.process_time(), 0.0
        for _ in range(steps):  # the training loop's work per env step, without evaluation or diagnostics
            agent.collect()
            debt += cfg.replay_ratio
            while debt >= 1.0:
                agent.update()
                debt -= 1.0
        per_step = (time.process_time() - start) / steps
        agent.buffer.size = agent.buffer.capacity  # the whole buffer is saved (worst case)
        path = Path(tempfile.mkdtemp()) / "checkpoint.pt"
        start = time.process_time()
        for _ in range(3):
            atomic_torch_save(agent.state_dict(), path)
        per_checkpoint = (time.process_time() - start) / 3
        share = 100 * per_checkpoint / (cfg.eval_every * per_step)
        print(f"{name}: {1000 * per_step:.2f} CPU-ms per env step, {1000 * per_checkpoint:.0f} CPU-ms per checkpoint "
              f"({path.stat().st_size / 1e6:.1f} MB, {agent.buffer.capacity} transitions), every {cfg.eval_every} "
              f"steps: {share:.3f} % of the run")  # fmt: skip
        agent.close()


def one_run(threads: int) -> None:
    """SAC on Pendulum-v1 for 800 steps (300 random; critic 128×1) at ``threads`` torch threads; CPU and wall seconds."""
    from sparse_drl.runner import run_training

    start = time.perf_counter()
    options = {"env_id": "Pendulum-v1", "total_steps": 800, "learning_starts": 300, "eval_every": 800,
               "eval_episodes": 1, "log_every": 800, "critic_width": 128, "critic_depth": 1, "threads": threads}  # fmt: skip
    summary = run_training("sac", options, Path(tempfile.mkdtemp()) / "run", show_progress=False)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"threads={threads}: {usage.ru_utime + usage.ru_stime:.1f} CPU-s, {time.perf_counter() - start:.1f} s wall, "
          f"final_eval_return {summary['final_eval_return']:.1f}")  # fmt: skip


def threads() -> None:
    """A fresh process per thread count (OMP_NUM_THREADS unset, so only ``threads`` decides)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    for n in (1, 2):
        print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
        subprocess.run([sys.executable, __file__, "_run", str(n)], env=env, check=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "all"
    if mode == "_run":
        one_run(int(sys.argv[2]))
    if mode in ("all", "checkpoint"):
        print(f"load average: {os.getloadavg()[0]:.1f}")
        checkpoint_cost()
    if mode in ("all", "threads"):
        threads()
