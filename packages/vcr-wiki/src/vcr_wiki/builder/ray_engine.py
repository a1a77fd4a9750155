"""``vcr-wiki build --engine ray``: the shards of a build as Ray tasks, byte-identical to the local build.

Each task reads its own input rows (shard k: rows [k * shard_size, (k + 1) * shard_size)), builds the shard
with the same ``write_shard`` as the local builder into the build's ``_state/data`` folder and returns the
shard's record; the driver writes the records, so resume, the manifest and the swap are the local
builder's. On a cluster (``--address``) every node must see the input and ``--out`` at the same paths
(a shared file system). Ray is imported only here.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vcr_wiki.builder.inputs import InputSpec, read_pairs
from vcr_wiki.builder.sample import BuildConfig, SampleMaker

RAY_HINT = 'pip install "vcr-wiki[ray]"'


def require_ray() -> None:
    """Raise ImportError with the pip command when Ray is not installed."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ImportError(f"--engine ray needs Ray: {RAY_HINT}") from None


def _build_shard(spec: dict[str, Any], config: dict[str, Any], k: int, path: str) -> dict[str, Any]:
    """One shard, run inside a Ray worker."""
    from vcr_wiki.builder.builder import config_from_dict, write_shard

    cfg: BuildConfig = config_from_dict(config)
    pairs = itertools.islice(read_pairs(InputSpec(**spec)), k * cfg.shard_size, (k + 1) * cfg.shard_size)
    return write_shard(SampleMaker(cfg), list(pairs), Path(path))


def build_shards_ray(
    plan: Any,
    todo: list[int],
    data_dir: Path,
    record: Callable[[int, dict[str, Any]], None],
    bar: Any,
    address: str | None,
) -> None:
    """Build the shards ``todo`` of ``plan`` as Ray tasks (one CPU each); records them as they finish."""
    import ray

    from vcr_wiki.builder.builder import shard_name

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, max_retries=2)(_build_shard)
        absolute = {"path": os.path.abspath(plan.spec.path)}  # Ray workers may run in another folder
        if plan.spec.image_root is not None:
            absolute["image_root"] = os.path.abspath(plan.spec.image_root)
        spec = asdict(plan.spec) | absolute
        data_dir = Path(os.path.abspath(data_dir))
        config = asdict(plan.config) | {"censor": list(plan.config.censor)}
        pending = {
            task.remote(spec, config, k, str(data_dir / shard_name(plan.config.split, k, plan.n_shards))): k
            for k in todo
        }
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                info = ray.get(ref)
                record(pending.pop(ref), info)
                bar.update(info["rows_in"])
    finally:
        if started:
            ray.shutdown()
