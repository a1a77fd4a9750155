"""Diagnostics on constructed inputs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from sparse_drl import (
    dormant_ratio,
    effective_rank,
    grad_norm,
    gradient_interference,
    pruned_zero_fraction,
    sparsify,
    stable_rank,
)


def test_dormant_ratio_counts_zeroed_units() -> None:
    torch.manual_seed(0)
    acts = torch.relu(torch.randn(512, 64)) + 0.5
    acts[:, :7] = 0.0
    assert dormant_ratio(acts, 0.1) == pytest.approx(7 / 64)
    other = torch.ones(512, 32)
    assert dormant_ratio([acts, other], 0.1) == pytest.approx(7 / 96)
    assert dormant_ratio(torch.ones(8, 10), 0.1) == 0.0


def test_stable_rank_constructed() -> None:
    torch.manual_seed(0)
    u, v = torch.randn(128, 1), torch.randn(1, 40)
    assert stable_rank(u @ v) == 1
    d = 50
    q, _ = torch.linalg.qr(torch.randn(200, d))
    assert stable_rank(q * 3.0) == math.ceil(0.99 * d)
    assert effective_rank(q) == pytest.approx(d, rel=1e-6)
    assert effective_rank(u @ v) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="matrix"):
        stable_rank(torch.randn(3, 4, 5))


def test_gradient_interference_identical_and_opposite_samples() -> None:
    torch.manual_seed(0)
    net = nn.Linear(4, 1)
    x = torch.randn(1, 4).repeat(4, 1)
    same = gradient_interference(net, lambda: net(x).squeeze(1))
    assert same["grad_cos_mean"] == pytest.approx(1.0, abs=1e-9)
    signs = torch.tensor([1.0, -1.0, 1.0, -1.0])
    mixed = gradient_interference(net, lambda: signs * net(x).squeeze(1))
    assert mixed["grad_cos_neg_frac"] == pytest.approx(8 / 12)


def test_masked_grad_norm_and_zero_fraction() -> None:
    torch.manual_seed(0)
    net = sparsify(
        nn.Sequential(nn.Linear(8, 32), nn.Linear(32, 32), nn.Linear(32, 2)),
        0.5,
        method="uniform",
        dense_layers=[],
    )
    net(torch.randn(5, 8)).sum().backward()
    expected = math.sqrt(
        sum(
            float(
                ((p.grad * getattr(m, "weight_mask", torch.ones_like(p))) if n == "weight" else p.grad)
                .square()
                .sum()
            )
            for m in net
            for n, p in m.named_parameters()
        )
    )
    assert grad_norm(net) == pytest.approx(expected, rel=1e-6)
    assert pruned_zero_fraction(net) == 1.0
    with torch.no_grad():
        net[1].weight.add_(1.0)  # revive every pruned weight of one layer behind the masks' back
    assert pruned_zero_fraction(net) < 1.0
