"""The dataset build: fixed shards of input rows, built beside the finished dataset and swapped in at the end.

Shard k holds the rows of input rows [k * shard_size, (k + 1) * shard_size) that pass the filters, so the
output does not depend on the engine, the number of workers or interruptions. Layout of ``out``:

- ``data/*.parquet``, ``manifest.json``, ``README.md``: the finished dataset (absent before the first);
- ``_state/``: the build in progress: ``build.json`` (configuration and input fingerprint),
  ``shards/shard-KKKKK.json`` (one record per finished shard, with the SHA-256 of its input rows' captions
  and image bytes) and ``data/`` (the finished shards). When every shard is done, the new dataset replaces
  the old one (``_state/swap`` marks the swap, which a later run completes if it was interrupted) and
  ``_state/`` goes away.

``--overwrite`` of a folder that holds a build builds the new dataset from scratch in a sibling staging
folder ``.<name>.vcr-wiki-staging-<pid>`` (with its own marker) and swaps it in only when it is finished:
``out`` is renamed to ``.<name>.vcr-wiki-old-<pid>``, the staging folder to ``out``, then the old one is
removed. A kill between the two renames is repaired by the next run (the finished new dataset goes in,
else the old one comes back); staging and old folders a killed run left are recognised by their name and
marker and removed by the next build into ``out``.

Everything (arguments, fonts, tokenizer, the input table, ``out``) is checked before anything under ``out``
is created or changed; a rejected build leaves ``out`` as it was.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from vcr_wiki import __version__
from vcr_wiki._batches import batched
from vcr_wiki._io import atomic_write_text, remove_stale_temps, sha256_file, temp_path
from vcr_wiki._marker import check_folder, claim, read_marker
from vcr_wiki.builder.card import dataset_card, make_manifest
from vcr_wiki.builder.inputs import (
    ImageError,
    InputSpec,
    Pair,
    check_input,
    detect_format,
    read_image_bytes,
    read_pairs,
)
from vcr_wiki.builder.sample import DROP_REASONS, BuildConfig, SampleMaker

ROW_GROUP = 64
DATA_DIR = "data"
STATE_DIR = "_state"
ENGINES = ("local", "ray")
STAGING_TAG = ".vcr-wiki-staging-"
OLD_TAG = ".vcr-wiki-old-"


def shard_name(split: str, k: int, total: int) -> str:
    """File name of shard k of ``total`` (the Hugging Face ``split-00000-of-00010.parquet`` style)."""
    return f"{split}-{k:05d}-of-{total:05d}.parquet"


# ---- one shard ----------------------------------------------------------------------------------------


def _with_bytes(pair: Pair, digest: Any) -> Pair:
    """The pair with its image bytes read once (hashed into ``digest`` with its caption)."""
    digest.update(
        f"{pair.index}\0{pair.caption}\0{pair.error}\0{pair.image_path}\0".encode("utf-8", "replace")
    )
    if pair.error is not None:
        return pair
    try:
        data = read_image_bytes(pair)
    except ImageError as exc:
        digest.update(f"<{exc.reason}>".encode())
        return pair
    digest.update(hashlib.sha256(data).digest())
    return replace(pair, image_bytes=data) if pair.image_bytes is None else pair


def input_digest(pairs: Iterable[Pair]) -> str:
    """SHA-256 over the rows' captions and image bytes: what ``--resume`` checks a finished shard against."""
    digest = hashlib.sha256()
    for pair in pairs:
        _with_bytes(pair, digest)
    return digest.hexdigest()


