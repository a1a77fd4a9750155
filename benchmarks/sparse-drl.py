"""sparse-drl benchmarks and evidence.

  python benchmarks/sparse-drl.py overhead [--width 256 --depth 2 --repeats 5]
      masked (sparse) vs dense training-step time of a SimBa critic at the same width (AdamW, batch 256),
      and the cost of one full SAC update, dense vs sparse.
  python benchmarks/sparse-drl.py reproduce --out runs/evidence [--env Hopper-v5 --steps 15000 ...]
      CPU-scale reproduction: a large dense SAC vs the same network at the paper's sparsity, several seeds;
      return and dormant ratio over training (a sparse-drl sweep underneath; resumable).
  python benchmarks/sparse-drl.py probe [--width 256 --depth 2 --phases 4 --steps 300]
      plasticity probe (facts file's probe 2, scaled down): a SimBa network memorises random labels that
      are redrawn each phase; dense vs 90%-sparse, accuracy, dormant ratio and srank per phase.
  python benchmarks/sparse-drl.py plasticity --out runs/plasticity.json [--widths 128 256 512 ...]
      evidence: the demo's non-stationary probe (plain ReLU MLP, random labels redrawn every phase) over
      widths x sparsities x seeds; per-phase accuracy and dormant ratio (resumable JSON).
  python benchmarks/sparse-drl.py sweep-timing --out runs/timing
      a sweep of 4 tiny trials with the local engine (--workers 2) and with Ray Tune: wall time and
      overhead per trial.
With no argument, runs ``overhead`` (what ``nox -s bench`` does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from sparse_drl import sparsify
from sparse_drl.networks import SimBaEncoder


def _critic(in_dim: int, width: int, depth: int) -> nn.Module:
    return nn.Sequential(SimBaEncoder(in_dim, width, depth), nn.Linear(width, 1))


def time_steps(net: nn.Module, steps: int, batch: int, in_dim: int) -> float:
    """Seconds per AdamW training step (forward, backward, step; masks kept by the hooks when sparse)."""
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=1e-2)
    x, y = torch.randn(batch, in_dim), torch.randn(batch, 1)
    for _ in range(5):
        opt.zero_grad()
        (net(x) - y).square().mean().backward()
        opt.step()
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        (net(x) - y).square().mean().backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def overhead(args: argparse.Namespace) -> dict[str, object]:
    """Dense vs masked step time at the same width, interleaved repeats, median ratio."""
    torch.set_num_threads(args.threads)
    in_dim = 20
    dense_times, sparse_times = [], []
    torch.manual_seed(0)
    dense = _critic(in_dim, args.width, args.depth)
    sparse = sparsify(_critic(in_dim, args.width, args.depth), args.sparsity, seed=0)
    for _ in range(args.repeats):
        dense_times.append(time_steps(dense, args.steps, args.batch, in_dim))
        sparse_times.append(time_steps(sparse, args.steps, args.batch, in_dim))
    d, s = statistics.median(dense_times), statistics.median(sparse_times)
    result = {
        "width": args.width,
        "depth": args.depth,
        "sparsity": args.sparsity,
        "batch": args.batch,
        "threads": args.threads,
        "dense_ms": 1e3 * d,
        "sparse_ms": 1e3 * s,
        "overhead_pct": 100.0 * (s / d - 1.0),
        "dense_runs_ms": [1e3 * t for t in dense_times],
        "sparse_runs_ms": [1e3 * t for t in sparse_times],
    }
    print(
        f"SimBa critic {args.width}x{args.depth}, batch {args.batch}, AdamW: dense {result['dense_ms']:.2f} ms/step, "
        f"masked {args.sparsity:g} {result['sparse_ms']:.2f} ms/step -> overhead {result['overhead_pct']:+.1f}%"
    )
    return result


def reproduce(args: argparse.Namespace) -> dict[str, object]:
    """Large dense vs sparse SAC on a Gymnasium task, several seeds (a resumable sparse-drl sweep)."""
    from sparse_drl.sweep import run_sweep

    base = {
        "env_id": args.env,
        "total_steps": args.steps,
        "learning_starts": args.learning_starts,
        "replay_ratio": args.replay_ratio,
        "actor_width": args.actor_width,
        "actor_depth": 1,
        "num_critics": args.num_critics,
        "clipped_double_q": args.num_critics > 1,
        "eval_every": args.eval_every,
        "log_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "actor_lr": args.lr,
        "critic_lr": args.lr,
    }
    result = run_sweep(
        "sac", base, args.sizes, args.sparsities, args.seeds, args.out, engine="local", workers=args.workers
    )
    for row in result["summary"]:
        print(json.dumps(row))
    return result


def probe(args: argparse.Namespace) -> dict[str, object]:
    """Random-label memorisation with labels redrawn each phase: dense vs sparse SimBa, AdamW."""
    from sparse_drl import dormant_ratio, stable_rank
    from sparse_drl.diagnostics import collect_linear_outputs

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.samples, args.in_dim, generator=gen)
    labels = [torch.randint(0, 10, (args.samples,), generator=gen) for _ in range(args.phases)]
    result: dict[str, object] = {"config": vars(args).copy(), "networks": {}}
    for s in args.sparsities:
        torch.manual_seed(args.seed)
        enc = SimBaEncoder(args.in_dim, args.width, args.depth)
        net = nn.Sequential(enc, nn.Linear(args.width, 10))
        if s > 0:
            sparsify(net, s, seed=args.seed)
        opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-2)
        rows = []
        t0 = time.perf_counter()
        for phase, y in enumerate(labels):
            for _ in range(args.steps):
                idx = torch.randint(0, args.samples, (args.batch,), generator=gen)
                loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                acc = float((net(x).argmax(-1) == y).float().mean())
                feats = enc(x[:1024])
            outs = collect_linear_outputs(enc, lambda enc=enc: enc(x[:1024]))
            rows.append(
                {
                    "phase": phase,
                    "accuracy": acc,
                    "dormant_0.1": dormant_ratio(list(outs.values()), 0.1),
                    "srank": stable_rank(feats),
                }
            )
            print(f"sparsity {s:g} phase {phase}: {rows[-1]}", flush=True)
        nonzero = sum(int((p != 0).sum()) for p in net.parameters())
        result["networks"][f"{s:g}"] = {
            "phases": rows,
            "nonzero_params": nonzero,
            "time_s": time.perf_counter() - t0,
        }
    return result


def plasticity(args: argparse.Namespace) -> dict[str, object]:
    """Widths x sparsities x seeds of the demo's probe; results kept in a JSON file (skips done runs)."""
    import dataclasses
    import os

    from sparse_drl.plasticity import ProbeConfig, run_probe

    torch.set_num_threads(1)
    out = Path(args.out)
    done: dict[str, object] = json.loads(out.read_text()) if out.exists() else {}
    for width in args.widths:
        cfg = ProbeConfig(width=width, depth=args.depth, phases=args.phases, steps=args.steps, lr=args.lr)
        for s in args.sparsities:
            for seed in args.seeds:
                key = f"w{width}_s{s:g}_seed{seed}_lr{args.lr:g}"
                if key in done:
                    continue
                t0 = time.process_time()
                res = run_probe(cfg, s, seed)
                res["cpu_s"] = time.process_time() - t0
                res["config"] = dataclasses.asdict(cfg)
                done[key] = res
                accs = [round(r["accuracy"], 2) for r in res["phases"]]
                dorm = [round(r["dormant"], 2) for r in res["phases"]]
                print(f"{key}: accuracy {accs} dormant {dorm} ({res['cpu_s']:.0f} CPU-s)", flush=True)
                tmp = out.with_suffix(".tmp")
                tmp.write_text(json.dumps(done, indent=1) + "\n")
                os.replace(tmp, out)
    return done


