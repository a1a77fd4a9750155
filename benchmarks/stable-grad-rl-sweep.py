"""A 4-trial sweep on the local engine (1 and 2 workers) and on Ray Tune (local instance, 2 CPUs).

Prints wall time, per-trial overhead relative to the 2-worker local pool, CPU time of this process tree
and the load average. Usage: ``python benchmarks/stable-grad-rl-sweep.py [--steps 200]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from stable_grad_rl import SweepConfig, run_sweep, run_sweep_ray


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    """Run the three engines on the same 4-trial grid and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200, help="steps per phase of each trial")
    args = parser.parse_args()
    task = {"n_phases": 2, "steps_per_phase": args.steps, "n_samples": 512, "log_every": 50}
    cfg = SweepConfig(depths=(4,), widths=(64,), interventions=("baseline", "multiskip"), seeds=(0, 1),
                      algo_config=task)  # fmt: skip
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in (
            ("local, 1 worker", lambda out: run_sweep(cfg, out, workers=1)),
            ("local, 2 workers", lambda out: run_sweep(cfg, out, workers=2)),
            ("ray tune, 2 CPUs", lambda out: run_sweep_ray(cfg, out)),
        ):
            if name.startswith("ray"):
                import ray

                t0 = time.perf_counter()
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                startup = time.perf_counter() - t0
            cpu0, t0 = _cpu(), time.perf_counter()
            run(Path(tmp) / name.replace(" ", "_").replace(",", ""))
            rows[name] = (time.perf_counter() - t0, _cpu() - cpu0)
            if name.startswith("ray"):
                ray.shutdown()
    base = rows["local, 2 workers"][0]
    for name, (wall, cpu) in rows.items():
        print(f"{name:<18} wall {wall:6.1f} s  overhead/trial vs 2-worker pool {(wall - base) / 4:+5.1f} s  "
              f"driver+pool CPU {cpu:6.1f} s")  # fmt: skip
    print(f"ray startup {startup:.1f} s (not in the ray row); load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
