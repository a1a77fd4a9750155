"""Benchmark of rice-n, side by side with upstream's env: env steps per CPU-second, in fresh processes.

    python benchmarks/rice-n.py                                   # rice-n only
    python benchmarks/rice-n.py --upstream /path/to/climate-cooperation-competition \\
        --upstream-python /path/to/py-with-numpy1.26-and-gym/bin/python
    python benchmarks/rice-n.py --quick --out bench.json
    python benchmarks/rice-n.py --single ...                      # single-episode cases only
    git archive v0.X packages/rice-n/src | tar x -C /tmp/before   # an earlier rice-n, measured as well:
    python benchmarks/rice-n.py --baseline /tmp/before/packages/rice-n/src --upstream PATH

Method: every measurement runs in a fresh Python process with one BLAS/OpenMP thread, playing whole
episodes (reset included) with fixed random actions (levels drawn once from a seeded generator; accept
dims 0/1), for at least ``--min-cpu`` CPU-seconds. The processes of all measurements are interleaved
round by round (``--rounds``, default 3) and the median is reported. Rates are per CPU-second of the
measuring process (the one-core figure; on a shared machine the wall rate depends on the other load),
and the load average is recorded before and after. Upstream's env (``rice.py`` of
mila-iqia/climate-cooperation-competition, main @ 148ed85) is imported from ``--upstream PATH``; it needs
numpy < 2 and gym, so give it an interpreter that has them with ``--upstream-python`` (default: this
one). No upstream code is part of this repository. ``--baseline SRC`` also measures the single-episode
cases with another rice-n source tree (its ``src`` folder) in the same interleaved rounds: before/after
figures from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

N = 27

#: The measurement a worker process runs: name -> (what, protocol, episodes per batch).
CASES: dict[str, tuple[str, str, int]] = {
    "upstream-none": ("upstream", "none", 1),
    "upstream-bilateral": ("upstream", "bilateral", 1),
    "parallel_env-none": ("parallel", "none", 1),
    "parallel_env-bilateral": ("parallel", "bilateral", 1),
    "batch1-none": ("batch", "none", 1),
    "batch1-bilateral": ("batch", "bilateral", 1),
    "batch1024-no-obs": ("batch-noobs", "none", 1024),
    "batch1024-no-obs-int8": ("batch-noobs-int8", "none", 1024),
    "batch1024-obs": ("batch", "none", 1024),
}

UPSTREAM_WORKER = r"""
import json, os, sys, time
import numpy as np
path, negotiate, min_cpu = sys.argv[1], sys.argv[2] == "bilateral", float(sys.argv[3])
sys.path.insert(0, path)
os.chdir(path)
from rice import Rice
env = Rice(negotiation_on=negotiate)
rng = np.random.default_rng(0)
acts = {i: rng.integers(0, env.action_space[i].nvec) for i in range(env.num_agents)}
steps, c0, w0 = 0, time.process_time(), time.perf_counter()
while time.process_time() - c0 < min_cpu:
    env.reset()
    done = {"__all__": False}
    while not done["__all__"]:
        _, _, done, _ = env.step(acts)
        steps += 1
