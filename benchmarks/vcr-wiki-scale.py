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


def _decoders() -> dict:
    """PNG decoders to compare: Pillow (the reference), Pillow after the ISA-L repack (the builder's with
    the ``fast`` extra), and pyspng when it is installed (a libspng decoder, not used by the builder)."""
    import numpy as np
    from PIL import Image

    from vcr_wiki.builder.png_inflate import repack

    def pillow(data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))

    arms = {"pillow": pillow, "isal_repack_then_pillow": lambda d: pillow(repack(d) or d)}
    try:
        import pyspng

        arms["pyspng"] = lambda d: pyspng.load(d)[..., :3]
    except ImportError:
        pass
    return arms


def rate(pairs: Path, n: int, rounds: int = 3) -> dict:
    """Milliseconds of CPU per sample for each stage (PNG decode by each decoder, resize, render, encode)
    and for the whole row with and without the ISA-L inflate, arms alternating over ``rounds``."""
    import numpy as np
    from PIL import Image

    import vcr_wiki.builder.inputs as inputs
    from vcr_wiki.builder.inputs import InputSpec, read_image_bytes, read_pairs
    from vcr_wiki.builder.png_inflate import repack
    from vcr_wiki.builder.sample import BuildConfig, SampleMaker

    rows = list(read_pairs(InputSpec(str(pairs))))[:n]
    data = [read_image_bytes(p) for p in rows]
    decoders = _decoders()
    reference = [decoders["pillow"](d) for d in data]
    pictures = [Image.fromarray(r) for r in reference]
    identical = {
        name: all(np.array_equal(fn(d), r) for d, r in zip(data, reference, strict=True))
        for name, fn in decoders.items()
    }
    maker = SampleMaker(BuildConfig(nlp="regex"))
    maker.rows(rows[:10])
    images = [inputs.load_image(p, 300, d) for p, d in zip(rows, data, strict=True)]
    rendered = maker._render_batch(rows)
    cpu: dict[str, float] = {}

    def timed(name: str, fn) -> None:
        t = time.process_time()
        fn()
        cpu[name] = cpu.get(name, 0.0) + time.process_time() - t

    loads = []
    for _ in range(rounds):
        for name, fn in decoders.items():
            timed(f"decode_{name}", lambda fn=fn: [fn(d) for d in data])
        timed("resize_to_300", lambda: [inputs.resize_to_width(p, 300) for p in pictures])
        timed("encode_4_png_columns", lambda: [maker._encode(s) for s in rendered if not isinstance(s, str)])
        for arm, fn in (("pillow", lambda d: None), ("isal_repack", repack)):
            inputs.repack = fn
            timed(f"row_{arm}", lambda: maker.rows(rows))
        inputs.repack = repack
        loads.append(os.getloadavg())
    ms = {k: round(1000 * v / (n * rounds), 2) for k, v in cpu.items()}
    return {
        "samples": n,
        "rounds": rounds,
        "ms_per_sample": ms,
        "samples_per_cpu_s": {k[4:]: round(1000 / v, 1) for k, v in ms.items() if k.startswith("row_")},
        "row_speedup_isal_repack": round(ms["row_pillow"] / ms["row_isal_repack"], 3),
        "pixels_identical_to_pillow": identical,
        "load_image_width_300": all(a.shape[1] == 300 for a in images),
        "load_average_after_each_round": [" ".join(f"{x:.2f}" for x in la) for la in loads],
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
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
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


def scaling(pairs: Path, out: Path, ray_too: bool) -> dict:
    """The same build on 1 and 2 workers (local processes; with ``ray_too`` also Ray on 1 and 2 CPUs):
    wall seconds, CPU seconds of the build's own processes, samples per CPU-s per worker, and the speed-up
    of 2 over 1 (wall). The load average is given beside each figure: on a shared machine the wall-clock
    speed-up is the machine's, not the builder's."""
    from vcr_wiki.builder.builder import build_dataset
    from vcr_wiki.builder.sample import BuildConfig

    config = BuildConfig(nlp="regex", shard_size=25)
    tick = os.sysconf("SC_CLK_TCK")

    def cpu_of_tree() -> float:
        """CPU seconds of this process, its reaped children and its live descendants (Linux /proc)."""
        stats = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
        tree, grew = {os.getpid()}, True
        while grew:
            more = {pid for pid, (parent, _) in stats.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        live = sum(stats[pid][1] for pid in tree - {os.getpid()})
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return live + own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    runs = [("local", w, {"workers": w}) for w in (1, 2)]
    if ray_too:
        runs += [("ray", w, {"engine": "ray"}) for w in (1, 2)]
    result: dict = {}
    for engine, w, kwargs in runs:
        if engine == "ray":
            import ray

            ray.init(address="local", num_cpus=w, include_dashboard=False, log_to_driver=False,
                     _node_ip_address="127.0.0.1")  # fmt: skip
        load0 = os.getloadavg()
        c0, t = cpu_of_tree(), time.perf_counter()
        m = build_dataset(pairs, out / f"{engine}-{w}", config, progress=False, **kwargs)
        wall, cpu = time.perf_counter() - t, cpu_of_tree() - c0
        if engine == "ray":
            ray.shutdown()
        result[f"{engine}_{w}"] = {
            "samples": m["rows_out"],
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "samples_per_cpu_s_per_worker": round(m["rows_out"] / cpu, 1),
            "load_average_before_after": [" ".join(f"{x:.2f}" for x in load0), f"{os.getloadavg()[0]:.2f}"],
        }
    for engine in ("local", "ray"):
        if f"{engine}_2" in result:
            one, two = result[f"{engine}_1"], result[f"{engine}_2"]
            result[f"{engine}_speedup_2_over_1_wall"] = round(one["wall_s"] / two["wall_s"], 2)
            result[f"{engine}_cpu_efficiency_2_over_1"] = round(
                two["samples_per_cpu_s_per_worker"] / one["samples_per_cpu_s_per_worker"], 2
            )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", default="rate", choices=("rate", "engines", "scaling"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--ray", action="store_true", help="scaling: Ray on 1 and 2 CPUs too")
    args = ap.parse_args()
    if args.what == "scaling" or args.ray:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # before Ray's import: 127.0.0.1
    with tempfile.TemporaryDirectory() as tmp:
        pairs = make_pairs(Path(tmp) / "in", args.n)
        if args.what == "rate":
            res = rate(pairs, args.n)
        elif args.what == "engines":
            res = engines(pairs, Path(tmp), args.n)
        else:
            res = scaling(pairs, Path(tmp), args.ray)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
