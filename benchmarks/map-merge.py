"""map-merge benchmark: streamed merge of a >=100M-parameter model (GB/s, peak memory), the same for
TIES (per-tensor and model-wide trim) and DARE with their CPU time over task arithmetic's, in-memory re-merge
(parameters rewritten in place from the base and 3 task vectors, one thread), and the cost of one MAP front
search. Run: python benchmarks/map-merge.py [--params-millions 134]"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)

def peak_rss_gb():
    # VmHWM belongs to this process image (ru_maxrss would carry the parent's peak across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20

from map_merge import stream_merge, task_vectors
paths = sys.argv[2:]
mode = sys.argv[1]
start = time.perf_counter()
if mode in ("stream", "ties-tensor", "ties-model", "dare"):
    cpu_start = time.process_time()
    if mode == "stream":
        stream_merge(paths[0], paths[1:-1], [0.3] * (len(paths) - 2), paths[-1])
    elif mode == "dare":
        from map_merge import stream_dare
        stream_dare(paths[0], paths[1:-1], paths[-1], 0.9, 0.3)
    else:
        from map_merge import stream_ties
        stream_ties(paths[0], paths[1:-1], paths[-1], 0.2, weights=[1.0, 0.5, 2.0], trim=mode[5:])
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "cpu_seconds_total": usage.ru_utime + usage.ru_stime,
                      "cpu_seconds_merge": time.process_time() - cpu_start, "peak_rss_gb": peak_rss_gb()}))
else:
    tv = task_vectors(paths[0], paths[1:])
    load = time.perf_counter() - start
    module = torch.nn.Module()
    module.layer = torch.nn.ModuleList(
        torch.nn.Linear(tv.base[k].shape[1], tv.base[k].shape[0], bias=False) for k in tv.keys
    )
    times, cpu = [], []
    for k in range(5):
        t, c = time.perf_counter(), time.process_time()
        tv.load_into(module, [0.1 * (k + 1)] * tv.n_tasks)
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    print(json.dumps({"load_seconds": load, "remerge_seconds": sorted(times)[2],
                      "remerge_cpu_seconds": sorted(cpu)[2], "peak_rss_gb": peak_rss_gb()}))
"""


def make_models(folder: Path, params_millions: int, n_finetuned: int = 3) -> list[Path]:
    """A base and perturbed fine-tunes as safetensors files, Llama-like tensor sizes (768 x 2048 blocks)."""
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    shapes, total = [], 0
    while total < params_millions * 1_000_000:
        shapes.append((2048, 768))
        total += 2048 * 768
    base = {f"layer.{i}.weight": torch.randn(shape) * 0.02 for i, shape in enumerate(shapes)}
    paths = [folder / "base.safetensors"]
    save_file(base, str(paths[0]))
    for t in range(n_finetuned):
        paths.append(folder / f"ft{t}.safetensors")
        save_file({k: v + 0.001 * torch.randn(v.shape) for k, v in base.items()}, str(paths[-1]))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params-millions", type=int, default=134)
    args = parser.parse_args()
    results: dict[str, object] = {"params_millions": args.params_millions}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = make_models(folder, args.params_millions)
        size_gb = sum(p.stat().st_size for p in paths) / 1e9
        out = folder / "merged.safetensors"
        stream = json.loads(
            subprocess.check_output([sys.executable, "-c", CHILD, "stream", *map(str, paths), str(out)])
        )
        results["stream_merge"] = stream | {"read_gb": size_gb, "read_gb_per_s": size_gb / stream["seconds"]}
        for mode in (
            "ties-tensor",
            "ties-model",
            "dare",
        ):  # TIES density 0.2, weights (1, 0.5, 2); DARE p=0.9
            results[f"stream_{mode}"] = json.loads(
                subprocess.check_output([sys.executable, "-c", CHILD, mode, *map(str, paths), str(out)])
            )
            results[f"stream_{mode}"]["cpu_over_task_arithmetic"] = (
                results[f"stream_{mode}"]["cpu_seconds_merge"] / stream["cpu_seconds_merge"]
            )
        results["in_memory"] = json.loads(
            subprocess.check_output([sys.executable, "-c", CHILD, "remerge", *map(str, paths)])
        )

    import numpy as np

    from map_merge import amortized_front

    centers = np.random.default_rng(0).uniform(size=(3, 3))
    start = time.perf_counter()
    amortized_front(lambda c: ((c[None] - centers) ** 2).sum(axis=1), 3, maximize=False, link="identity")
    results["front_search_seconds_T3"] = time.perf_counter() - start
    results["benchmark_peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    results["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
