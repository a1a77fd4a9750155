"""Shared fixtures of the vcr-wiki tests."""

from __future__ import annotations

import os

import pytest

# read when Ray is imported: Ray keeps the node on 127.0.0.1 instead of the machine's network address
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from vcr_wiki.fonts import FontNotFoundError, find_zh_font


@pytest.fixture(scope="session")
def zh_font() -> str:
    """A CJK font on this machine, or skip (install fonts-arphic-uming or fonts-noto-cjk)."""
    try:
        return str(find_zh_font())
    except FontNotFoundError as exc:
        pytest.skip(f"no CJK font: {exc}")


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray instance (2 CPUs) shared by the scale-out tests of every package in one process."""
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
