"""Soft Actor-Critic with sparse SimBa/BRO actor and critic (Ma et al. 2025 on top of SimBa's SAC).

Defaults follow upstream (``base_sac``): AdamW lr 1e-4, weight decay 1e-2, temperature init 0.01 (lr 1e-4),
target entropy -0.5|A|, batch 256, 5k random steps, 2 updates per env step, tau 0.005, gamma 0.99,
actor SimBa h128x1, critic SimBa h512x2. Pruning: one-shot ERK masks on actor and critic (separate
sparsities), fixed by the optimizer hooks; the target critic shares the masks (EMA keeps zeros at zero);
the temperature is never sparse.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

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

__all__ = ["SAC", "Actor", "Critic", "SACConfig"]

LOG_STD_MIN, LOG_STD_MAX = -10.0, 2.0


@dataclass
class SACConfig(BaseConfig):
    """SAC options; defaults are upstream's ``base_sac`` settings."""

    actor_width: int = 128
    actor_depth: int = 1
    critic_width: int = 512
    critic_depth: int = 2
    actor_sparsity: float = 0.0
    critic_sparsity: float = 0.0
    num_critics: int = 2
    clipped_double_q: bool = True  # upstream DMC runs use False
    actor_lr: float = 1e-4
    critic_lr: float = 1e-4
    weight_decay: float = 1e-2
    temp_init: float = 0.01
    temp_lr: float = 1e-4
    target_entropy_scale: float = 0.5
    tau: float = 0.005


class Actor(nn.Module):
    """Tanh-Gaussian policy: encoder -> Linear(2|A|) -> mean, log-std squashed to [-10, 2]."""

    def __init__(self, obs_dim: int, act_dim: int, arch: str, width: int, depth: int) -> None:
        super().__init__()
        self.encoder = make_encoder(arch, obs_dim, width, depth)
        self.head = nn.Linear(width, 2 * act_dim)
        nn.init.orthogonal_(self.head.weight, gain=1.0)
        nn.init.zeros_(self.head.bias)

    def forward(self, obs: torch.Tensor, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """A squashed action in [-1, 1] and its log-probability."""
        mean, raw = self.head(self.encoder(obs)).chunk(2, dim=-1)
        if deterministic:
            return torch.tanh(mean), torch.zeros(obs.shape[0], device=obs.device)
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (torch.tanh(raw) + 1.0)
        std = log_std.exp()
        u = mean + std * torch.randn_like(mean)
        action = torch.tanh(u)
        log_prob = (-0.5 * ((u - mean) / std).square() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_prob = log_prob - (2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))).sum(-1)
        return action, log_prob


