"""``rice-n train --engine rllib``: check for ray, connect to Ray, train (see :mod:`rice_n.train.rllib_runner`).

ray is imported only here, on the RLlib path; without it the command names the pip extra to install.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from rice_n.train.config import TrainConfig
from rice_n.train.runner import TrainResult

#: What ``--engine rllib`` prints (after ``rice-n train: error:``) when ray is missing.
RAY_MISSING = '--engine rllib needs ray[rllib]: pip install "rice-n[ray]"'
#: Seconds to wait for a TCP connection to ``--address`` before refusing it.
CONNECT_TIMEOUT_S = 3.0
#: Ray reads it at import: "0" makes a local instance's node address 127.0.0.1 (Ray 2.60 otherwise turns
#: ``_node_ip_address="127.0.0.1"`` into the machine's network address).
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def check_address(address: str | None) -> str | None:
    """Validate ``--address`` and reach it (TCP, ``CONNECT_TIMEOUT_S``) before anything is written.

    Returns the address for ``ray.init`` (None: start a local instance on 127.0.0.1). ``auto`` (only when
    given) is the Ray instance last started on this machine; otherwise ``HOST:PORT`` or
    ``ray://HOST:PORT``. ValueError (one line) when malformed or unreachable.
    """
    if address is None:
        return None
    target = address
    if address == "auto":
        from ray._private.services import canonicalize_bootstrap_address

        try:
            target = canonicalize_bootstrap_address("auto") or ""
        except Exception:  # Ray raises ConnectionError (or others) when no instance runs here
            target = ""
        if not target:
            raise ValueError("--address auto: no running Ray instance found on this machine")
    host, sep, port = target.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--address must be auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(
            f"--address {address!r}: cannot reach a Ray cluster at {host}:{port} ({reason})"
        ) from None
    return target


def train_on_ray(
    config: TrainConfig,
    out: str | Path,
    resume: bool = False,
    overwrite: bool = False,
    num_env_runners: int = 0,
    address: str | None = None,
    checkpoint_every: int = 5,
    device: str = "cpu",
    progress: bool = True,
) -> TrainResult:
    """Train ``config`` with RLlib PPO on the Ray cluster at ``address`` (default: a local instance).

    Raises ValueError (one line) for a missing ray, bad options or an unreachable cluster, before the
    run folder is created. A Ray instance this call started is shut down at the end.
    """
    if address is None and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ENV, "0")
    try:
        import ray
        import ray.rllib
    except ImportError:
        raise ValueError(RAY_MISSING) from None
    from rice_n.train.rllib_runner import check_config, connect, train_rllib

    check_config(config, num_env_runners)
    if device != "cpu":
        raise ValueError(f"--engine rllib trains on the CPU (got --device {device!r}); use --engine local")
    address = check_address(address)
    try:
        started = connect(address, num_env_runners)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ValueError(f"cannot connect to Ray at {address or 'a local instance'!r}: {exc}") from None
    try:
        return train_rllib(
            config,
            out,
            resume=resume,
            overwrite=overwrite,
            num_env_runners=num_env_runners,
            checkpoint_every=checkpoint_every,
            progress=progress,
        )
    finally:
        if started:
            ray.shutdown()
