"""A downstream script using sparse-drl's quickstart, type-checked against the installed package."""

from __future__ import annotations

import torch
from torch import nn

import sparse_drl
from sparse_drl.agents import SAC, SACConfig


def network() -> nn.Sequential:
    """The quickstart's MLP."""
    return nn.Sequential(nn.Linear(17, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 6))


def train_sparse(steps: int) -> float:
    """Sparsify, train with AdamW, and return the fraction of pruned entries that read 0."""
    net: nn.Module = sparse_drl.sparsify(network(), 0.9, method="erk", seed=0)
    report: str = sparse_drl.density_report(net).table()
    print(report)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=1e-2)
    for _ in range(steps):
        loss = net(torch.randn(256, 17)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.save(net.state_dict(), "net.pt")
    fresh: nn.Module = sparse_drl.load_sparse_state_dict(network(), torch.load("net.pt", weights_only=True))
    print(fresh)
    return float(sparse_drl.pruned_zero_fraction(net))


def train_agent() -> float:
    """A short sparse SAC on Pendulum; the last evaluation return."""
    config = SACConfig(env_id="Pendulum-v1", total_steps=300, learning_starts=100, actor_sparsity=0.8)
    records = SAC(config).train()
    return float(records[-1]["eval_return"])
