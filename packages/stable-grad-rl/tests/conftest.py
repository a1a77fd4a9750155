"""Shared test setup: one torch thread (tiny networks; the CI machine has two shared cores), and a local
Ray instance for the scale-out tests (started once per session, only when such a test asks for it)."""

import os
from collections.abc import Iterator

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault(
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0"
)  # read when Ray is imported: node on 127.0.0.1


@pytest.fixture(scope="session")
def stable_grad_rl_ray() -> Iterator[object]:
    """A local Ray instance (2 CPUs, no dashboard), shared with other packages' scale-out tests."""
    import ray

    # a loaded 2-core machine can take longer than Ray's default 60 s to register the raylet
    os.environ.setdefault("RAY_raylet_start_wait_time_s", "180")
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
