"""Keep the tests on one CPU thread (the CI machine has two cores shared by several suites); a local Ray
instance on 127.0.0.1 for the scale-out tests."""

import os
from collections.abc import Iterator

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault(
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0"
)  # read when Ray is imported: node on 127.0.0.1


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[None]:
    """A local Ray instance shared by the scale-out tests of this session (started once, shut down)."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
        )
    yield
    if ray.is_initialized():
        ray.shutdown()
