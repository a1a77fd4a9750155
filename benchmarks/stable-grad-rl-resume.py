"""stable-grad-rl: CPU cost of a checkpoint per trainer, and CPU-s of a short PPO run at 1 and 2 threads.

python benchmarks/stable-grad-rl-resume.py            # both
python benchmarks/stable-grad-rl-resume.py checkpoint # cost of one checkpoint vs the iterations between two
python benchmarks/stable-grad-rl-resume.py threads    # PPO, 10240 CartPole steps, in a fresh process per count
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
    """Defaults of each trainer (CartPole-v1, width-512 MLP, a checkpoint every 50 iterations)."""
    from stable_grad_rl.rundir import save_checkpoint
    from stable_grad_rl.train import TrainConfig, make_trainer, set_threads

    set_threads(1)
    for algo, iterations in (("ppo", 4), ("pqn", 2), ("dqn", 12)):
        cfg = TrainConfig(algo=algo)
        trainer = make_trainer(cfg)
        if algo == "dqn":  # past learning_starts (10k steps), so the timed iterations include updates
            for _ in range(10):
                trainer.step()
        start = time.process_time()
        for _ in range(iterations):
            trainer.step()
        per_iteration = (time.process_time() - start) / iterations
        if algo == "dqn":
            trainer.buffer.full = True  # the whole 10k-transition buffer is saved (worst case)
        path = Path(tempfile.mkdtemp()) / "checkpoint.pt"
        start = time.process_time()
        for _ in range(5):
            save_checkpoint(path, trainer.state_dict())
        per_checkpoint = (time.process_time() - start) / 5
        share = 100 * per_checkpoint / (cfg.checkpoint_every * per_iteration)
        print(f"{algo}: {per_iteration:.2f} CPU-s per iteration, {1000 * per_checkpoint:.0f} CPU-ms per checkpoint "
              f"({path.stat().st_size / 1e6:.1f} MB), every {cfg.checkpoint_every} iterations: {share:.3f} % of the run")  # fmt: skip
        trainer.envs.close()


def one_run(threads: int) -> None:
    """PPO on CartPole-v1 for 10240 steps at ``threads`` torch threads; prints CPU and wall seconds."""
    from stable_grad_rl.train import TrainConfig, run_training

    start = time.perf_counter()
    cfg = TrainConfig(algo="ppo", algo_config={"total_timesteps": 10240}, threads=threads)
    summary = run_training(cfg, Path(tempfile.mkdtemp()) / "run", progress=False)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"threads={threads}: {usage.ru_utime + usage.ru_stime:.1f} CPU-s, {time.perf_counter() - start:.1f} s wall, "
          f"final_return {summary['final_return']}")  # fmt: skip


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
