"""SAC and DQN solve an easy task in a small budget, with their masks intact."""

from __future__ import annotations

import pytest
import torch

from sparse_drl import density_report
from sparse_drl.agents import DQN, SAC, DQNConfig, SACConfig, make_agent


def _masks(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if k.endswith("_mask")}


def _zero_where_pruned(module: torch.nn.Module) -> bool:
    sd = module.state_dict()
    return all(
        bool((sd[k[: -len("_mask")]][m == 0] == 0).all()) for k, m in sd.items() if k.endswith("_mask")
    )


def test_sac_solves_pendulum_sparse() -> None:
    cfg = SACConfig(
        env_id="Pendulum-v1",
        total_steps=3000,
        learning_starts=500,
        replay_ratio=1.0,
        batch_size=128,
        actor_width=64,
        critic_width=64,
        critic_depth=1,
        actor_lr=1e-3,
        critic_lr=1e-3,
        temp_lr=1e-3,
        temp_init=0.1,
        actor_sparsity=0.5,
        critic_sparsity=0.8,
        eval_every=1500,
        log_every=1500,
        eval_episodes=5,
        seed=0,
    )
    agent = SAC(cfg)
    masks = _masks(agent.critic)
    assert density_report(agent.critic).total_density == pytest.approx(0.2, abs=0.01)
    assert density_report(agent.actor).total_density == pytest.approx(0.5, abs=0.01)
    records = agent.train()
    assert records[-1]["eval_return"] > -400, records[-1]  # random policy: about -1200
    assert all(r["pruned_zero_frac"] == 1.0 for r in records if "pruned_zero_frac" in r)
    for key, mask in _masks(agent.critic).items():
        assert torch.equal(mask, masks[key])
    assert _zero_where_pruned(agent.critic) and _zero_where_pruned(agent.target_critic)
    assert _zero_where_pruned(agent.actor)
    agent.close()


def test_dqn_solves_cartpole_sparse() -> None:
    cfg = DQNConfig(
        total_steps=8000,
        learning_starts=1000,
        width=64,
        depth=1,
        lr=1e-3,
        replay_ratio=1.0,
        batch_size=64,
        target_update_interval=100,
        eps_fraction=0.25,
        critic_sparsity=0.5,
        eval_every=500,
        log_every=4000,
        eval_episodes=3,
        seed=0,
    )
    agent = DQN(cfg)
    records = agent.train()
    best = max(r["eval_return"] for r in records if "eval_return" in r)
    # random policy: about 22; the exact curve depends on the CPU's float kernels, so the bar leaves room
    assert best >= 150, records
    assert records[-1]["train_return"] > 60
    assert _zero_where_pruned(agent.q) and _zero_where_pruned(agent.target_q)
    agent.close()


def test_agent_config_errors() -> None:
    with pytest.raises(ValueError, match="critic_sparsity"):
        make_agent("sac", critic_sparsity=1.0)
    with pytest.raises(ValueError, match="unknown"):
        make_agent("dqn", actor_sparsity=0.5)
    with pytest.raises(ValueError, match="Discrete"):
        make_agent("dqn", env_id="Pendulum-v1")
    with pytest.raises(ValueError, match="replay_ratio"):
        make_agent("sac", replay_ratio=0)
