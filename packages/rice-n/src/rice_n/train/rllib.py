"""An adapter to train RICE-N with RLlib (``pip install "ray[rllib]"``; not a dependency of rice-n).

Upstream trained with RLlib (``scripts/train_with_rllib.py``, ray 1.0, A2C). This module gives the env
(RLlib's ``ParallelPettingZooEnv`` over :func:`rice_n.parallel_env`) and upstream's hyperparameters as
a plain dict in RLlib's config keys, one policy ``"regions"`` shared by all 27 agents. RLlib's default
model does not apply the ``action_mask`` part of the observation: with negotiation, use a model that adds
a large negative number to masked logits (as upstream's ``TorchLinear``), or ``mask_violation="clip"``.
"""

from __future__ import annotations

from typing import Any

from rice_n.env import parallel_env
from rice_n.train.config import UPSTREAM_ENTROPY

#: The name :func:`register_rllib_env` registers.
ENV_NAME = "rice-n"


def rllib_env_creator(env_config: dict[str, Any] | None = None) -> Any:
    """An RLlib ``MultiAgentEnv`` of RICE-N; ``env_config`` goes to :func:`rice_n.parallel_env`."""
    try:
        from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    except ImportError as exc:
        raise ImportError(f"the RLlib adapter needs ray: pip install 'ray[rllib]' ({exc})") from None
    return ParallelPettingZooEnv(parallel_env(**dict(env_config or {})))


def register_rllib_env(name: str = ENV_NAME) -> str:
    """Register :func:`rllib_env_creator` with ray.tune under ``name``; returns the name."""
    from ray.tune.registry import register_env

    register_env(name, rllib_env_creator)
    return name


def upstream_rllib_config(protocol: str = "none", num_workers: int = 4) -> dict[str, Any]:
    """Upstream's ``rice_rllib.yaml`` as RLlib config keys (A2C; the paper's Fig. 2 used PPO).

    gamma 0.92, lr 5e-4, entropy schedule 0.5 -> 0.1 (1e6 steps) -> 0.05 (5e6), value coefficient 0.1,
    gradient clip 0.5, FC [256, 256], batch 2000 env steps in fragments of 100, one shared policy.
    """
    return {
        "env": ENV_NAME,
        "env_config": {"protocol": protocol},
        "framework": "torch",
        "num_workers": num_workers,
        "num_envs_per_worker": 5,  # 4 workers x 5 = upstream's 20 envs
        "rollout_fragment_length": 100,
        "train_batch_size": 2000,
        "gamma": 0.92,
        "lr": 5e-4,
        "entropy_coeff_schedule": [list(p) for p in UPSTREAM_ENTROPY],
        "vf_loss_coeff": 0.1,
        "grad_clip": 0.5,
        "model": {"fcnet_hiddens": [256, 256], "fcnet_activation": "relu"},
        "multiagent": {
            "policies": {"regions"},
            "policy_mapping_fn": lambda agent_id, *args, **kwargs: "regions",
        },
    }
