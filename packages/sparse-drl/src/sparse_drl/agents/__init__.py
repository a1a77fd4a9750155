"""SAC and DQN agents with separately sparsified networks."""

from sparse_drl.agents.common import BaseConfig, OffPolicyAgent, ReplayBuffer
from sparse_drl.agents.dqn import DQN, DQNConfig
from sparse_drl.agents.sac import SAC, SACConfig

__all__ = [
    "DQN",
    "SAC",
    "BaseConfig",
    "DQNConfig",
    "OffPolicyAgent",
    "ReplayBuffer",
    "SACConfig",
    "make_agent",
]

AGENTS: dict[str, tuple[type[OffPolicyAgent], type[BaseConfig]]] = {
    "sac": (SAC, SACConfig),
    "dqn": (DQN, DQNConfig),
}


def make_agent(name: str, **options: object) -> OffPolicyAgent:
    """Build ``"sac"`` or ``"dqn"`` from keyword options of its config dataclass."""
    if name not in AGENTS:
        raise ValueError(f"agent must be one of {sorted(AGENTS)}, got {name!r}")
    cls, cfg_cls = AGENTS[name]
    return cls(cfg_cls.from_dict(dict(options)))
