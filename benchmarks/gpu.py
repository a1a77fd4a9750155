"""One prepared GPU check across the packages: prints one table (run it through benchmarks/gpu.sh).

Rows: rice-n's torch batch env (env steps per second at 1,024-65,536 episodes), a short sparse-drl SAC
(dense vs 90 % sparse critic, the paper's 2048 x 3 SimBa critic), stable-grad-rl PQN at the paper's
size (width 2560: 12-layer plain MLP vs 5 multi-skip blocks with LayerNorm and Kron), map-merge's
re-merge at 134M parameters (base + 3 task vectors, on the device), and a vcr-wiki evaluation with a
tiny LLaVA built locally (random weights: speed of the whole evaluation path, not accuracy).

``--tiny`` shrinks every size so that the same code runs on a CPU in about a minute (what the
repository can test without a GPU). Each row is measured after one warm-up and synchronised; a row
that fails prints its error in the table and the others still run. Usage:

    python benchmarks/gpu.py [--device cuda] [--tiny] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
Row = dict[str, Any]


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rice_n_rows(device: torch.device, tiny: bool) -> list[Row]:
    """rice-n's BatchRiceEnv on torch tensors: env steps per second (episodes x steps / s)."""
    import rice_n

    rows = []
    for episodes in [16, 64] if tiny else [1024, 4096, 16384, 65536]:
        env = rice_n.BatchRiceEnv(num_envs=episodes, backend="torch", device=device, dtype=torch.float32)
        env.reset()
        shape = (episodes, env.n_agents, env.n_actions)
        generator = torch.Generator(device=device).manual_seed(0)
        actions = torch.randint(0, 10, shape, device=device, generator=generator)
        env.step(actions)  # warm-up (kernels, caches)
        synchronize(device)
        steps, start, done = 0, time.perf_counter(), False
        while not done:
            *_, done_flag, _ = env.step(actions)
            done = bool(done_flag.all()) if isinstance(done_flag, torch.Tensor) else bool(done_flag)
            steps += 1
        synchronize(device)
        seconds = time.perf_counter() - start
        rows.append(
            row(
                "rice-n",
                f"torch batch env, {episodes:,} episodes, fp32",
                episodes * steps / seconds,
                "env steps/s",
            )
        )
    return rows


def sparse_drl_rows(device: torch.device, tiny: bool) -> list[Row]:
    """A short sparse-drl SAC on Pendulum with the paper's large critic, dense and 90 % sparse."""
    from sparse_drl.agents import SAC, SACConfig

    width, depth = (64, 1) if tiny else (2048, 3)
    starts, updates = (64, 64) if tiny else (1000, 2000)
    rows = []
    for sparsity in (0.0, 0.9):
        config = SACConfig(
            env_id="Pendulum-v1",
            total_steps=starts + updates,
            learning_starts=starts,
            critic_width=width,
            critic_depth=depth,
            actor_width=128,
            actor_depth=1,
            critic_sparsity=sparsity,
            actor_sparsity=sparsity,
            eval_every=starts + updates,
            log_every=starts + updates,
            eval_episodes=1,
            device=str(device),
        )
        agent = SAC(config)
        synchronize(device)
        start = time.perf_counter()
        agent.train()
        synchronize(device)
        rate = updates / (time.perf_counter() - start)
        label = f"SAC critic {width}x{depth}, {'dense' if sparsity == 0 else f'sparsity {sparsity}'}"
        rows.append(row("sparse-drl", label, rate, "env steps/s (1 update each; incl. evaluation)"))
    return rows


def stable_grad_rl_rows(device: torch.device, tiny: bool) -> list[Row]:
    """stable-grad-rl PQN on CartPole at the paper's width: baseline vs the interventions."""
    from stable_grad_rl import PQN, PQNConfig, make_mlp, make_optimizer, make_vec_env

    width = 64 if tiny else 2560
    num_envs = 32 if tiny else 128
    steps = 8_192 if tiny else 131_072
    rows = []
    for label, kind, depth, layernorm, optimizer in (
        ("plain 12 layers, RAdam", "plain", 12, False, "radam"),
        ("multi-skip 5 blocks + LN, Kron", "multiskip", 5, True, "kron"),
    ):
        envs = make_vec_env("CartPole-v1", num_envs=num_envs, seed=0)
        net = make_mlp(4, 2, kind=kind, depth=depth, width=width, layernorm=layernorm).to(device)
        config = PQNConfig(total_timesteps=steps, num_envs=num_envs)
        agent = PQN(envs, net, make_optimizer(optimizer, net.parameters(), 1e-3), config)
        agent.step()  # warm-up iteration
        synchronize(device)
        done_before = agent.iteration
        start = time.perf_counter()
        while agent.iteration < agent.total_iterations:
            agent.step()
        synchronize(device)
        seconds = time.perf_counter() - start
        rate = (agent.iteration - done_before) * num_envs * config.num_steps / seconds
        rows.append(row("stable-grad-rl", f"PQN width {width}, {label}", rate, "env steps/s"))
        envs.close()
    return rows


