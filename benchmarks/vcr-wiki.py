"""Benchmark of the vcr-wiki builder: samples/s per core, --workers scaling, 5,000-sample build, memory.

Inputs: 300 px wide JPEG photos-like pictures (drawn scenes with sensor-like noise, 300x225) and English
captions long enough for the full 5 lines, English easy (the issue's setting).

    python benchmarks/vcr-wiki.py                 # 5,000 samples, workers 1 and 2
    python benchmarks/vcr-wiki.py --n 1000 --quick

Prints a JSON object: per-core rate of SampleMaker.row, build wall times and rates for workers 1 and 2,
speedup, peak RSS of builds of two sizes (run in child processes), and the PNG writer vs Pillow's.
On a shared machine, wall-clock rates depend on the other load: ``samples_per_cpu_s`` (samples per
CPU-second of the build's processes, start-up and imports included) is the per-core figure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def make_pairs(root: Path, n: int, distinct: int = 200) -> Path:
    """n English pairs over ``distinct`` JPEG pictures; each caption fills 5 lines at 300 px."""
    from vcr_wiki.demo.sample_data import draw_scene, sample_captions

    caps = sample_captions("en")
    (root / "img").mkdir(parents=True, exist_ok=True)
    for i in range(distinct):
        draw_scene(i, 300, 225).save(root / "img" / f"{i:04d}.jpg", quality=90)
    with (root / "pairs.jsonl").open("w") as fh:
        for i in range(n):
            caption = caps[i % len(caps)] + " " + caps[(i * 7 + 3) % len(caps)]
            fh.write(json.dumps({"image": f"img/{i % distinct:04d}.jpg", "caption": caption}) + "\n")
    return root / "pairs.jsonl"


def per_core_rate(pairs: Path, count: int, deflate: str = "auto") -> dict:
    """Samples/s of SampleMaker.row in this process (one core), after a short warm-up."""
    from vcr_wiki.builder.inputs import InputSpec, read_pairs
    from vcr_wiki.builder.sample import BuildConfig, SampleMaker

    maker = SampleMaker(BuildConfig(lang="en", difficulty="easy", png_deflate=deflate))
    rows = [p for _, p in zip(range(count), read_pairs(InputSpec(str(pairs))), strict=False)]
    for p in rows[:20]:
        maker.row(p)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    kept = sum(isinstance(maker.row(p), dict) for p in rows)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"png_deflate": maker.deflate, "samples": len(rows), "kept": kept, "wall_s": round(wall, 3), "samples_per_s": round(len(rows) / wall, 1),
            "samples_per_cpu_s": round(len(rows) / cpu, 1)}  # fmt: skip


def child_build(pairs: str, out: str, workers: int) -> None:
    """Run one build in this (child) process and print its timing and peak memory as JSON."""
    from vcr_wiki.builder.builder import build_dataset
    from vcr_wiki.builder.sample import BuildConfig

    t0 = time.perf_counter()
    m = build_dataset(pairs, out, BuildConfig(lang="en", difficulty="easy", split="test"), workers=workers,
                      progress=False)  # fmt: skip
    wall = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print(
        json.dumps(
            {
                "workers": workers,
                "rows_in": m["rows_in"],
                "rows_out": m["rows_out"],
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "samples_per_s": round(m["rows_in"] / wall, 1),
                "samples_per_cpu_s": round(m["rows_in"] / cpu, 1),
                "peak_rss_main_mb": round(me.ru_maxrss / 1024, 1),
                "peak_rss_worker_mb": round(kids.ru_maxrss / 1024, 1),
                "dataset_mb": round(sum(s["bytes"] for s in m["shards"]) / 2**20, 1),
            }
        )
    )


def run_child(pairs: Path, out: Path, workers: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(pairs), str(out), str(workers)]
    res = subprocess.run(
        cmd, capture_output=True, text=True, check=True, env=os.environ | {"TQDM_DISABLE": "1"}
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def png_vs_pillow(reps: int = 50) -> dict:
    """ms per stacked image (300x337): vcr_wiki.builder.png vs Pillow's PNG save (default and compress_level=1)."""
    import numpy as np
    from PIL import Image

    from vcr_wiki.builder.png import encode_png
    from vcr_wiki.demo.sample_data import draw_scene

    arr = np.full((337, 300, 3), 255, np.uint8)
    arr[:225] = np.asarray(draw_scene(0))
    out = {}
    t0 = time.perf_counter()
    for _ in range(reps):
        n_ours = len(encode_png(arr))
    out["vcr_wiki_ms"] = round((time.perf_counter() - t0) / reps * 1000, 2)
    for level in (6, 1):
        t0 = time.perf_counter()
        for _ in range(reps):
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, "PNG", compress_level=level)
        out[f"pillow_level{level}_ms"] = round((time.perf_counter() - t0) / reps * 1000, 2)
        out[f"pillow_level{level}_kb"] = round(len(buf.getvalue()) / 1024, 1)
    out["vcr_wiki_kb"] = round(n_ours / 1024, 1)
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_build(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="samples of the full build (the test split: 5,000)")
    ap.add_argument("--quick", action="store_true", help="skip the workers=2 build and the memory pair")
    ap.add_argument("--keep", default=None, help="keep the work folder here")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="vcr-bench-"))
    result: dict = {"cpu_count": os.cpu_count()}
    try:
        pairs = make_pairs(work / "in", args.n)
        result["per_core"] = per_core_rate(pairs, min(1000, args.n))
        result["per_core_zlib"] = per_core_rate(pairs, min(1000, args.n), "zlib")
        result["build_workers_1"] = run_child(pairs, work / "out1", 1)
        if not args.quick:
            result["build_workers_2"] = run_child(pairs, work / "out2", 2)
            result["speedup_workers_2"] = round(
                result["build_workers_2"]["samples_per_s"] / result["build_workers_1"]["samples_per_s"], 2
            )
            small = make_pairs(work / "in_small", max(1, args.n // 5))
            result["memory_small_build"] = run_child(small, work / "out_small", 1)
        result["png_writer"] = png_vs_pillow()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