print(json.dumps({"steps": steps, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}))
"""


def run_worker(case: str, min_cpu: float) -> dict[str, float]:
    """Measure one case in this process (the ``--worker`` mode): steps, CPU and wall seconds."""
    import numpy as np

    import rice_n

    what, protocol, batch = CASES[case]
    rng = np.random.default_rng(0)
    if what == "parallel":
        env = rice_n.parallel_env(protocol=protocol)
        acts = {a: rng.integers(0, env.action_space(a).nvec) for a in env.possible_agents}

        def episode() -> int:
            env.reset()
            n = 0
            while env.agents:
                env.step(acts)
                n += 1
            return n

    else:
        benv = rice_n.BatchRiceEnv(num_envs=batch, protocol=protocol, observe=what == "batch")
        dtype = np.int8 if what.endswith("int8") else np.int64
        arr = rng.integers(0, benv.action_nvec, (batch, N, benv.n_actions)).astype(dtype)

        def episode() -> int:
            benv.reset()
            for _ in range(benv.episode_length):
                benv.step(arr)
            return benv.episode_length * batch

    episode()  # warm-up (imports, buffers)
    steps, c0, w0 = 0, time.process_time(), time.perf_counter()
    while time.process_time() - c0 < min_cpu:
        steps += episode()
    return {"steps": steps, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}


#: Cases measured with ``--baseline`` as well (suffix ``@baseline``).
BASELINE_CASES = (
    "parallel_env-none",
    "parallel_env-bilateral",
    "batch1-none",
    "batch1-bilateral",
    "batch1024-no-obs",
    "batch1024-obs",
)


def spawn(case: str, args: argparse.Namespace) -> dict[str, float]:
    """Run one case in a fresh process with one BLAS thread; returns its JSON line."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    case, _, where = case.partition("@")
    if where == "baseline":
        env["PYTHONPATH"] = os.pathsep.join([str(args.baseline), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    if case.startswith("upstream"):
        cmd = [
            args.upstream_python,
            "-c",
            UPSTREAM_WORKER,
            str(args.upstream),
            CASES[case][1],
            str(args.min_cpu),
        ]
    else:
        cmd = [sys.executable, __file__, "--worker", case, "--min-cpu", str(args.min_cpu)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark case {case} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the cases interleaved, round by round, and print (or write) the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, default=None, help="a checkout of upstream's repository")
    parser.add_argument("--upstream-python", default=sys.executable, help="interpreter for upstream's env")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another rice-n src folder to measure too"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--min-cpu", type=float, default=2.0, help="CPU-seconds per measurement")
    parser.add_argument("--quick", action="store_true", help="1 round of 0.5 CPU-s (a smoke test)")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    parser.add_argument(
        "--single",
        action="store_true",
        help="only the single-episode cases (parallel_env, BatchRiceEnv(num_envs=1)) and upstream",
    )
    parser.add_argument("--worker", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.min_cpu)))
        return 0
    if args.quick:
        args.rounds, args.min_cpu = 1, 0.5
    if args.upstream is not None and not (args.upstream / "rice.py").is_file():
        parser.error(f"--upstream {str(args.upstream)!r} has no rice.py (give a checkout of upstream)")
    if args.baseline is not None and not (args.baseline / "rice_n" / "__init__.py").is_file():
        parser.error(f"--baseline {str(args.baseline)!r} has no rice_n package (give a rice-n src folder)")
    cases = [c for c in CASES if args.upstream is not None or not c.startswith("upstream")]
    if args.baseline is not None:
        cases += [f"{c}@baseline" for c in BASELINE_CASES]
    if args.single:
        cases = [c for c in cases if CASES[c.partition("@")[0]][2] == 1]
    load0 = os.getloadavg()
    runs: dict[str, list[dict[str, float]]] = {c: [] for c in cases}
    for _ in range(args.rounds):
        for case in cases:
            runs[case].append(spawn(case, args))
    rates: dict[str, Any] = {}
    for case, rs in runs.items():
        rates[case] = {
            "per_cpu_s": statistics.median(r["steps"] / r["cpu_s"] for r in rs),
            "per_wall_s": statistics.median(r["steps"] / r["wall_s"] for r in rs),
        }
    if args.upstream is not None:
        for case in cases:
            if not case.startswith("upstream"):
                ref = "upstream-bilateral" if "bilateral" in case else "upstream-none"
                rates[case]["vs_upstream_per_cpu_s"] = rates[case]["per_cpu_s"] / rates[ref]["per_cpu_s"]
    import numpy as np

    import rice_n

    result = {
        "rice_n_version": rice_n.__version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "method": f"fresh process per measurement, {args.rounds} interleaved rounds, median, "
        f">= {args.min_cpu} CPU-s each, one BLAS thread, whole episodes with fixed random actions",
        "unit": "env steps per CPU-second (batch cases: episode-steps, i.e. env steps x episodes)",
        "load_average_before": load0,
        "load_average_after": os.getloadavg(),
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "rates": rates,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