def map_merge_rows(device: torch.device, tiny: bool) -> list[Row]:
    """map-merge's re-merge primitive (theta = base + V^T c) at 134M parameters and 3 tasks, on the device."""
    from map_merge.task_vectors import merge_into

    params = 1_000_000 if tiny else 134_000_000
    generator = torch.Generator(device=device).manual_seed(0)
    base = torch.randn(params, device=device, generator=generator)
    vectors = torch.randn(3, params, device=device, generator=generator) * 1e-3
    out = torch.empty_like(base)
    c = torch.tensor([0.3, 0.3, 0.3], device=device)
    merge_into(out, base, vectors, c)  # warm-up
    synchronize(device)
    times = []
    for k in range(10):
        c = torch.full((3,), 0.1 * (k + 1), device=device)
        start = time.perf_counter()
        merge_into(out, base, vectors, c)
        synchronize(device)
        times.append(time.perf_counter() - start)
    median = sorted(times)[len(times) // 2]
    traffic = 5 * params * 4 / 1e9  # read base and 3 vectors, write the result (float32)
    label = f"re-merge {params / 1e6:.0f}M params, 3 tasks ({median * 1e3:.2f} ms)"
    return [row("map-merge", label, traffic / median, "GB/s")]


def tiny_vlm_builder() -> Callable[[Path], None]:
    """vcr-wiki's own tiny-LLaVA builder (random weights, offline), from its test module in the checkout."""
    path = ROOT / "packages" / "vcr-wiki" / "tests" / "test_vcr_eval_runners.py"
    spec = importlib.util.spec_from_file_location("vcr_wiki_runner_tests", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"{path} not found: run from a checkout of the monorepo")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    builder: Callable[[Path], None] = module._build_tiny_vlm
    return builder


def vcr_wiki_rows(device: torch.device, tiny: bool) -> list[Row]:
    """A vcr-wiki evaluation of a tiny LLaVA built here, on a dataset built from the shipped samples."""
    from vcr_wiki import BuildConfig, build_dataset
    from vcr_wiki.demo.sample_data import write_sample_pairs
    from vcr_wiki.eval import EvalConfig, evaluate

    with tempfile.TemporaryDirectory(prefix="gpu-vcr-") as tmp:
        folder = Path(tmp)
        tiny_vlm_builder()(folder / "tiny-llava")
        pairs = write_sample_pairs(str(folder / "samples"), "en")
        build_dataset(
            pairs,
            str(folder / "dataset"),
            BuildConfig(lang="en", difficulty="easy", seed=0, split="test"),
            progress=False,
        )
        limit = 8 if tiny else 32
        config = EvalConfig(
            dataset=str(folder / "dataset"),
            model=str(folder / "tiny-llava"),
            out=str(folder / "eval"),
            limit=limit,
            batch_size=8,
            device=device.type,
            dtype="fp32",
            max_new_tokens=16,
            n_resamples=10,
            progress=False,
        )
        synchronize(device)
        start = time.perf_counter()
        metrics = evaluate(config)
        synchronize(device)
        seconds = time.perf_counter() - start
    samples = int(metrics.get("n_samples", limit))
    return [
        row(
            "vcr-wiki",
            f"eval, tiny LLaVA (random weights), {samples} samples",
            samples / seconds,
            "samples/s",
        )
    ]


def row(package: str, setting: str, value: float, unit: str) -> Row:
    """One line of the table."""
    return {"package": package, "setting": setting, "value": round(value, 1), "unit": unit}


CHECKS: list[tuple[str, Callable[[torch.device, bool], list[Row]]]] = [
    ("rice-n", rice_n_rows),
    ("sparse-drl", sparse_drl_rows),
    ("stable-grad-rl", stable_grad_rl_rows),
    ("map-merge", map_merge_rows),
    ("vcr-wiki", vcr_wiki_rows),
]


def table(rows: list[Row]) -> str:
    """The rows as one aligned plain-text table."""
    header = {"package": "package", "setting": "setting", "value": "value", "unit": "unit"}
    cells = [header, *rows]
    widths = {
        k: max(len(f"{r[k]:,}" if isinstance(r[k], float) else str(r[k])) for r in cells) for k in header
    }
    lines = []
    for r in cells:
        value = f"{r['value']:,}" if isinstance(r["value"], float) else str(r["value"])
        lines.append(
            f"{r['package']:<{widths['package']}}  {r['setting']:<{widths['setting']}}  "
            f"{value:>{widths['value']}}  {r['unit']}".rstrip()
        )
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def device_name(device: torch.device) -> str:
    """The card's name (or 'CPU'), for the table's title."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"


def main() -> int:
    """Run every check, print one table (and write it as JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="torch device (default cuda)")
    parser.add_argument(
        "--tiny", action="store_true", help="tiny sizes: the same code on a CPU in about a minute"
    )
    parser.add_argument("--only", nargs="+", choices=[name for name, _ in CHECKS], help="some packages only")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            f"no CUDA GPU visible to torch {torch.__version__} here: nothing to measure (use --device cpu --tiny)"
        )
        return 0
    torch.manual_seed(0)
    rows: list[Row] = []
    start = time.perf_counter()
    for name, check in CHECKS:
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        try:
            rows += check(device, args.tiny)
        except Exception as error:  # one failing row must not hide the others' figures
            traceback.print_exc()
            rows.append(
                {
                    "package": name,
                    "setting": f"FAILED: {type(error).__name__}: {error}"[:90],
                    "value": "-",
                    "unit": "",
                }
            )
        print(f"[{name}] {time.perf_counter() - began:.0f} s", flush=True)
    title = (
        f"GPU check on {device_name(device)}, torch {torch.__version__}{' (tiny sizes)' if args.tiny else ''}"
    )
    print(f"\n{title}, {time.perf_counter() - start:.0f} s\n{table(rows)}")
    if args.json:
        args.json.write_text(json.dumps({"title": title, "rows": rows}, indent=2), encoding="utf-8")
    return 1 if any(r["value"] == "-" for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