class Critic(nn.Module):
    """``num_critics`` independent Q networks: encoder([obs, action]) -> Linear(1)."""

    def __init__(
        self, obs_dim: int, act_dim: int, arch: str, width: int, depth: int, num_critics: int
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(
            make_encoder(arch, obs_dim + act_dim, width, depth) for _ in range(num_critics)
        )
        self.heads = nn.ModuleList(nn.Linear(width, 1) for _ in range(num_critics))

    def sparse_subnetworks(self) -> list[tuple[str, ...]]:
        """The independent Q networks, for per-network allocation rules (``sparsify.subnetworks``)."""
        return [(f"encoders.{i}", f"heads.{i}") for i in range(len(self.heads))]

    def features(self, obs: torch.Tensor, action: torch.Tensor, index: int = 0) -> torch.Tensor:
        """Encoder output of critic ``index`` (after the final LayerNorm for SimBa)."""
        feats: torch.Tensor = self.encoders[index](torch.cat([obs, action], dim=-1))
        return feats

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Q values ``[num_critics, B]``."""
        x = torch.cat([obs, action], dim=-1)
        return torch.stack([h(e(x)).squeeze(-1) for e, h in zip(self.encoders, self.heads, strict=True)])


class SAC(OffPolicyAgent):
    """SAC agent on a Gymnasium Box-action task, with sparse actor and critic."""

    config: SACConfig

    def __init__(self, config: SACConfig) -> None:
        super().__init__(config)
        space = self.envs.single_action_space
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(f"SAC needs a continuous (Box) action space; {config.env_id} has {space}")
        obs_dim = int(np.prod(self.envs.single_observation_space.shape or ()))
        act_dim = int(np.prod(space.shape or ()))
        self.low, self.high = space.low.astype(np.float32), space.high.astype(np.float32)
        self.obs_norm = RunningNorm(obs_dim)
        self.actor = Actor(obs_dim, act_dim, config.arch, config.actor_width, config.actor_depth)
        self.critic = Critic(
            obs_dim, act_dim, config.arch, config.critic_width, config.critic_depth, config.num_critics
        )
        if config.actor_sparsity > 0:
            sparsify(self.actor, config.actor_sparsity, method=config.sparsity_method, seed=config.seed)
        if config.critic_sparsity > 0:
            sparsify(self.critic, config.critic_sparsity, method=config.sparsity_method, seed=config.seed)
        self.obs_norm.to(self.device)
        self.actor.to(self.device)
        self.critic.to(self.device)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = torch.tensor(math.log(config.temp_init), device=self.device, requires_grad=True)
        self.target_entropy = -config.target_entropy_scale * act_dim
        wd = config.weight_decay
        self.actor_opt = make_optimizer(config.optimizer, self.actor.parameters(), config.actor_lr, wd)
        self.critic_opt = make_optimizer(config.optimizer, self.critic.parameters(), config.critic_lr, wd)
        self.temp_opt = torch.optim.Adam([self.log_alpha], lr=config.temp_lr)
        self.buffer = ReplayBuffer(
            min(config.buffer_size, config.total_steps), (obs_dim,), (act_dim,), np.float32
        )

    def observe(self, obs: np.ndarray) -> None:
        self.obs_norm.update(torch.from_numpy(obs).to(self.device))

    def random_actions(self) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=(self.config.num_envs, self.low.shape[0])).astype(np.float32)

    def to_env_action(self, actions: np.ndarray) -> np.ndarray:
        return self.low + (actions + 1.0) * 0.5 * (self.high - self.low)

    @torch.no_grad()
    def act(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        action, _ = self.actor(
            self.obs_norm(torch.from_numpy(obs).to(self.device)), deterministic=not explore
        )
        out: np.ndarray = action.cpu().numpy().astype(np.float32)
        return out

    def _q(self, q: torch.Tensor) -> torch.Tensor:
        return q.min(0).values if self.config.clipped_double_q else q.mean(0)

    def _td_target(self, batch: dict[str, torch.Tensor], next_obs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            next_action, next_logp = self.actor(next_obs)
            q_next = self._q(self.target_critic(next_obs, next_action)) - self.log_alpha.exp() * next_logp
            target: torch.Tensor = batch["rewards"] + self.config.gamma * (1.0 - batch["dones"]) * q_next
            return target

    def update(self, record: bool = False) -> dict[str, float]:
        cfg = self.config
        batch = self.buffer.sample(cfg.batch_size, self.rng, self.device)
        obs, next_obs = self.obs_norm(batch["obs"]), self.obs_norm(batch["next_obs"])
        target = self._td_target(batch, next_obs)
        q = self.critic(obs, batch["actions"])
        critic_loss = (q - target).square().mean(1).sum()
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        info: dict[str, float] = {}
        if record:
            info["critic_grad_norm"] = grad_norm(self.critic)
        self.critic_opt.step()

        action, logp = self.actor(obs)
        actor_loss = (self.log_alpha.exp().detach() * logp - self._q(self.critic(obs, action))).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        if record:
            info["actor_grad_norm"] = grad_norm(self.actor)
        self.actor_opt.step()

        temp_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.temp_opt.zero_grad(set_to_none=True)
        temp_loss.backward()
        self.temp_opt.step()

        with torch.no_grad():
            online: list[torch.Tensor] = list(self.critic.parameters())
            tgt: list[torch.Tensor] = list(self.target_critic.parameters())
            torch._foreach_lerp_(tgt, online, cfg.tau)
        if record:
            info.update(
                critic_loss=float(critic_loss.detach()),
                actor_loss=float(actor_loss.detach()),
                alpha=float(self.log_alpha.detach().exp()),
                entropy=float(-logp.detach().mean()),
            )
        return info

    def diagnostics(self) -> dict[str, float]:
        """Dormant ratios (tau 0.1, 0.2), srank/effective rank of critic features, gradient interference, norms."""
        batch = self.buffer.sample(min(256, self.buffer.size), self.rng, self.device)
        obs = self.obs_norm(batch["obs"])
        acts = batch["actions"]
        out: dict[str, float] = {}
        critic_out = collect_linear_outputs(
            self.critic.encoders[0], lambda: self.critic.encoders[0](torch.cat([obs, acts], -1))
        )
        actor_out = collect_linear_outputs(self.actor.encoder, lambda: self.actor.encoder(obs))
        for tau in DORMANT_TAUS:
            out[f"critic_dormant_{tau}"] = dormant_ratio(list(critic_out.values()), tau)
            out[f"actor_dormant_{tau}"] = dormant_ratio(list(actor_out.values()), tau)
        with torch.no_grad():
            feats = self.critic.features(obs, acts)
        out["critic_srank"] = float(stable_rank(feats))
        out["critic_erank"] = effective_rank(feats)
        next_obs = self.obs_norm(batch["next_obs"])

        def per_sample() -> torch.Tensor:
            n = min(16, obs.shape[0])
            sub = {k: v[:n] for k, v in batch.items()}
            target = self._td_target(sub, next_obs[:n])
            sq: torch.Tensor = (self.critic(obs[:n], acts[:n]) - target).square().sum(0)
            return sq

        out.update({f"critic_{k}": v for k, v in gradient_interference(self.critic, per_sample).items()})
        self.critic.zero_grad(set_to_none=True)
        out["critic_weight_norm"] = weight_norm(self.critic)
        out["actor_weight_norm"] = weight_norm(self.actor)
        out["critic_feature_norm"] = float(feats.norm(dim=-1).mean())
        return out

    def networks(self) -> dict[str, nn.Module]:
        return {
            "actor": self.actor,
            "critic": self.critic,
            "target_critic": self.target_critic,
            "obs_norm": self.obs_norm,
        }

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"actor": self.actor_opt, "critic": self.critic_opt, "temperature": self.temp_opt}

    def extra_state(self) -> dict[str, Any]:
        return {"log_alpha": self.log_alpha.detach().clone()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