def write_shard(
    maker: SampleMaker,
    pairs: Iterable[Pair],
    path: Path,
    on_sample: Callable[[], None] | None = None,
    alive: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Build one shard from ``pairs`` into ``path`` atomically; returns its counts and checksums.

    ``alive`` is asked before the finished file is renamed into place (a worker whose parent died
    writes nothing).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vcr_wiki.builder.schema import COMPRESSION, arrow_schema

    schema = arrow_schema()
    dropped: Counter[str] = Counter()
    digest = hashlib.sha256()
    rows_in = rows_out = spans = 0
    first = last = None
    tmp = temp_path(path)
    try:
        with pq.ParquetWriter(
            tmp,
            schema,
            compression=COMPRESSION,
            use_dictionary=["lang", "difficulty", "config"],
            write_statistics=["question_id"],
        ) as w:
            buf: list[dict[str, Any]] = []
            for chunk in batched(pairs, maker.batch_size):  # spaCy: 64 pairs (bytes read) at once
                first = chunk[0].index if first is None else first
                last = chunk[-1].index
                rows_in += len(chunk)
                for row in maker.rows([_with_bytes(pair, digest) for pair in chunk]):
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
        if alive is not None and not alive():
            raise RuntimeError("the parent process is gone; the shard is not written")
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
        "input_sha256": digest.hexdigest(),
    }


# ---- local worker processes -----------------------------------------------------------------------

_MAKER: SampleMaker | None = None
_COUNTER: Any = None
_PARENT: int | None = None


def die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


def _init_worker(config: BuildConfig, counter: Any, parent: int) -> None:
    global _MAKER, _COUNTER, _PARENT
    die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _MAKER, _COUNTER, _PARENT = SampleMaker(config), counter, parent


def _tick() -> None:
    with _COUNTER.get_lock():
        _COUNTER.value += 1


def _worker_shard(pairs: list[Pair], path: str) -> dict[str, Any]:
    assert _MAKER is not None
    return write_shard(_MAKER, pairs, Path(path), _tick, alive=lambda: os.getppid() == _PARENT)


# ---- validation (nothing is written) ---------------------------------------------------------------


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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def check_out(out: Path) -> str:
    """What ``out`` holds: 'new' (missing or empty), 'dataset' (a finished one, maybe with a build in
    progress) or 'partial' (a build in progress, or a build killed right after writing its marker).

    Ownership is recognised only by the marker ``.vcr-wiki-run.json`` of a build; any other content is
    refused with ValueError, and nothing is changed."""
    if check_folder(out, "build") == "new":
        return "new"
    manifest = _read_json(out / "manifest.json")
    finished = isinstance(manifest, dict) and manifest.get("builder") == "vcr-wiki"
    return "dataset" if finished else "partial"


def scan_input(spec: InputSpec, *, strict: bool, warn: Callable[[str], None]) -> int:
    """Count the input rows; each undecodable or unparsable row is reported with its line (dropped and
    counted later), or, with ``strict``, is an error; so are image paths outside the input folder."""
    fmt = spec.format or detect_format(spec.path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(spec.path).metadata.num_rows)
        except Exception as exc:  # pyarrow raises several types for a non-Parquet file
            raise ValueError(f"input {spec.path!r} is not a readable Parquet file ({exc})") from None
    count = reported = 0
    for pair in read_pairs(spec):
        count += 1
        problem = pair.error if pair.error and pair.error.startswith(("bad_encoding", "bad_row")) else None
        if strict and problem is None and pair.image_path and pair.root is not None:
            from vcr_wiki.builder.inputs import image_source

            try:
                image_source(pair)
            except ImageError as exc:
                problem = str(exc)
        if problem is None:
            continue
        message = f"input {spec.path!r}: {problem.split(': ', 1)[-1]}"
        if strict:
            raise ValueError(f"{message} (--strict)")
        if reported < 20:
            warn(f"{message}; the row is dropped")
        reported += 1
    if reported > 20:
        warn(f"input {spec.path!r}: {reported} rows in all are dropped as unreadable")
    return count


def _fingerprint(spec: InputSpec) -> dict[str, Any]:
    path = Path(spec.path)
    listing = path
    if path.is_dir():
        names = ("metadata.jsonl", "metadata.csv", "captions.tsv", "captions.txt")
        listing = next((path / f for f in names if (path / f).is_file()), path)
    return {
        "path": str(path),
        "format": spec.format,
        "allow_outside_paths": spec.allow_outside_paths,
        "table_sha256": sha256_file(listing) if listing.is_file() else None,
    }


