"""DQN with a sparse SimBa/BRO Q-network (discrete actions), cleanrl-style but importable.

There is no actor: ``critic_sparsity`` prunes the Q-network (ERK masks, fixed by the optimizer hooks); the
target network is a hard copy every ``target_update_interval`` steps and shares the masks.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from sparse_drl.agents.common import BaseConfig, OffPolicyAgent, ReplayBuffer
from sparse_drl.diagnostics import (
    DORMANT_TAUS,
    collect_linear_outputs,
    dormant_ratio,
    effective_rank,
    grad_norm,
    gradient_interference,
    stable_rank,
    weight_norm,
)
from sparse_drl.networks import RunningNorm, make_encoder
from sparse_drl.optim import make_optimizer
from sparse_drl.sparsify import sparsify

__all__ = ["DQN", "DQNConfig", "QNetwork"]


@dataclass
class DQNConfig(BaseConfig):
    """DQN options (cleanrl's classic-control settings where the paper has none)."""

    env_id: str = "CartPole-v1"
    learning_starts: int = 1_000
    replay_ratio: float = 0.25
    batch_size: int = 128
    buffer_size: int = 100_000
    optimizer: str = "adam"
    lr: float = 2.5e-4
    weight_decay: float = 0.0
    width: int = 128
    depth: int = 1
    critic_sparsity: float = 0.0
    target_update_interval: int = 500
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_fraction: float = 0.5
    double_q: bool = True
    eval_episodes: int = 5


class QNetwork(nn.Module):
    """encoder(obs) -> Linear(|A|)."""

    def __init__(self, obs_dim: int, n_actions: int, arch: str, width: int, depth: int) -> None:
        super().__init__()
        self.encoder = make_encoder(arch, obs_dim, width, depth)
        self.head = nn.Linear(width, n_actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        q: torch.Tensor = self.head(self.encoder(obs))
        return q


class DQN(OffPolicyAgent):
    """DQN agent on a Gymnasium Discrete-action task, with a sparse Q-network."""

    config: DQNConfig

    def __init__(self, config: DQNConfig) -> None:
        super().__init__(config)
        space = self.envs.single_action_space
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(f"DQN needs a Discrete action space; {config.env_id} has {space}")
        obs_dim = int(np.prod(self.envs.single_observation_space.shape or ()))
        self.n_actions = int(space.n)
        self.obs_norm = RunningNorm(obs_dim)
        self.q = QNetwork(obs_dim, self.n_actions, config.arch, config.width, config.depth)
        if config.critic_sparsity > 0:
            sparsify(self.q, config.critic_sparsity, method=config.sparsity_method, seed=config.seed)
        self.obs_norm.to(self.device)
        self.q.to(self.device)
        self.target_q = copy.deepcopy(self.q).requires_grad_(False)
        self.opt = make_optimizer(config.optimizer, self.q.parameters(), config.lr, config.weight_decay)
        self.buffer = ReplayBuffer(min(config.buffer_size, config.total_steps), (obs_dim,), (), np.int64)

    def observe(self, obs: np.ndarray) -> None:
        self.obs_norm.update(torch.from_numpy(obs).to(self.device))

    def epsilon(self) -> float:
        """Linearly decayed exploration rate at the current step."""
        cfg = self.config
        frac = min(1.0, self.step / max(1.0, cfg.eps_fraction * cfg.total_steps))
        return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)

    def random_actions(self) -> np.ndarray:
        return self.rng.integers(0, self.n_actions, size=self.config.num_envs)

    @torch.no_grad()
    def act(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        greedy: np.ndarray = (
            self.q(self.obs_norm(torch.from_numpy(obs).to(self.device))).argmax(-1).cpu().numpy()
        )
        if not explore:
            return greedy
        rand = self.rng.random(obs.shape[0]) < self.epsilon()
        return np.where(rand, self.rng.integers(0, self.n_actions, size=obs.shape[0]), greedy)

    def _td_target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            next_obs = self.obs_norm(batch["next_obs"])
            q_next_all = self.target_q(next_obs)
            if self.config.double_q:
                idx = self.q(next_obs).argmax(-1, keepdim=True)
                q_next = q_next_all.gather(1, idx).squeeze(1)
            else:
                q_next = q_next_all.max(-1).values
            target: torch.Tensor = batch["rewards"] + self.config.gamma * (1.0 - batch["dones"]) * q_next
            return target

    def update(self, record: bool = False) -> dict[str, float]:
        cfg = self.config
        batch = self.buffer.sample(cfg.batch_size, self.rng, self.device)
        target = self._td_target(batch)
        q = self.q(self.obs_norm(batch["obs"])).gather(1, batch["actions"].view(-1, 1)).squeeze(1)
        loss = (q - target).square().mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        info: dict[str, float] = {}
        if record:
            info = {
                "critic_grad_norm": grad_norm(self.q),
                "critic_loss": float(loss.detach()),
                "epsilon": self.epsilon(),
            }
        self.opt.step()
        if (self.updates + 1) % max(1, round(cfg.target_update_interval * cfg.replay_ratio)) == 0:
            self.target_q.load_state_dict(self.q.state_dict())
        return info

    def diagnostics(self) -> dict[str, float]:
        """Dormant ratios, srank/effective rank of Q features, gradient interference, norms."""
        batch = self.buffer.sample(min(256, self.buffer.size), self.rng, self.device)
        obs = self.obs_norm(batch["obs"])
        outs = collect_linear_outputs(self.q.encoder, lambda: self.q.encoder(obs))
        out: dict[str, float] = {}
        for tau in DORMANT_TAUS:
            out[f"critic_dormant_{tau}"] = dormant_ratio(list(outs.values()), tau)
        with torch.no_grad():
            feats = self.q.encoder(obs)
        out["critic_srank"] = float(stable_rank(feats))
        out["critic_erank"] = effective_rank(feats)

        def per_sample() -> torch.Tensor:
            sub = {k: v[:16] for k, v in batch.items()}
            q = self.q(obs[:16]).gather(1, sub["actions"].view(-1, 1)).squeeze(1)
            sq: torch.Tensor = (q - self._td_target(sub)).square()
            return sq

        out.update({f"critic_{k}": v for k, v in gradient_interference(self.q, per_sample).items()})
        self.q.zero_grad(set_to_none=True)
        out["critic_weight_norm"] = weight_norm(self.q)
        out["critic_feature_norm"] = float(feats.norm(dim=-1).mean())
        return out

    def networks(self) -> dict[str, nn.Module]:
        return {"q": self.q, "target_q": self.target_q, "obs_norm": self.obs_norm}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"q": self.opt}
