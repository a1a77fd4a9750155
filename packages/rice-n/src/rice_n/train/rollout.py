"""Collect one batch of lockstep episodes with the shared policy (everything batched over envs x regions)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rice_n.train.policy import SharedPolicy, StageGroup, log_softmax_levels, sample_actions


@dataclass
class Rollout:
    """One batch of B episodes of T env steps and N regions (time-major)."""

    shared: torch.Tensor  # (T, B, S) float32
    private: torch.Tensor  # (T, B, N, P) float32
    mask: torch.Tensor  # (T, B, N, M) bool
    actions: torch.Tensor  # (T, B, N, D) uint8
    logp: torch.Tensor  # (T, B, N)
    values: torch.Tensor  # (T, B, N)
    rewards: torch.Tensor  # (T, B, N)
    stages: torch.Tensor  # (T,) long: stage of each env step (0 = activity)
    metrics: dict[str, np.ndarray]  # env.episode_metrics(), each (B,)
    masked_taken: int  # actions sampled at a masked level (must be 0)
    seconds: float

    @property
    def env_steps(self) -> int:
        """Env steps in the batch (T x B, as RLlib counts them)."""
        return int(self.rewards.shape[0] * self.rewards.shape[1])

    @property
    def agent_steps(self) -> int:
        """Samples for the learner (T x B x N)."""
        return int(self.rewards.numel())


def to_tensor(x: Any, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A numpy array or tensor as a tensor on ``device`` (no copy when already there)."""
    t = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
    return t.to(device=device, dtype=dtype) if dtype is not None else t.to(device)


@torch.no_grad()
def collect(
    env: Any,
    policy: SharedPolicy,
    generator: torch.Generator | None,
    device: torch.device,
    dims: torch.Tensor,
    greedy: bool = False,
    groups: tuple[StageGroup, ...] | None = None,
) -> Rollout:
    """Run ``env``'s B episodes to the end with ``policy`` (sampling with ``generator``).

    ``dims`` ``(n_stages, D)`` weighs each action dim's log-probability per stage (1 = counts). With
    ``groups`` (see :func:`rice_n.train.policy.stage_groups`) only the stage's own dims are computed and
    sampled; the others are 0 (the env does not read them at that stage).
    """
    start = time.perf_counter()
    split = policy.split
    obs, mask = env.reset()
    shared_l, private_l, mask_l, act_l, logp_l, val_l, rew_l, stage_l = ([] for _ in range(8))
    masked_taken = 0
    numpy_env = env.backend == "numpy"
    done = False
    while not done:
        stage = env.next_stage
        o = to_tensor(obs, device, torch.float32)
        m = to_tensor(mask, device).bool()
        shared, private = split.split(o)
        if groups is None:
            logits, values = policy.forward_split(shared, private)
            padded = policy.padded(logits, m)
            actions = sample_actions(padded, generator, greedy)
            logp_all = log_softmax_levels(padded)
            logp = logp_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # (B, N, D)
            logp = logp * dims[stage]
        else:
            g = groups[stage]
            h = policy.hidden_split(shared, private)
            values = policy.value(h).squeeze(-1)
            padded = policy.group_logits(h, g, m)
            sampled = sample_actions(padded, generator, greedy)
            logp = log_softmax_levels(padded).gather(-1, sampled.unsqueeze(-1)).squeeze(-1)
            actions = sampled.new_zeros((*sampled.shape[:-1], policy.nvec.size))
            actions[..., g.d0 : g.d1] = sampled
        masked_taken += int((logp < -1e6).sum())
        shared_l.append(shared)
        private_l.append(private)
        mask_l.append(m)
        act_l.append(actions.to(torch.uint8))
        logp_l.append(logp.sum(-1))
        val_l.append(values)
        stage_l.append(stage)
        obs, mask, reward, done, _ = env.step(actions.cpu().numpy() if numpy_env else actions)
        rew_l.append(to_tensor(reward, device, torch.float32))
    return Rollout(
        shared=torch.stack(shared_l),
        private=torch.stack(private_l),
        mask=torch.stack(mask_l),
        actions=torch.stack(act_l),
        logp=torch.stack(logp_l),
        values=torch.stack(val_l),
        rewards=torch.stack(rew_l),
        stages=torch.tensor(stage_l, dtype=torch.long, device=device),
        metrics=env.episode_metrics(),
        masked_taken=masked_taken,
        seconds=time.perf_counter() - start,
    )


def gae(
    rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and value targets ``(T, ...)``; the episodes end after the last step (no bootstrap)."""
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    next_value = torch.zeros_like(values[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[t] + gamma * next_value - values[t]
        last = delta + gamma * lam * last
        adv[t] = last
        next_value = values[t]
    return adv, adv + values
