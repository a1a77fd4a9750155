"""vcr-wiki on mixed-size inputs: samples per CPU-second (decode + reduce + resize stages), and the local
``--workers 2`` pool against ``--engine ray`` with 2 CPUs (samples per second, load average).

Inputs: N English pairs whose PNG pictures are 400-1,100 px wide (the issue's setting), captions filling
5 lines. Everything runs in temporary folders.

    python benchmarks/vcr-wiki-scale.py rate --n 200
    python benchmarks/vcr-wiki-scale.py engines --n 400
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def make_pairs(root: Path, n: int, distinct: int = 50) -> Path:
    """n pairs over ``distinct`` PNG pictures 400-1,100 px wide."""
    import numpy as np

    from vcr_wiki.demo.sample_data import draw_scene, sample_captions

    caps = sample_captions("en")
    rng = np.random.default_rng(0)
    (root / "img").mkdir(parents=True, exist_ok=True)
    for i in range(distinct):
        w = int(rng.integers(400, 1101))
        draw_scene(i, w, int(w * rng.uniform(0.6, 0.9))).save(root / "img" / f"{i:03d}.png")
    with (root / "pairs.jsonl").open("w") as fh:
        for i in range(n):
            caption = caps[i % len(caps)] + " " + caps[(i * 7 + 3) % len(caps)]
            fh.write(json.dumps({"image": f"img/{i % distinct:03d}.png", "caption": caption}) + "\n")
    return root / "pairs.jsonl"


def rate(pairs: Path, n: int) -> dict:
    """CPU seconds per stage over n samples in this process: decode, resize (reduce + bicubic vs Pillow's
    ``reducing_gap=3`` resize, the 0.1 code), whole rows."""
    from PIL import Image

    from vcr_wiki.builder.inputs import InputSpec, load_image, read_image_bytes, read_pairs
    from vcr_wiki.builder.sample import BuildConfig, SampleMaker

    rows = list(read_pairs(InputSpec(str(pairs))))[:n]
    data = [read_image_bytes(p) for p in rows]
    t = time.process_time()
    decoded = []
    for d in data:
        with Image.open(io.BytesIO(d)) as im:
            im.load()
            decoded.append(im.convert("RGB"))
    decode = time.process_time() - t
    t = time.process_time()
    for im in decoded:
        im.resize((300, round(im.height * 300 / im.width)), Image.Resampling.BICUBIC, reducing_gap=3.0)
    resize_old = time.process_time() - t
    t = time.process_time()
    for p, d in zip(rows, data, strict=True):
        load_image(p, 300, d)
    load_new = time.process_time() - t
    maker = SampleMaker(BuildConfig(nlp="regex"))
    for p in rows[:10]:
        maker.row(p)
    t = time.process_time()
    for p in rows:
        maker.row(p)
    whole = time.process_time() - t
    return {
        "samples": n,
        "decode_cpu_s": round(decode, 3),
        "resize_0.1_cpu_s": round(resize_old, 3),
        "load_image_0.2_cpu_s (decode+reduce+resize)": round(load_new, 3),
        "resize_0.2_cpu_s (by difference)": round(load_new - decode, 3),
        "row_cpu_s": round(whole, 3),
        "samples_per_cpu_s": round(n / whole, 1),
        "load_average": os.getloadavg(),
    }


def engines(pairs: Path, out: Path, n: int) -> dict:
    """Wall time and samples/s of the same build with --workers 2 and with Ray on 2 CPUs."""
    import ray

    from vcr_wiki.builder.builder import build_dataset
    from vcr_wiki.builder.sample import BuildConfig

    config = BuildConfig(nlp="regex", shard_size=50)
    result = {}
    for name, kwargs in (("local_workers_2", {"workers": 2}), ("ray_2_cpus", {"engine": "ray"})):
        if name.startswith("ray"):
            t = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            result["ray_init_s"] = round(time.perf_counter() - t, 2)
        load0 = os.getloadavg()[0]
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        m = build_dataset(pairs, out / name, config, progress=False, **kwargs)
        wall = time.perf_counter() - t
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        result[name] = {
            "samples": m["rows_out"],
            "wall_s": round(wall, 2),
            "samples_per_s": round(m["rows_out"] / wall, 1),
            "child_cpu_s": round(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime, 2),
            "load_average_before_after": [load0, os.getloadavg()[0]],
        }
    ray.shutdown()
    a, b = (json.loads((out / k / "manifest.json").read_text()) for k in ("local_workers_2", "ray_2_cpus"))
    result["identical_manifests"] = a == b
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", default="rate", choices=("rate", "engines"))
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pairs = make_pairs(Path(tmp) / "in", args.n)
        res = rate(pairs, args.n) if args.what == "rate" else engines(pairs, Path(tmp), args.n)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
