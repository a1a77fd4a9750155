"""Ray cluster addresses: parsed, resolved and reached (short timeout) before a sweep creates anything.

``auto`` is honoured only when passed explicitly: it reads ``RAY_ADDRESS`` or the address file of the
Ray instance started on this machine (``$RAY_TMPDIR/ray/ray_current_cluster``, ``/tmp/ray/...`` on Linux).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Seconds to wait for a TCP connection to the cluster's head before giving up.
CONNECT_TIMEOUT_S = 3.0


#: Ray reads this at import; "0" keeps a local node on 127.0.0.1 (see ``start_ray``).
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _current_cluster_file() -> Path:
    base = os.environ.get("RAY_TMPDIR") or (
        "/tmp" if sys.platform.startswith("linux") else tempfile.gettempdir()
    )
    return Path(base) / "ray" / "ray_current_cluster"


def _resolve_auto() -> str:
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env and env != "auto":
        return env
    path = _current_cluster_file()
    try:
        found = path.read_text().strip()
    except OSError:
        found = ""
    if not found:
        raise ValueError(f"--address auto: no Ray cluster found on this machine (no RAY_ADDRESS, no {path})")
    return found


def split_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``HOST:PORT`` or ``ray://HOST:PORT``; ``ValueError`` naming the bad address."""
    rest = address[len("ray://") :] if address.startswith("ray://") else address
    host, sep, port = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--address {address!r} is not HOST:PORT (or ray://HOST:PORT, or auto)")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reach_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> str:
    """Resolve ``address`` (``auto`` included) and open a TCP connection to it; return the resolved address.

    Raises a one-line ``ValueError`` when it is malformed or nothing answers within ``timeout`` seconds.
    """
    resolved = _resolve_auto() if address == "auto" else address
    host, port = split_address(resolved)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        why = err.strerror or err.__class__.__name__
        shown = f"{address} ({resolved})" if resolved != address else address
        raise ValueError(f"--address {shown}: no Ray cluster reachable at {host}:{port} ({why})") from err
    return resolved


def start_ray(address: str | None) -> Any:
    """Import Ray and connect to ``address`` (reached first), or start a local instance on 127.0.0.1.

    Nothing happens if Ray is already initialised in this process. Returns the ``ray`` module; a missing
    Ray or a failed start is a one-line ``ImportError`` / ``ValueError``.
    """
    resolved = reach_address(address) if address else None
    if resolved is None or is_loopback(split_address(resolved)[0]):
        # read when Ray is imported: the node's address stays 127.0.0.1 (without it Ray 2.x replaces
        # _node_ip_address="127.0.0.1" by the machine's network address and listens on every interface)
        os.environ.setdefault(LOOPBACK_ONLY, "0")
    try:
        import ray
    except ImportError as err:
        raise ImportError('the ray engine needs Ray: pip install "stable-grad-rl[ray]"') from err
    if ray.is_initialized():
        return ray
    # a loaded machine can take longer than Ray's default 60 s to register the raylet
    os.environ.setdefault("RAY_raylet_start_wait_time_s", "180")
    try:
        if resolved:
            host = split_address(resolved)[0]
            local = is_loopback(host) and not resolved.startswith("ray://")
            if local:
                ray.init(address=resolved, log_to_driver=False, _node_ip_address="127.0.0.1")
            else:
                ray.init(address=resolved, log_to_driver=False)
        else:
            ray.init(
                address="local", include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1"
            )
    except Exception as err:  # Ray raises a bare Exception on a slow raylet; nothing written yet
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else err.__class__.__name__
        raise ValueError(f"--address {address or '(local instance)'}: Ray did not start: {first}") from err
    return ray
