"""PPO (clipped surrogate, GAE, value clipping, advantage normalisation), cleanrl-style.

The network maps observations to ``(logits, value)``. :class:`ActorCritic` builds that from any body
module as upstream does: an actor head at orthogonal gain 0.01 and a separate critic head at gain 1,
on one shared body (cleanrl's and the paper's Atari agent) or on two bodies (cleanrl's classic-control
agent, the default here). A plain module returning ``n_actions + 1`` outputs (logits, then value) is
accepted too. Any optimizer can be plugged in. Gradient clipping 0.5 as upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

from stable_grad_rl.agents.base import Agent
from stable_grad_rl.networks import layer_init


class ActorCritic(nn.Module):
    """Policy and value heads over any body: ``forward(obs) -> (logits, value)``.

    ``body`` maps observations to ``(batch, feature_dim)``; the actor head is
    ``Linear(feature_dim, n_actions)`` at orthogonal gain 0.01, the critic head ``Linear(., 1)`` at gain 1
    (cleanrl / upstream). With ``critic_body=None`` both heads share ``body``; otherwise the critic head
    sits on ``critic_body`` (output ``critic_feature_dim``, default ``feature_dim``).
    """

    def __init__(
        self,
        body: nn.Module,
        feature_dim: int,
        n_actions: int,
        critic_body: nn.Module | None = None,
        critic_feature_dim: int | None = None,
    ):
        super().__init__()
        self.body = body
        self.actor_head = layer_init(nn.Linear(feature_dim, n_actions), std=0.01)
        self.critic_body = critic_body
        self.critic_head = layer_init(nn.Linear(critic_feature_dim or feature_dim, 1), std=1.0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The policy's penultimate representation (the body's output)."""
        return cast(torch.Tensor, self.body(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy logits ``(batch, n_actions)`` and state values ``(batch,)``."""
        h = self.body(x)
        critic_in = h if self.critic_body is None else self.critic_body(x)
        return self.actor_head(h), self.critic_head(critic_in).squeeze(-1)


@dataclass
class PPOConfig:
    """PPO settings; defaults are cleanrl's classic-control PPO, :meth:`atari` cleanrl's Atari ones."""

    total_timesteps: int = 100_000
    num_envs: int = 4
    num_steps: int = 128
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    norm_adv: bool = True
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    reward_clip: bool = False
    shared_body: bool = False

    @classmethod
    def atari(cls, total_timesteps: int = 10_000_000) -> PPOConfig:
        """cleanrl Atari PPO: 8 envs x 128 steps, 4 minibatches, 4 epochs, clip 0.1, reward clipping,
        one body shared by the actor and critic heads."""
        return cls(
            total_timesteps, 8, 128, True, 0.99, 0.95, 4, 4, True, 0.1, True, 0.01, 0.5, 0.5, True, True
        )

    def validate(self) -> PPOConfig:
        """Raise ``ValueError`` naming the bad field; return self."""
        for name in ("total_timesteps", "num_envs", "num_steps", "num_minibatches", "update_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"PPO {name} must be >= 1, got {getattr(self, name)}")
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            raise ValueError(
                f"num_envs*num_steps={self.num_envs * self.num_steps} is not divisible by "
                f"num_minibatches={self.num_minibatches}"
            )
        return self


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    next_value: torch.Tensor,
    next_done: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Generalised advantage estimates over a ``(T, N)`` rollout (``dones[t]``: ``obs[t]`` starts an episode)."""
    steps = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in range(steps - 1, -1, -1):
        nonterminal = 1.0 - (next_done if t == steps - 1 else dones[t + 1])
        nxt = next_value if t == steps - 1 else values[t + 1]
        delta = rewards[t] + gamma * nxt * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv


class PPO(Agent):
    """PPO agent over a vector env; ``network(obs) -> (logits, value)`` (e.g. :class:`ActorCritic`),
    or a ``(batch, n_actions + 1)`` tensor of logits then value."""

    algo = "ppo"

    def __init__(
        self,
        envs: gym.vector.VectorEnv[Any, Any, Any],
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        config: PPOConfig | None = None,
        seed: int = 0,
    ):
        self.config = (config or PPOConfig()).validate()
        super().__init__(envs, network, optimizer, seed)
        cfg = self.config
        self._setup_on_policy(cfg.num_envs, cfg.num_steps, cfg.total_timesteps)
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]

    def _split(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.network(obs)
        if isinstance(out, (tuple, list)):
            logits, value = out
            if logits.shape[-1] != self.n_actions or value.reshape(-1).shape[0] != obs.shape[0]:
                raise ValueError(
                    f"PPO network must return logits (batch, {self.n_actions}) and values (batch,), got "
                    f"{tuple(logits.shape)} and {tuple(value.shape)}"
                )
            return logits, value.reshape(-1)
        if out.shape[-1] != self.n_actions + 1:
            raise ValueError(
                f"PPO network must output n_actions + 1 = {self.n_actions + 1} values, got {out.shape[-1]}"
            )
        return out[:, :-1], out[:, -1]

    def _iterate(self) -> dict[str, Any]:
        cfg = self.config
        if cfg.anneal_lr:
            frac = 1.0 - self.iteration / self.total_iterations
            for group, lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
                group["lr"] = frac * lr
        t_, n_ = cfg.num_steps, cfg.num_envs
        dev = self.device
        obs_buf = torch.zeros((t_, n_, *self.obs.shape[1:]), device=dev)
        act_buf = torch.zeros((t_, n_), dtype=torch.long, device=dev)
        logp_buf, rew_buf, done_buf, val_buf = (torch.zeros((t_, n_), device=dev) for _ in range(4))
        for t in range(t_):
            with torch.no_grad():
                logits, value = self._split(self.obs)
                dist = Categorical(logits=logits)
                action = dist.sample()  # type: ignore[no-untyped-call]
            obs_buf[t], done_buf[t], val_buf[t] = self.obs, self.next_done, value
            act_buf[t], logp_buf[t] = action, dist.log_prob(action)  # type: ignore[no-untyped-call]
            self.obs, reward, done = self._env_step(action.cpu().numpy())
            rew_buf[t] = torch.as_tensor(np.sign(reward) if cfg.reward_clip else reward, device=dev)
            self.next_done = torch.as_tensor(done, dtype=torch.float32, device=dev)
        with torch.no_grad():
            next_value = self._split(self.obs)[1]
        adv = gae(rew_buf, val_buf, done_buf, next_value, self.next_done, cfg.gamma, cfg.gae_lambda)
        ret = adv + val_buf
        b_obs = obs_buf.reshape(self.batch_size, *obs_buf.shape[2:])
        b_act, b_logp, b_adv = act_buf.reshape(-1), logp_buf.reshape(-1), adv.reshape(-1)
        b_ret, b_val = ret.reshape(-1), val_buf.reshape(-1)
        self._last_obs_batch = b_obs[:512]
        mb = self.batch_size // cfg.num_minibatches
        stats: dict[str, list[float]] = {"pg_loss": [], "v_loss": [], "entropy": [], "approx_kl": []}
        for _ in range(cfg.update_epochs):
            perm = torch.randperm(self.batch_size).to(dev)
            for start in range(0, self.batch_size, mb):
                idx = perm[start : start + mb]
                logits, value = self._split(b_obs[idx])
                dist = Categorical(logits=logits)
                logratio = dist.log_prob(b_act[idx]) - b_logp[idx]  # type: ignore[no-untyped-call]
                ratio = logratio.exp()
                a = b_adv[idx]
                if cfg.norm_adv:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                pg_loss = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
                if cfg.clip_vloss:
                    v_clipped = b_val[idx] + (value - b_val[idx]).clamp(-cfg.clip_coef, cfg.clip_coef)
                    v_loss = 0.5 * torch.max((value - b_ret[idx]) ** 2, (v_clipped - b_ret[idx]) ** 2).mean()
                else:
                    v_loss = 0.5 * ((value - b_ret[idx]) ** 2).mean()
                entropy = dist.entropy().mean()  # type: ignore[no-untyped-call]
                loss = pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
                self._backward_step(loss, cfg.max_grad_norm)
                with torch.no_grad():
                    stats["approx_kl"].append(float(((ratio - 1) - logratio).mean()))
                stats["pg_loss"].append(float(pg_loss.detach()))
                stats["v_loss"].append(float(v_loss.detach()))
                stats["entropy"].append(float(entropy.detach()))
        return {k: float(np.mean(v)) for k, v in stats.items()} | {"lr": self.optimizer.param_groups[0]["lr"]}

    def _diag_batch(self) -> torch.Tensor:
        return self._last_obs_batch

    def _spread_norms(self, norms: dict[str, float]) -> dict[str, float]:
        """The policy path (body and actor head): the critic's layers are left out of the spread."""
        return {k: v for k, v in norms.items() if not k.startswith(("critic_body.", "critic_head."))}
