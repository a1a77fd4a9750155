"""Agents: return estimators with known answers, learning on CartPole, determinism, config errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stable_grad_rl import (
    PPO,
    ActorCritic,
    DQNConfig,
    NetworkConfig,
    PPOConfig,
    PQNConfig,
    TrainConfig,
    make_optimizer,
    make_trainer,
    make_vec_env,
)
from stable_grad_rl.agents import gae, q_lambda_returns

SMALL_NET = NetworkConfig(kind="plain", depth=2, width=64, layernorm=True)


def test_q_lambda_returns_limits() -> None:
    r = torch.tensor([[1.0], [2.0], [3.0]])
    dones = torch.zeros(3, 1)
    max_q = torch.tensor([[10.0], [20.0], [30.0]])
    nxt, nd = torch.tensor([40.0]), torch.tensor([0.0])
    # lambda = 0: one-step Q-learning targets r_t + gamma max Q(s_{t+1})
    one = q_lambda_returns(r, dones, max_q, nxt, nd, 0.5, 0.0)
    assert one[:, 0].tolist() == [1 + 0.5 * 20, 2 + 0.5 * 30, 3 + 0.5 * 40]
    # lambda = 1: discounted Monte-Carlo return bootstrapped at the end
    mc = q_lambda_returns(r, dones, max_q, nxt, nd, 0.5, 1.0)
    assert mc[:, 0].tolist() == [1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 40, 2 + 0.5 * 3 + 0.25 * 40, 3 + 0.5 * 40]
    # an episode start at t=2 cuts the bootstrap of step 1
    dones[2] = 1.0
    cut = q_lambda_returns(r, dones, max_q, nxt, nd, 0.5, 1.0)
    assert cut[1, 0] == 2.0 and cut[0, 0] == 1 + 0.5 * 2


def test_gae_lambda_one_is_return_minus_value() -> None:
    r = torch.tensor([[1.0], [1.0], [1.0]])
    v = torch.tensor([[0.5], [0.2], [0.1]])
    adv = gae(r, v, torch.zeros(3, 1), torch.tensor([2.0]), torch.tensor([0.0]), 1.0, 1.0)
    assert adv[:, 0].tolist() == pytest.approx([5 - 0.5, 4 - 0.2, 3 - 0.1])


def _train(algo: str, steps: int, seed: int, lr: float = 1e-3, **extra) -> tuple[object, list[dict]]:
    cfg = TrainConfig(algo=algo, env="CartPole-v1", network=SMALL_NET, lr=lr, seed=seed, diag_every=1000,
                      algo_config={"total_timesteps": steps, **extra})  # fmt: skip
    agent = make_trainer(cfg)
    records = []
    while agent.iteration < agent.total_iterations:
        rec = agent.step()
        if rec:
            records.append(rec)
    agent.envs.close()
    return agent, records


def test_pqn_learns_cartpole() -> None:
    agent, _ = _train("pqn", 40_000, 0, exploration_fraction=0.2)
    summary = agent.summary()
    assert summary["final_return"] >= 100, summary  # random policy: about 22 (measured here: 183)


def test_ppo_learns_cartpole() -> None:
    agent, _ = _train("ppo", 40_960, 0, lr=2.5e-3, num_envs=8)
    summary = agent.summary()
    assert summary["final_return"] >= 100, summary  # random policy: about 22 (measured here: 147)


def test_dqn_runs_and_updates() -> None:
    agent, records = _train("dqn", 1_500, 0, learning_starts=500, steps_per_iteration=500, buffer_size=1000)
    assert records[-1]["loss"] is not None and records[-1]["grad_norms"]
    assert "srank" in records[-1] and agent.global_step == 1_500


def test_same_seed_same_run() -> None:
    a = _train("pqn", 4_096, 3)[1]
    b = _train("pqn", 4_096, 3)[1]
    strip = [{k: v for k, v in r.items() if k != "wall_time"} for r in a]
    assert strip == [{k: v for k, v in r.items() if k != "wall_time"} for r in b]
    c = _train("pqn", 4_096, 4)[1]
    assert c[-1]["loss"] != a[-1]["loss"]


def test_bad_agent_configs() -> None:
    with pytest.raises(ValueError, match="num_minibatches"):
        PQNConfig(num_envs=3, num_steps=5, num_minibatches=4).validate()
    with pytest.raises(ValueError, match="num_envs"):
        PPOConfig(num_envs=0).validate()
    with pytest.raises(ValueError, match="tau"):
        DQNConfig(tau=0.0).validate()
    with pytest.raises(ValueError, match="bogus"):
        TrainConfig(algo="pqn", algo_config={"bogus": 1}).validate()
    with pytest.raises(ValueError, match="a2c"):
        TrainConfig(algo="a2c").validate()
    with pytest.raises(ValueError, match="NoSuchEnv"):
        make_trainer(TrainConfig(algo="pqn", env="NoSuchEnv-v0"))
    with pytest.raises(ValueError, match="Discrete"):
        make_trainer(TrainConfig(algo="pqn", env="Pendulum-v1"))


def test_ppo_heads_as_upstream() -> None:
    agent = make_trainer(TrainConfig(algo="ppo", network=SMALL_NET, algo_config={"total_timesteps": 512}))
    net = agent.network
    assert isinstance(net, ActorCritic) and net.critic_body is not None  # cleanrl: separate bodies
    assert torch.linalg.svdvals(net.actor_head.weight).tolist() == pytest.approx([0.01, 0.01], rel=1e-5)
    assert float(net.critic_head.weight.detach().norm()) == pytest.approx(1.0, rel=1e-5)  # gain 1
    shared = make_trainer(
        TrainConfig(algo="ppo", network=SMALL_NET, algo_config={"total_timesteps": 512, "shared_body": True})
    )
    assert shared.network.critic_body is None
    agent.envs.close()
    shared.envs.close()


@pytest.mark.parametrize("legacy", [False, True])
def test_ppo_takes_any_network(legacy: bool) -> None:
    """A tanh network without nn.ReLU (diagnostics must not assume ReLU), as a module pair or one tensor."""
    envs = make_vec_env("CartPole-v1", 4, 0)
    if legacy:
        net: nn.Module = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 3))
    else:
        net = ActorCritic(nn.Sequential(nn.Linear(4, 32), nn.Tanh()), 32, 2)
    cfg = PPOConfig(total_timesteps=4 * 16 * 12, num_envs=4, num_steps=16)
    agent = PPO(envs, net, make_optimizer("adam", net.parameters(), 1e-3), cfg)
    agent.diag_every = 1
    records = [agent.step() for _ in range(agent.total_iterations)]
    envs.close()
    assert len(records) == 12 and records[-1]["dead_fraction"] is None
    assert records[-1]["srank"] >= 1 and records[-1]["grad_spread"]["first_last_ratio"] > 0
