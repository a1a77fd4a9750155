"""The dataset build: fixed shards of input rows, atomic Parquet files, resume, parallel workers.

Shard k holds the rows of input rows [k * shard_size, (k + 1) * shard_size) that pass the filters, so the
output does not depend on the number of workers or on interruptions. A shard is finished when its
Parquet file (renamed into place when complete) and its state record in ``_state/`` both exist.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vcr_wiki import __version__
from vcr_wiki._io import atomic_write_text, remove_stale_temps, sha256_file, temp_path
from vcr_wiki.card import write_card_and_manifest
from vcr_wiki.inputs import InputSpec, Pair, count_pairs, read_pairs
from vcr_wiki.sample import DROP_REASONS, BuildConfig, SampleMaker

ROW_GROUP = 64
DATA_DIR = "data"
STATE_DIR = "_state"


def shard_name(split: str, k: int, total: int) -> str:
    """File name of shard k of ``total`` (the Hugging Face ``split-00000-of-00010.parquet`` style)."""
    return f"{split}-{k:05d}-of-{total:05d}.parquet"


def write_shard(
    maker: SampleMaker,
    pairs: Iterable[Pair],
    path: Path,
    on_sample: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Build one shard from ``pairs`` into ``path`` atomically; returns its counts and checksum."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vcr_wiki.schema import COMPRESSION, arrow_schema

    schema = arrow_schema()
    dropped: Counter[str] = Counter()
    rows_in = rows_out = spans = 0
    first = last = None
    tmp = temp_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pq.ParquetWriter(
            tmp,
            schema,
            compression=COMPRESSION,
            use_dictionary=["lang", "difficulty", "config"],
            write_statistics=["question_id"],
        ) as w:
            buf: list[dict] = []
            for pair in pairs:
                first = pair.index if first is None else first
                last = pair.index
                rows_in += 1
                row = maker.row(pair)
                if isinstance(row, str):
                    dropped[row] += 1
                else:
                    buf.append(row)
                    rows_out += 1
                    spans += len(row["crossed_text"])
                if len(buf) >= ROW_GROUP:
                    w.write_table(pa.Table.from_pylist(buf, schema=schema))
                    buf = []
                if on_sample is not None:
                    on_sample()
            if buf or rows_out == 0:
                w.write_table(pa.Table.from_pylist(buf, schema=schema))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {
        "file": f"{DATA_DIR}/{path.name}",
        "rows_in": rows_in,
        "rows_out": rows_out,
        "spans": spans,
        "first_input_row": first,
        "last_input_row": last,
        "dropped": {k: dropped[k] for k in DROP_REASONS if dropped[k]},
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


# ---- worker processes -------------------------------------------------------------------------

_MAKER: SampleMaker | None = None
_COUNTER: Any = None


def _init_worker(config: BuildConfig, counter: Any) -> None:
    global _MAKER, _COUNTER
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _MAKER = SampleMaker(config)
    _COUNTER = counter


def _tick() -> None:
    with _COUNTER.get_lock():
        _COUNTER.value += 1


def _worker_shard(pairs: list[Pair], path: str) -> dict[str, Any]:
    assert _MAKER is not None
    return write_shard(_MAKER, pairs, Path(path), _tick)


# ---- the build ---------------------------------------------------------------------------------


def _grouped(pairs: Iterator[Pair], size: int) -> Iterator[tuple[int, list[Pair]]]:
    """(shard index, pairs) for consecutive input rows; shard k holds rows [k*size, (k+1)*size)."""
    current: list[Pair] = []
    k = 0
    for pair in pairs:
        shard = pair.index // size
        if shard != k and current:
            yield k, current
            current = []
        k = shard
        current.append(pair)
    if current:
        yield k, current


def _input_fingerprint(spec: InputSpec) -> dict[str, Any]:
    path = Path(spec.path)
    listing = path
    if path.is_dir():
        listing = next(
            (
                path / f
                for f in ("metadata.jsonl", "metadata.csv", "captions.tsv", "captions.txt")
                if (path / f).is_file()
            ),
            path,
        )
    return {
        "path": str(path),
        "format": spec.format,
        "table_sha256": sha256_file(listing) if listing.is_file() else None,
    }


def parse_shard_range(text: str | None, total: int) -> range:
    """'START:END' (END exclusive, either may be empty) as a range of shard indices within [0, total)."""
    if not text:
        return range(total)
    start_s, sep, end_s = text.partition(":")
    try:
        start = int(start_s) if start_s else 0
        end = int(end_s) if end_s else total
    except ValueError:
        raise ValueError(f"shard range must look like 'START:END', got {text!r}") from None
    if not sep or not 0 <= start <= end:
        raise ValueError(f"shard range must look like 'START:END' with 0 <= START <= END, got {text!r}")
    return range(start, min(end, total))


def build_dataset(
    spec: InputSpec | str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: BuildConfig | None = None,
    *,
    workers: int = 1,
    resume: bool = False,
    shards: str | None = None,
    progress: bool = True,
    max_in_flight: int | None = None,
) -> dict[str, Any]:
    """Build a VCR dataset from a local pair table into ``out``; returns the manifest.

    ``out`` receives ``data/<split>-KKKKK-of-NNNNN.parquet``, ``_state/`` (per-shard records),
    ``manifest.json`` and ``README.md`` (dataset card). ``resume`` keeps finished shards of an earlier
    run with the same configuration and input; ``shards`` ('START:END') builds a range of shards only
    (to split a build across machines; finish with a ``resume`` run that sees all the shards).
    """
    if not isinstance(spec, InputSpec):
        spec = InputSpec(str(spec))
    config = config or BuildConfig()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    maker = SampleMaker(config)  # fails early (fonts, tokenizer) before any worker starts
    out = Path(out)
    data_dir, state_dir = out / DATA_DIR, out / STATE_DIR
    started = time.time()

    total_rows = count_pairs(spec)
    n_shards = max(1, math.ceil(total_rows / config.shard_size))
    build_state = {
        "config": maker.record,
        "censor": list(config.censor),
        "input": _input_fingerprint(spec) | {"rows": total_rows},
        "n_shards": n_shards,
    }
    state_file = state_dir / "build.json"
    if resume and state_file.is_file():
        old = json.loads(state_file.read_text())
        old_cmp = {k: v for k, v in old.items() if k != "vcr_wiki_version"}
        if old_cmp != build_state:
            raise ValueError(
                f"{out} holds a build with another configuration or input; "
                "build into a new --out folder, or run without --resume to start over"
            )
    else:
        for folder in (data_dir, state_dir):
            if folder.is_dir():
                shutil.rmtree(folder)
    data_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(data_dir)
    remove_stale_temps(state_dir)
    atomic_write_text(state_file, json.dumps(build_state | {"vcr_wiki_version": __version__}, indent=2))

    wanted = parse_shard_range(shards, n_shards)

    def done(k: int) -> bool:
        rec = state_dir / f"shard-{k:05d}.json"
        if not rec.is_file():
            return False
        info = json.loads(rec.read_text())
        path = out / info["file"]
        return path.is_file() and path.stat().st_size == info["bytes"]

    todo = [k for k in wanted if not (resume and done(k))]
    todo_set = set(todo)
    todo_rows = sum(min(total_rows, (k + 1) * config.shard_size) - k * config.shard_size for k in todo)

    def record(k: int, info: dict[str, Any]) -> None:
        atomic_write_text(state_dir / f"shard-{k:05d}.json", json.dumps(info | {"shard": k}, indent=2))

    bar = _progress_bar(todo_rows, progress, f"vcr-wiki {config.lang}-{config.difficulty}")
    try:
        groups = ((k, g) for k, g in _grouped(iter(read_pairs(spec)), config.shard_size) if k in todo_set)
        if total_rows == 0 and 0 in todo_set:
            groups = iter([(0, [])])
        if workers == 1:
            for k, group in groups:
                path = data_dir / shard_name(config.split, k, n_shards)
                record(k, write_shard(maker, group, path, lambda: bar.update(1)))
        else:
            _run_parallel(groups, config, workers, data_dir, n_shards, record, bar, max_in_flight)
    finally:
        bar.close()

    return write_card_and_manifest(out, build_state, n_shards, elapsed=time.time() - started)


def _run_parallel(
    groups: Iterator[tuple[int, list[Pair]]],
    config: BuildConfig,
    workers: int,
    data_dir: Path,
    n_shards: int,
    record: Callable[[int, dict[str, Any]], None],
    bar: Any,
    max_in_flight: int | None,
) -> None:
    """Shards on a pool of spawned processes; at most ``max_in_flight`` shards of pairs are queued."""
    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    limit = max_in_flight or 2 * workers
    seen = 0
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(config, counter)
    ) as pool:
        pending: dict[Future, int] = {}

        def drain(block_until_below: int) -> None:
            nonlocal seen
            while len(pending) >= block_until_below:
                finished, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
                value = counter.value
                bar.update(value - seen)
                seen = value
                for fut in finished:
                    record(pending.pop(fut), fut.result())

        for k, group in groups:
            drain(limit)
            path = data_dir / shard_name(config.split, k, n_shards)
            pending[pool.submit(_worker_shard, group, str(path))] = k
        drain(1)
        bar.update(counter.value - seen)


def _progress_bar(total: int, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    # Not passing `disable` when enabled lets TQDM_DISABLE=1 switch the bar off.
    extra = {} if enabled else {"disable": True}
    return tqdm(total=total, unit="sample", desc=desc, smoothing=0.1, **extra)


def config_from_dict(values: dict[str, Any]) -> BuildConfig:
    """A BuildConfig from a plain dict (unknown keys are an error)."""
    known = set(asdict(BuildConfig()))
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown build settings: {sorted(unknown)}")
    if "censor" in values:
        values = values | {"censor": tuple(values["censor"])}
    return BuildConfig(**values)
