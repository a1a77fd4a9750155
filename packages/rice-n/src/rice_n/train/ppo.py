"""PPO (clipped surrogate), the algorithm of the paper's Fig. 2, on the shared policy."""

from __future__ import annotations

import torch

from rice_n.train.config import TrainConfig
from rice_n.train.learner import Samples, apply_gradients, evaluate_actions
from rice_n.train.policy import SharedPolicy


def ppo_update(
    policy: SharedPolicy,
    optimizer: torch.optim.Optimizer,
    samples: Samples,
    config: TrainConfig,
    entropy_coeff: float,
    generator: torch.Generator | None,
) -> dict[str, float]:
    """``config.epochs`` passes of ``config.minibatches`` minibatches; returns mean losses."""
    n = len(samples)
    size = max(1, n // config.minibatches)
    stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0, "grad_norm": 0.0}
    steps = 0
    for _ in range(config.epochs):
        perm = torch.randperm(n, generator=generator).to(samples.adv.device)
        for start in range(0, n - size + 1, size):
            mb = samples.take(perm[start : start + size])
            logp, ent, values = evaluate_actions(policy, mb)
            log_ratio = logp - mb.logp
            ratio = log_ratio.exp()
            surrogate = torch.min(
                ratio * mb.adv, ratio.clamp(1 - config.clip_param, 1 + config.clip_param) * mb.adv
            )
            policy_loss = -surrogate.mean()
            value_loss = (values - mb.targets).pow(2).mean()
            entropy = ent.mean()
            loss = policy_loss + config.vf_coeff * value_loss - entropy_coeff * entropy
            stats["grad_norm"] += apply_gradients(policy, optimizer, loss, config.grad_clip)
            with torch.no_grad():
                stats["approx_kl"] += float(((ratio - 1) - log_ratio).mean())
            stats["policy_loss"] += policy_loss.item()
            stats["value_loss"] += value_loss.item()
            stats["entropy"] += entropy.item()
            steps += 1
    return {k: v / max(steps, 1) for k, v in stats.items()}
