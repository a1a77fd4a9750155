"""The builder demo: small VCR datasets from the shipped sample data, with a side-by-side preview."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from vcr_wiki import __version__
from vcr_wiki._io import atomic_write_text
from vcr_wiki.build import build_dataset
from vcr_wiki.fonts import FontNotFoundError, find_zh_font
from vcr_wiki.sample import BuildConfig
from vcr_wiki.sample_data import write_sample_pairs
from vcr_wiki.show import show_samples


def run_builder_demo(out: str | os.PathLike[str], seed: int = 42) -> dict[str, Any]:
    """Build en easy/hard (and zh easy/hard when a CJK font exists) from the sample data into ``out``.

    Writes ``out/demo.json`` whose ``key_figure`` summarizes the builds; returns that object.
    """
    out = Path(out)
    builds: dict[str, Any] = {}
    langs = ["en"]
    try:
        find_zh_font()
        langs.append("zh")
    except FontNotFoundError as exc:
        builds["zh_skipped"] = str(exc)
    for lang in langs:
        pairs = write_sample_pairs(out / "samples" / lang, lang)
        for difficulty in ("easy", "hard"):
            config = BuildConfig(lang=lang, difficulty=difficulty, seed=seed, split="test", shard_size=16)
            t0 = time.perf_counter()
            manifest = build_dataset(pairs, out / f"vcr-{lang}-{difficulty}", config, progress=False)
            dt = time.perf_counter() - t0
            builds[f"{lang}-{difficulty}"] = {
                "rows_in": manifest["rows_in"],
                "rows_out": manifest["rows_out"],
                "dropped": manifest["dropped"],
                "spans_per_sample": round(manifest["spans_per_sample"], 2),
                "seconds": round(dt, 3),
            }
        show_samples(pairs, out / "show" / lang, BuildConfig(lang=lang, seed=seed), count=3)
    en = builds["en-easy"]
    key = (
        f"built {', '.join(k for k in builds if not k.endswith('skipped'))}: "
        f"{en['rows_out']}/{en['rows_in']} en samples, {en['spans_per_sample']} spans/sample"
    )
    result = {
        "key_figure": key,
        "package": "vcr-wiki",
        "version": __version__,
        "seed": seed,
        "builds": builds,
    }
    atomic_write_text(out / "demo.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result
