"""PQN (Gallici et al. 2024): parallel Q-learning with Q(lambda) returns, no replay buffer, no target net.

Follows the paper's ``pqn.py`` (cleanrl-style): epsilon-greedy rollouts of ``num_steps`` in ``num_envs``
envs, Q(lambda) returns bootstrapped from ``max_a Q``, ``update_epochs`` passes of MSE regression in
``num_minibatches`` minibatches, gradient clipping at 10. Any network mapping observations to
``n_actions`` Q-values and any optimizer can be plugged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stable_grad_rl.agents.base import Agent, linear_schedule


@dataclass
class PQNConfig:
    """PQN settings; defaults are cleanrl's classic-control PQN, :meth:`atari` the paper's Atari ones."""

    total_timesteps: int = 100_000
    num_envs: int = 32
    num_steps: int = 64
    gamma: float = 0.99
    q_lambda: float = 0.65
    num_minibatches: int = 16
    update_epochs: int = 4
    max_grad_norm: float = 10.0
    start_e: float = 1.0
    end_e: float = 0.05
    exploration_fraction: float = 0.5
    reward_clip: bool = False

    @classmethod
    def atari(cls, total_timesteps: int = 10_000_000) -> PQNConfig:
        """The paper's Atari settings: 128 envs x 32 steps, 32 minibatches, 2 epochs, eps 1 -> 0.005 over 10%."""
        return cls(total_timesteps, 128, 32, 0.99, 0.65, 32, 2, 10.0, 1.0, 0.005, 0.10, True)

    def validate(self) -> PQNConfig:
        """Raise ``ValueError`` naming the bad field; return self."""
        for name in ("total_timesteps", "num_envs", "num_steps", "num_minibatches", "update_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"PQN {name} must be >= 1, got {getattr(self, name)}")
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            raise ValueError(
                f"num_envs*num_steps={self.num_envs * self.num_steps} is not divisible by "
                f"num_minibatches={self.num_minibatches}"
            )
        if not 0 <= self.q_lambda <= 1 or not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma and q_lambda must lie in [0, 1], got {self.gamma}, {self.q_lambda}")
        return self


def q_lambda_returns(
    rewards: torch.Tensor,
    dones: torch.Tensor,
    max_q: torch.Tensor,
    next_max_q: torch.Tensor,
    next_done: torch.Tensor,
    gamma: float,
    q_lambda: float,
) -> torch.Tensor:
    """Q(lambda) targets over a ``(T, N)`` rollout.

    ``dones[t]`` flags that ``obs[t]`` starts a new episode; ``max_q[t] = max_a Q(obs[t])``.
    ``R[T-1] = r[T-1] + gamma (1 - next_done) maxQ(next_obs)`` and
    ``R[t] = r[t] + gamma (1 - dones[t+1]) (lambda R[t+1] + (1 - lambda) max_q[t+1])``.
    """
    steps = rewards.shape[0]
    returns = torch.empty_like(rewards)
    returns[-1] = rewards[-1] + gamma * next_max_q * (1.0 - next_done)
    for t in range(steps - 2, -1, -1):
        boot = q_lambda * returns[t + 1] + (1.0 - q_lambda) * max_q[t + 1]
        returns[t] = rewards[t] + gamma * boot * (1.0 - dones[t + 1])
    return returns


class PQN(Agent):
    """PQN agent over a vector env; ``network(obs) -> (batch, n_actions)`` Q-values."""

    algo = "pqn"

    def __init__(
        self,
        envs: gym.vector.VectorEnv[Any, Any, Any],
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        config: PQNConfig | None = None,
        seed: int = 0,
    ):
        self.config = (config or PQNConfig()).validate()
        super().__init__(envs, network, optimizer, seed)
        cfg = self.config
        self._setup_on_policy(cfg.num_envs, cfg.num_steps, cfg.total_timesteps)

    def epsilon(self) -> float:
        """Current exploration rate."""
        cfg = self.config
        return linear_schedule(
            cfg.start_e, cfg.end_e, cfg.exploration_fraction * cfg.total_timesteps, self.global_step
        )

    def _iterate(self) -> dict[str, Any]:
        cfg = self.config
        t_, n_ = cfg.num_steps, cfg.num_envs
        dev = self.device
        obs_buf = torch.zeros((t_, n_, *self.obs.shape[1:]), device=dev)
        act_buf = torch.zeros((t_, n_), dtype=torch.long, device=dev)
        rew_buf, done_buf, maxq_buf = (torch.zeros((t_, n_), device=dev) for _ in range(3))
        for t in range(t_):
            eps = self.epsilon()
            with torch.no_grad():
                q = self.network(self.obs)
            greedy = q.argmax(-1).cpu().numpy()
            random_a = self.rng.integers(0, self.n_actions, n_)
            actions = np.where(self.rng.random(n_) < eps, random_a, greedy)
            obs_buf[t], done_buf[t], maxq_buf[t] = self.obs, self.next_done, q.max(-1).values
            act_buf[t] = torch.as_tensor(actions, device=dev)
            self.obs, reward, done = self._env_step(actions)
            rew_buf[t] = torch.as_tensor(np.sign(reward) if cfg.reward_clip else reward, device=dev)
            self.next_done = torch.as_tensor(done, dtype=torch.float32, device=dev)
        with torch.no_grad():
            next_max_q = self.network(self.obs).max(-1).values
        returns = q_lambda_returns(
            rew_buf, done_buf, maxq_buf, next_max_q, self.next_done, cfg.gamma, cfg.q_lambda
        )
        b_obs = obs_buf.reshape(self.batch_size, *obs_buf.shape[2:])
        b_act, b_ret = act_buf.reshape(-1), returns.reshape(-1)
        self._last_obs_batch = b_obs[:512]
        mb = self.batch_size // cfg.num_minibatches
        losses = []
        for _ in range(cfg.update_epochs):
            perm = torch.randperm(self.batch_size).to(dev)
            for start in range(0, self.batch_size, mb):
                idx = perm[start : start + mb]
                q = self.network(b_obs[idx]).gather(1, b_act[idx, None]).squeeze(1)
                loss = F.mse_loss(q, b_ret[idx])
                self._backward_step(loss, cfg.max_grad_norm)
                losses.append(float(loss.detach()))
        return {"loss": float(np.mean(losses)), "epsilon": self.epsilon(), "q_mean": float(maxq_buf.mean())}

    def _diag_batch(self) -> torch.Tensor:
        return self._last_obs_batch
