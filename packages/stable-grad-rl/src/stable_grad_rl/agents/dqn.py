"""DQN (Mnih et al. 2015), cleanrl-style: replay buffer, target network, epsilon-greedy, no grad clipping.

One :meth:`DQN.step` runs ``steps_per_iteration`` vector-env steps (training every ``train_frequency``
env steps after ``learning_starts``). Any Q-network and optimizer can be plugged in.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stable_grad_rl.agents.base import Agent, linear_schedule


@dataclass
class DQNConfig:
    """DQN settings; defaults are cleanrl's classic-control DQN (with a shorter budget)."""

    total_timesteps: int = 100_000
    num_envs: int = 1
    buffer_size: int = 10_000
    gamma: float = 0.99
    tau: float = 1.0
    target_network_frequency: int = 500
    batch_size: int = 128
    start_e: float = 1.0
    end_e: float = 0.05
    exploration_fraction: float = 0.5
    learning_starts: int = 10_000
    train_frequency: int = 10
    steps_per_iteration: int = 1000
    max_grad_norm: float = 0.0
    reward_clip: bool = False

    def validate(self) -> DQNConfig:
        """Raise ``ValueError`` naming the bad field; return self."""
        for name in ("total_timesteps", "num_envs", "buffer_size", "batch_size", "train_frequency",
                     "steps_per_iteration", "target_network_frequency"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"DQN {name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.tau <= 1:
            raise ValueError(f"DQN tau must lie in (0, 1], got {self.tau}")
        return self


class ReplayBuffer:
    """Fixed-size ring buffer of transitions (torch tensors)."""

    def __init__(self, size: int, obs_shape: tuple[int, ...], device: torch.device | str = "cpu"):
        self.size = size
        self.device = torch.device(device)
        self.obs = torch.zeros((size, *obs_shape), device=self.device)
        self.next_obs = torch.zeros((size, *obs_shape), device=self.device)
        self.actions = torch.zeros(size, dtype=torch.long, device=self.device)
        self.rewards = torch.zeros(size, device=self.device)
        self.dones = torch.zeros(size, device=self.device)
        self.pos = 0
        self.full = False

    def add(
        self,
        obs: torch.Tensor,
        next_obs: torch.Tensor,
        actions: np.ndarray,
        rewards: np.ndarray,
        dones: np.ndarray,
    ) -> None:
        """Append a batch of transitions (``dones`` are terminations only)."""
        n = obs.shape[0]
        idx = torch.as_tensor((self.pos + np.arange(n)) % self.size, device=self.device)
        self.obs[idx], self.next_obs[idx] = obs, next_obs
        self.actions[idx] = torch.as_tensor(actions, dtype=torch.long, device=self.device)
        self.rewards[idx] = torch.as_tensor(rewards, dtype=torch.float32, device=self.device)
        self.dones[idx] = torch.as_tensor(dones, dtype=torch.float32, device=self.device)
        self.full = self.full or self.pos + n >= self.size
        self.pos = int((self.pos + n) % self.size)

    def state_dict(self) -> dict[str, Any]:
        """The filled part of the buffer (copies, so the whole storage is not saved) and its position."""
        n = len(self)
        return {
            "obs": self.obs[:n].clone(),
            "next_obs": self.next_obs[:n].clone(),
            "actions": self.actions[:n].clone(),
            "rewards": self.rewards[:n].clone(),
            "dones": self.dones[:n].clone(),
            "pos": self.pos,
            "full": self.full,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`; ``ValueError`` if it does not fit this buffer."""
        n = state["obs"].shape[0]
        if n > self.size or state["obs"].shape[1:] != self.obs.shape[1:]:
            raise ValueError(
                f"checkpoint buffer {tuple(state['obs'].shape)} does not fit {tuple(self.obs.shape)}"
            )
        for key in ("obs", "next_obs", "actions", "rewards", "dones"):
            getattr(self, key)[:n] = state[key].to(self.device)
        self.pos, self.full = int(state["pos"]), bool(state["full"])

    def __len__(self) -> int:
        return self.size if self.full else self.pos

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        """Uniform minibatch."""
        idx = torch.as_tensor(rng.integers(0, len(self), batch), device=self.device)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]


class DQN(Agent):
    """DQN agent over a vector env; ``network(obs) -> (batch, n_actions)`` Q-values."""

    algo = "dqn"

    def __init__(
        self,
        envs: gym.vector.VectorEnv[Any, Any, Any],
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        config: DQNConfig | None = None,
        seed: int = 0,
    ):
        self.config = (config or DQNConfig()).validate()
        if envs.num_envs != self.config.num_envs:
            raise ValueError(f"envs has {envs.num_envs} copies but config.num_envs is {self.config.num_envs}")
        super().__init__(envs, network, optimizer, seed)
        cfg = self.config
        self.target = copy.deepcopy(network).requires_grad_(False)
        self.buffer = ReplayBuffer(cfg.buffer_size, tuple(self.obs.shape[1:]), self.device)
        self.total_iterations = max(1, cfg.total_timesteps // cfg.steps_per_iteration)
        self._next_train = cfg.learning_starts
        self._next_target = cfg.learning_starts

    def epsilon(self) -> float:
        """Current exploration rate."""
        cfg = self.config
        return linear_schedule(
            cfg.start_e, cfg.end_e, cfg.exploration_fraction * cfg.total_timesteps, self.global_step
        )

    def _iterate(self) -> dict[str, Any]:
        cfg = self.config
        n_ = self.num_envs
        losses: list[float] = []
        end = self.global_step + cfg.steps_per_iteration
        while self.global_step < end:
            with torch.no_grad():
                greedy = self.network(self.obs).argmax(-1).cpu().numpy()
            actions = np.where(
                self.rng.random(n_) < self.epsilon(), self.rng.integers(0, self.n_actions, n_), greedy
            )
            prev = self.obs
            obs, reward, term, trunc, info = self.envs.step(actions)
            done = np.logical_or(term, trunc)
            self.tracker.update(np.asarray(reward, dtype=np.float64), done)
            self.global_step += n_
            next_obs = np.array(obs, dtype=np.float32, copy=True)
            if done.any() and "final_obs" in info:
                for i in np.flatnonzero(done):
                    next_obs[i] = info["final_obs"][i]
            r = np.sign(reward) if cfg.reward_clip else reward
            self.buffer.add(prev, torch.as_tensor(next_obs, device=self.device), actions, r, term)
            self.obs = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.device)
            if self.global_step >= self._next_train and len(self.buffer) >= cfg.batch_size:
                self._next_train += cfg.train_frequency
                o, a, rw, no, d = self.buffer.sample(cfg.batch_size, self.rng)
                with torch.no_grad():
                    target = rw + cfg.gamma * self.target(no).max(-1).values * (1.0 - d)
                q = self.network(o).gather(1, a[:, None]).squeeze(1)
                loss = F.mse_loss(q, target)
                self._backward_step(loss, cfg.max_grad_norm)
                losses.append(float(loss.detach()))
            if self.global_step >= self._next_target:
                self._next_target += cfg.target_network_frequency
                with torch.no_grad():
                    for tp, p in zip(self.target.parameters(), self.network.parameters(), strict=True):
                        tp.lerp_(p, cfg.tau)
        return {"loss": float(np.mean(losses)) if losses else None, "epsilon": self.epsilon()}

    def _diag_batch(self) -> torch.Tensor:
        return (
            self.buffer.sample(min(512, max(len(self.buffer), 1)), np.random.default_rng(0))[0]
            if len(self.buffer)
            else self.obs
        )

    def extra_state(self) -> dict[str, Any]:
        """Target network, replay buffer and train/target counters."""
        return {
            "target": self.target.state_dict(),
            "buffer": self.buffer.state_dict(),
            "next_train": self._next_train,
            "next_target": self._next_target,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`extra_state`."""
        self.target.load_state_dict(state["target"])
        if "buffer" in state:
            self.buffer.load_state_dict(state["buffer"])
        self._next_train = int(state["next_train"])
        self._next_target = int(state["next_target"])
