"""Shared fixtures: one Ray instance per test session for the scale-out tests (started only when used)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# read when ray is imported (before any test imports it): a local instance's node address is 127.0.0.1
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """A local Ray instance (2 CPUs, no dashboard) shared by every scale-out test of the session."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
        )
    yield ray
    if ray.is_initialized():
        ray.shutdown()