@dataclass
class BuildPlan:
    """A validated build: what to build where (made by ``plan_build``, which writes nothing)."""

    spec: InputSpec
    out: Path
    config: BuildConfig
    state: dict[str, Any]
    n_shards: int
    total_rows: int
    wanted: range
    fresh: bool  # discard a build in progress (a different one, or --overwrite)
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    finished: dict[str, Any] | None = None  # the finished dataset, when it already is this build
    replaces: bool = False  # --overwrite of a folder holding a build: built in a sibling staging folder

    @property
    def todo(self) -> list[int]:
        """Shards still to build."""
        return [k for k in self.wanted if k not in self.done]


def plan_build(
    spec: InputSpec,
    out: str | os.PathLike[str],
    config: BuildConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    shards: str | None = None,
    strict: bool = False,
    warn: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> BuildPlan:
    """Check everything a build needs and decide what to build; raises ValueError/FileNotFoundError."""
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    out = Path(out)
    maker = SampleMaker(config)  # fonts, tokenizer
    if not Path(spec.path).exists():
        raise FileNotFoundError(f"input {spec.path!r} does not exist")
    check_input(spec)
    recover_replacement(out)
    held = check_out(out)
    if held != "new" and not (resume or overwrite):
        raise ValueError(
            f"--out {str(out)!r} holds a build; pass --resume to continue or reuse it, "
            "or --overwrite to replace it once the new one is finished"
        )
    total_rows = scan_input(spec, strict=strict, warn=warn)
    n_shards = max(1, math.ceil(total_rows / config.shard_size))
    wanted = parse_shard_range(shards, n_shards)
    state = {
        "config": maker.record,
        "censor": list(config.censor),
        "input": _fingerprint(spec) | {"rows": total_rows},
        "n_shards": n_shards,
    }
    plan = BuildPlan(spec, out, config, state, n_shards, total_rows, wanted, fresh=True)
    if overwrite and held != "new":
        if wanted != range(n_shards):
            raise ValueError(
                f"--shards {shards} with --overwrite would leave the new dataset unfinished (the old one is "
                "replaced only by a finished one); build the range into a new --out folder"
            )
        plan.replaces = True
    if not resume:
        return plan
    staged = _read_json(out / STATE_DIR / "build.json")
    if isinstance(staged, dict):
        if {k: v for k, v in staged.items() if k != "vcr_wiki_version"} != state:
            raise ValueError(
                f"{str(out)!r} holds a build in progress with another configuration or input; "
                "run with --overwrite to start over, or build into a new --out folder"
            )
        plan.fresh = False
        plan.done = _verified_shards(plan)
        return plan
    manifest = _read_json(out / "manifest.json")
    if isinstance(manifest, dict) and manifest.get("builder") == "vcr-wiki":
        old = {k: manifest.get(k) for k in ("config", "censor", "input", "n_shards")}
        if old != state:
            raise ValueError(
                f"{str(out)!r} holds a dataset built with another configuration or input; "
                "run with --overwrite to replace it, or build into a new --out folder"
            )
        plan.finished = manifest
    return plan


def _verified_shards(plan: BuildPlan) -> dict[int, dict[str, Any]]:
    """Finished shards of the build in progress whose file and input rows (captions, image bytes) are
    unchanged; a changed input is an error."""
    records: dict[int, dict[str, Any]] = {}
    state = plan.out / STATE_DIR
    for k in range(plan.n_shards):
        info = _read_json(state / "shards" / f"shard-{k:05d}.json")
        if not isinstance(info, dict):
            continue
        path = state / info.get("file", "?")
        if path.is_file() and path.stat().st_size == info.get("bytes"):
            records[k] = info
    if records:
        for k, group in _grouped(iter(read_pairs(plan.spec)), plan.config.shard_size):
            if k in records and input_digest(group) != records[k].get("input_sha256"):
                raise ValueError(
                    f"input rows {k * plan.config.shard_size}..{k * plan.config.shard_size + len(group) - 1} "
                    "(captions or image files) changed since the interrupted build; "
                    "run with --overwrite to start over"
                )
    return records


# ---- the build ------------------------------------------------------------------------------------------


def _finish_swap(out: Path) -> bool:
    """Complete an interrupted swap: the finished new dataset in ``_state`` replaces the old one.
    Returns whether there was one."""
    state = out / STATE_DIR
    if not (state / "swap").is_file():
        return False
    staged, old = state / DATA_DIR, state / "old-data"
    if staged.is_dir():
        if (out / DATA_DIR).exists() and not old.exists():
            os.replace(out / DATA_DIR, old)
        if not (out / DATA_DIR).exists():
            os.replace(staged, out / DATA_DIR)
    for name in ("README.md", "manifest.json"):  # the manifest last: it marks the dataset finished
        if (state / name).is_file():
            os.replace(state / name, out / name)
    shutil.rmtree(state)
    return True


def _swap_in(out: Path, manifest: dict[str, Any]) -> None:
    state = out / STATE_DIR
    atomic_write_text(state / "README.md", dataset_card(manifest))
    atomic_write_text(state / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(state / "swap", "the finished build in _state replaces the dataset\n")
    _finish_swap(out)


def _siblings(out: Path, tag: str) -> dict[str, Path]:
    """Folders beside ``out`` named ``.<name><tag><pid>`` that hold a vcr-wiki build marker, by pid."""
    prefix = f".{out.name}{tag}"
    found: dict[str, Path] = {}
    if out.name and out.parent.is_dir():
        for p in out.parent.iterdir():
            if p.name.startswith(prefix) and p.is_dir() and not p.is_symlink():
                marker = read_marker(p)
                if marker is not None and marker["kind"] == "build":
                    found[p.name.removeprefix(prefix)] = p
    return found


def _is_finished(folder: Path) -> bool:
    manifest = _read_json(folder / "manifest.json")
    return (
        isinstance(manifest, dict)
        and manifest.get("builder") == "vcr-wiki"
        and bool(manifest.get("complete"))
        and not (folder / STATE_DIR).exists()
    )


def recover_replacement(out: Path) -> bool:
    """Repair an ``--overwrite`` swap killed between its two renames (``out`` moved away, the new dataset
    not yet in place): the finished new dataset goes in, else the old one comes back. Returns whether
    there was one to repair."""
    out = Path(os.path.abspath(out))
    if out.exists() or out.is_symlink():
        return False
    olds = _siblings(out, OLD_TAG)
    if not olds:
        return False
    pid, old = sorted(olds.items())[0]
    staging = _siblings(out, STAGING_TAG).get(pid)
    os.replace(staging if staging is not None and _is_finished(staging) else old, out)
    return True


def _remove_leftovers(out: Path) -> None:
    """Delete the staging and old folders that killed ``--overwrite`` runs left beside ``out``."""
    for tag in (STAGING_TAG, OLD_TAG):
        for folder in _siblings(out, tag).values():
            shutil.rmtree(folder)


def _replace_folder(out: Path, staging: Path) -> None:
    """Swap the finished ``staging`` in for ``out`` (see ``recover_replacement`` for a kill in between)."""
    old = out.parent / f".{out.name}{OLD_TAG}{os.getpid()}"
    os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old)


def build_dataset(
    spec: InputSpec | str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: BuildConfig | None = None,
    *,
    workers: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    shards: str | None = None,
    strict: bool = False,
    progress: bool = True,
    engine: str = "local",
    address: str | None = None,
    max_in_flight: int | None = None,
) -> dict[str, Any]:
    """Build a VCR dataset from a local pair table into ``out``; returns the manifest.

    A folder holding a dataset is refused unless ``resume`` (keep finished shards of the same build; a
    finished identical dataset is returned as it is) or ``overwrite`` (replace it once the new one is
    finished). ``shards`` ('START:END') builds a range of shards only, into ``out/_state`` (to split a
    build across machines; a ``resume`` run that sees all the shards finishes it). ``engine='ray'`` builds
    the shards as Ray tasks (``address``: an existing cluster), with byte-identical output.
    """
    if not isinstance(spec, InputSpec):
        spec = InputSpec(str(spec))
    config = config or BuildConfig()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "local" and address is not None:
        raise ValueError(f"--address {address!r} does nothing with --engine local; pass --engine ray")
    if engine == "ray":
        from vcr_wiki.builder.ray_engine import check_address, require_ray

        if workers != 1:
            raise ValueError("--workers does nothing with --engine ray (Ray runs one task per CPU)")
        if address is not None:
            check_address(address)  # the cluster is reached before anything is created or removed
        require_ray(loopback=address is None)
    plan = plan_build(spec, out, config, resume=resume, overwrite=overwrite, shards=shards, strict=strict)
    # ---- from here on, files change (the finished dataset only at the swap) ----
    target = Path(os.path.abspath(plan.out))
    _remove_leftovers(target)
    if plan.finished is not None:
        return plan.finished
    if not plan.replaces:
        return _run_build(plan, workers, progress, engine, address, max_in_flight)
    staging = target.parent / f".{target.name}{STAGING_TAG}{os.getpid()}"
    manifest = _run_build(replace(plan, out=staging), workers, progress, engine, address, max_in_flight)
    if manifest["complete"]:  # always, as --overwrite refuses a partial --shards range
        _replace_folder(target, staging)
    return manifest


def _run_build(
    plan: BuildPlan,
    workers: int,
    progress: bool,
    engine: str,
    address: str | None,
    max_in_flight: int | None,
) -> dict[str, Any]:
    """Build ``plan`` inside ``plan.out``: the marker first, shards in ``_state/``, the swap at the end."""
    out, config, spec = plan.out, plan.config, plan.spec
    state = out / STATE_DIR
    claim(out, "build")  # the marker first: a build killed from here on is recognised as this command's
    if _finish_swap(out) and not plan.fresh:  # the build in progress was finished: it is now in place
        finished: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return finished
    if plan.fresh and state.exists():
        shutil.rmtree(state)
    for folder in (state / DATA_DIR, state / "shards"):
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder)
    atomic_write_text(
        state / "build.json", json.dumps(plan.state | {"vcr_wiki_version": __version__}, indent=2)
    )

    def record(k: int, info: dict[str, Any]) -> None:
        plan.done[k] = info | {"shard": k}
        atomic_write_text(state / "shards" / f"shard-{k:05d}.json", json.dumps(plan.done[k], indent=2))

    todo = plan.todo
    size = config.shard_size
    todo_rows = sum(min(plan.total_rows, (k + 1) * size) - k * size for k in todo)
    bar = _progress_bar(todo_rows, progress, f"vcr-wiki {config.lang}-{config.difficulty}")
    try:
        if engine == "ray":
            from vcr_wiki.builder.ray_engine import build_shards_ray

            build_shards_ray(plan, todo, state / DATA_DIR, record, bar, address)
        else:
            todo_set = set(todo)
            groups: Iterator[tuple[int, list[Pair]]] = (
                (k, g) for k, g in _grouped(iter(read_pairs(spec)), size) if k in todo_set
            )
            if plan.total_rows == 0 and 0 in todo_set:
                groups = iter([(0, [])])
            if workers == 1:
                maker = SampleMaker(config)
                for k, group in groups:
                    path = state / DATA_DIR / shard_name(config.split, k, plan.n_shards)
                    record(k, write_shard(maker, group, path, lambda: bar.update(1)))
            else:
                _run_parallel(
                    groups, config, workers, state / DATA_DIR, plan.n_shards, record, bar, max_in_flight
                )
    finally:
        bar.close()
    records = [plan.done[k] for k in range(plan.n_shards) if k in plan.done]
    manifest = make_manifest(plan.state, records, plan.n_shards)
    if manifest["complete"]:
        _swap_in(out, manifest)
    return manifest


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
    """Shards on a pool of spawned processes that die with this one; at most ``max_in_flight`` shards
    of pairs are queued."""
    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    limit = max_in_flight or 2 * workers
    seen = 0
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(config, counter, os.getpid())
    ) as pool:
        pending: dict[Future[dict[str, Any]], int] = {}

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
