"""Multi-agent RL for RICE-N: one policy shared by all regions, trained with PPO (default) or A2C.

Needs torch (``pip install 'rice-n[train]'``) for everything but the configuration (``TrainConfig``,
``PRESETS``, ``preset``), which imports without torch (the CLI derives its flags from it); the other
names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rice_n.train.config import PRESETS, TrainConfig, preset

if TYPE_CHECKING:
    from rice_n.train.policy import ObsSplit, SharedPolicy, stage_dim_mask
    from rice_n.train.runfolder import RunFolderError
    from rice_n.train.runner import TrainResult, train
    from rice_n.train.store import PolicyError, load_checkpoint, load_policy, save_policy

_LAZY = {
    "ObsSplit": "policy",
    "SharedPolicy": "policy",
    "stage_dim_mask": "policy",
    "RunFolderError": "runfolder",
    "TrainResult": "runner",
    "train": "runner",
    "PolicyError": "store",
    "load_checkpoint": "store",
    "load_policy": "store",
    "save_policy": "store",
}


def __getattr__(name: str) -> Any:
    """The torch-dependent names, imported on first use (ImportError without torch)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rice_n.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rice_n.train.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "PRESETS",
    "ObsSplit",
    "PolicyError",
    "RunFolderError",
    "SharedPolicy",
    "TrainConfig",
    "TrainResult",
    "load_checkpoint",
    "load_policy",
    "preset",
    "save_policy",
    "stage_dim_mask",
    "train",
]
