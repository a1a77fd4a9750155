"""Multi-agent RL for RICE-N: one policy shared by all regions, trained with PPO (default) or A2C.

Needs torch (``pip install 'rice-n[train]'``).
"""

from rice_n.train.config import PRESETS, TrainConfig, preset
from rice_n.train.policy import ObsSplit, SharedPolicy, stage_dim_mask
from rice_n.train.runfolder import RunFolderError
from rice_n.train.runner import TrainResult, train
from rice_n.train.store import PolicyError, load_checkpoint, load_policy, save_policy

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
