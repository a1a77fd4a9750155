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
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vcr_wiki.builder.inputs import InputSpec, read_pairs
from vcr_wiki.builder.sample import BuildConfig, SampleMaker

RAY_HINT = 'pip install "vcr-wiki[ray]"'
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0", read when Ray is imported: node address 127.0.0.1


def require_ray(loopback: bool = False) -> None:
    """Raise ImportError with the pip command when Ray is not installed.

    With ``loopback`` (a local instance will be started) and Ray not imported yet, Ray is told to keep
    its node on 127.0.0.1: ``ray.init`` turns ``_node_ip_address="127.0.0.1"`` into the machine's network
    address otherwise, and its servers would listen there."""
    if loopback and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ONLY, "0")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ImportError(f"--engine ray needs Ray: {RAY_HINT}") from None


def _ray_current_cluster() -> str | None:
    """The address ``ray.init(address="auto")`` would use: RAY_ADDRESS, else the file a local ``ray start``
    leaves in Ray's temp folder."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    folder = os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()
    try:
        return (Path(folder) / "ray" / "ray_current_cluster").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def check_address(address: str, timeout: float = 3.0) -> None:
    """Refuse (ValueError, one line) a Ray address that is malformed or whose cluster does not answer
    within ``timeout`` seconds: HOST:PORT, ray://HOST:PORT or 'auto' (a cluster started on this machine).
    Nothing is created; Ray is not imported."""
    target = _ray_current_cluster() if address == "auto" else address
    if target is None:
        raise ValueError(
            "--address auto: no running Ray cluster found on this machine (start one with `ray start --head`)"
        )
    hostport = target.removeprefix("ray://")
    host, sep, port_text = hostport.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536 or "/" in hostport:
        raise ValueError(f"--address {address!r} must look like HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout):
            pass
    except OSError as exc:
        raise ValueError(f"--address {address!r}: no Ray cluster answers at {hostport} ({exc})") from None


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
        # no address: a new local instance (never RAY_ADDRESS or a cluster found on this machine), loopback only
        where: dict[str, Any] = (
            {"address": address} if address else {"address": "local", "_node_ip_address": "127.0.0.1"}
        )
        ray.init(include_dashboard=False, log_to_driver=False, **where)
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
