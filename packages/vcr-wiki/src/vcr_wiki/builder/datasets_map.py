"""Scale-out path: the same rows built with ``datasets.Dataset.map(num_proc=...)``.

The pairs go into a ``datasets.Dataset`` (via ``from_generator``, cached on disk, so memory stays flat),
``map`` renders them in batches in ``num_proc`` processes (one ``SampleMaker`` per process), and the
result is written as ``num_shards`` Parquet files with the same columns and layout as ``build_dataset``.
Rows are identical to the native builder's for the same configuration; only drop counts per reason are
not tracked (the manifest gives rows in and out).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vcr_wiki import __version__
from vcr_wiki._io import atomic_write_text, sha256_file
from vcr_wiki._marker import claim
from vcr_wiki.builder.builder import check_out, shard_name
from vcr_wiki.builder.inputs import InputSpec, Pair, read_pairs
from vcr_wiki.builder.sample import BuildConfig, SampleMaker
from vcr_wiki.builder.schema import COLUMNS, HF_FEATURES

_MAKERS: dict[str, SampleMaker] = {}


def _pairs_gen(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for p in read_pairs(InputSpec(**spec)):
        yield {
            "index": p.index,
            "caption": p.caption,
            "image_path": p.image_path,
            "image_bytes": p.image_bytes,
            "base": p.base,
            "error": p.error,
        }


def render_batch(batch: dict[str, list[Any]], config: dict[str, Any]) -> dict[str, list[Any]]:
    """``Dataset.map`` function (batched): input pair columns to VCR columns, dropped rows removed."""
    key = json.dumps(config, sort_keys=True)
    maker = _MAKERS.get(key)
    if maker is None:
        maker = _MAKERS[key] = SampleMaker(BuildConfig(**(config | {"censor": tuple(config["censor"])})))
    out: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    pairs = [
        Pair(
            batch["index"][i],
            batch["caption"][i],
            batch["image_path"][i],
            batch["image_bytes"][i],
            batch["base"][i],
            batch["error"][i],
        )
        for i in range(len(batch["index"]))
    ]
    for row in maker.rows(pairs):
        if isinstance(row, dict):
            for c in COLUMNS:
                out[c].append(row[c])
    return out


def build_with_datasets(
    spec: InputSpec | str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: BuildConfig | None = None,
    *,
    num_proc: int = 2,
    num_shards: int = 1,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Build with ``datasets.Dataset.map(num_proc=num_proc)`` into ``out/data``; returns a small manifest."""
    import datasets

    if not isinstance(spec, InputSpec):
        spec = InputSpec(str(spec))
    config = config or BuildConfig()
    SampleMaker(config)  # fail early on fonts / tokenizer
    out = Path(out)
    if check_out(out) != "new":
        raise ValueError(
            f"--out {str(out)!r} is not empty; build_with_datasets writes only into a new folder"
        )
    claim(out, "build")
    cache = out / "_hf_cache"
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    try:
        source = datasets.Dataset.from_generator(
            _pairs_gen, gen_kwargs={"spec": asdict(spec)}, cache_dir=str(cache), keep_in_memory=False
        )
        features = datasets.Features.from_dict(HF_FEATURES)
        cfg = asdict(config) | {"censor": list(config.censor)}
        mapped = source.map(
            render_batch,
            batched=True,
            batch_size=batch_size,
            num_proc=num_proc if num_proc > 1 else None,
            fn_kwargs={"config": cfg},
            remove_columns=source.column_names,
            features=features,
            desc="vcr-wiki (datasets.map)",
        )
        shards = []
        for k in range(num_shards):
            path = data / shard_name(config.split, k, num_shards)
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            part = mapped.shard(num_shards, k, contiguous=True)
            part.to_parquet(str(tmp))
            os.replace(tmp, path)
            shards.append({"file": f"data/{path.name}", "rows_out": len(part), "sha256": sha256_file(path)})
        manifest = {
            "vcr_wiki_version": __version__,
            "builder": "datasets.Dataset.map",
            "num_proc": num_proc,
            "config": cfg,
            "rows_in": len(source),
            "rows_out": len(mapped),
            "shards": shards,
        }
        atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        return manifest
    finally:
        shutil.rmtree(cache, ignore_errors=True)