def sweep_timing(args: argparse.Namespace) -> dict[str, object]:
    """4 tiny DQN trials (2 sparsities x 2 seeds): local pool of 2 vs Ray Tune on a fresh local Ray."""
    import os
    import subprocess

    grid = ["--agent", "dqn", "--steps", str(args.steps), "--sizes", "32x1", "--sparsities", "0", "0.9",
            "--seed", "0", "1", "--learning-starts", "200", "--eval-every", "500", "--log-every", "500",
            "--eval-episodes", "2"]  # fmt: skip
    result: dict[str, object] = {"load_before": os.getloadavg()}
    for engine, extra in (("local", ["--workers", "2"]), ("ray", ["--engine", "ray"])):
        out = Path(args.out) / engine
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sparse_drl", "sweep", *grid, *extra, "--out", str(out)], check=True
        )
        wall = time.perf_counter() - t0
        trial_s = [
            json.loads(line)["time_s"]
            for run in sorted(out.iterdir())
            if (run / "metrics.jsonl").exists()
            for line in (run / "metrics.jsonl").read_text().splitlines()[-1:]
        ]
        result[engine] = {
            "wall_s": wall,
            "trial_train_s": trial_s,
            "overhead_per_trial_s": (wall - sum(trial_s) / 2) / len(trial_s),  # 2 run in parallel
            "load_after": os.getloadavg(),
        }
        print(engine, json.dumps(result[engine]), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    o = sub.add_parser("overhead")
    o.add_argument("--width", type=int, default=256)
    o.add_argument("--depth", type=int, default=2)
    o.add_argument("--sparsity", type=float, default=0.9)
    o.add_argument("--batch", type=int, default=256)
    o.add_argument("--steps", type=int, default=30)
    o.add_argument("--repeats", type=int, default=5)
    o.add_argument("--threads", type=int, default=1)
    o.add_argument("--out", default=None, help="optional JSON output file")
    o.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("reproduce")
    r.add_argument("--env", default="Hopper-v5")
    r.add_argument("--steps", type=int, default=15_000)
    r.add_argument("--learning-starts", type=int, default=2_000)
    r.add_argument("--replay-ratio", type=float, default=1.0)
    r.add_argument("--sizes", nargs="+", default=["256x1"])
    r.add_argument("--sparsities", type=float, nargs="+", default=[0.0, 0.9])
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--actor-width", type=int, default=128)
    r.add_argument("--num-critics", type=int, default=1)
    r.add_argument("--lr", type=float, default=3e-4)
    r.add_argument("--eval-every", type=int, default=2_500)
    r.add_argument("--eval-episodes", type=int, default=5)
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--out", default="runs/evidence")
    q = sub.add_parser("probe")
    q.add_argument("--width", type=int, default=256)
    q.add_argument("--depth", type=int, default=2)
    q.add_argument("--in-dim", type=int, default=32)
    q.add_argument("--samples", type=int, default=2048)
    q.add_argument("--phases", type=int, default=4)
    q.add_argument("--steps", type=int, default=300)
    q.add_argument("--batch", type=int, default=256)
    q.add_argument("--lr", type=float, default=1e-3)
    q.add_argument("--sparsities", type=float, nargs="+", default=[0.0, 0.9])
    q.add_argument("--threads", type=int, default=1)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", default=None, help="optional JSON output file")
    pl = sub.add_parser("plasticity")
    pl.add_argument("--widths", type=int, nargs="+", default=[128, 256, 512])
    pl.add_argument("--depth", type=int, default=3)
    pl.add_argument("--sparsities", type=float, nargs="+", default=[0.0, 0.9])
    pl.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    pl.add_argument("--phases", type=int, default=8)
    pl.add_argument("--steps", type=int, default=300)
    pl.add_argument("--lr", type=float, default=1e-2)
    pl.add_argument("--out", default="runs/plasticity.json")
    t = sub.add_parser("sweep-timing")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--out", default="runs/timing")
    args = parser.parse_args(argv if argv is not None else (sys.argv[1:] or ["overhead"]))
    if args.command == "reproduce":
        reproduce(args)
    elif args.command == "plasticity":
        plasticity(args)
    elif args.command == "sweep-timing":
        print(json.dumps(sweep_timing(args)))
    elif args.command == "probe":
        result = probe(args)
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    else:
        result = overhead(args)
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
