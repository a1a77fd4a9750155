"""Tiny models run fastest single-threaded, and tests share the machine's cores. Fixtures: a tiny run
folder (safetensors models, an evaluator module beside its config) and a session-wide Ray."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import torch

os.environ.setdefault(
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0"
)  # read when Ray is imported: node on 127.0.0.1

torch.set_num_threads(1)

TASKS_MODULE = """
import torch

TARGETS = {"a": 0.6, "b": -0.4}

def build():
    torch.manual_seed(0)
    return torch.nn.Linear(4, 3)

def evaluate(model):
    w = model.weight
    return {t: float(1.0 / (1.0 + 4.0 * ((w - v) ** 2).mean())) for t, v in TARGETS.items()}
"""


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    """tmp/run.json naming base.safetensors, a.safetensors, b.safetensors and tiny_tasks:evaluate."""
    return make_tiny_run(tmp_path)


@pytest.fixture(scope="session")
def finished_front(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run folder with a finished `map-merge front` in its ``out`` folder (shared: copy it before
    changing anything in it)."""
    from map_merge.cli import main

    root = tmp_path_factory.mktemp("finished")
    config = make_tiny_run(root)
    assert main(["front", str(config), "--out", str(root / "out")]) == 0
    return root


def make_tiny_run(tmp_path: Path) -> Path:
    """Write the tiny run's models, evaluator module and run.json into tmp_path; return run.json."""
    from safetensors.torch import save_file

    (tmp_path / "tiny_tasks.py").write_text(textwrap.dedent(TASKS_MODULE))
    torch.manual_seed(0)
    base = torch.nn.Linear(4, 3).state_dict()
    save_file({k: v.contiguous() for k, v in base.items()}, str(tmp_path / "base.safetensors"))
    for name, value in (("a", 0.6), ("b", -0.4)):
        tuned = {k: v + 0.8 * (value - v) if k == "weight" else v + 0.1 for k, v in base.items()}
        save_file({k: v.contiguous() for k, v in tuned.items()}, str(tmp_path / f"{name}.safetensors"))
    config = {
        "base": "base.safetensors",
        "models": {"a": "a.safetensors", "b": "b.safetensors"},
        "evaluator": "tiny_tasks:evaluate",
        "model": "tiny_tasks:build",
        "budget": 10,
    }
    (tmp_path / "run.json").write_text(json.dumps(config))
    return tmp_path / "run.json"


@pytest.fixture(scope="session")
def ray_session():
    """One Ray instance for all scale-out tests of the session (shared with the other packages)."""
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
