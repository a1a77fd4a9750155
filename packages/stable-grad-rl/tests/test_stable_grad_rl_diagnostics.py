"""Diagnostics on hand-built networks and matrices with known answers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from stable_grad_rl import (
    GradFlowRecorder,
    collect_activations,
    dead_fraction,
    dormant_fraction,
    effective_rank,
    grad_norms,
    gradient_spread,
    make_mlp,
    representation_metrics,
    srank,
    weight_norms,
)


def test_grad_norms_equal_weight_grad_norms() -> None:
    torch.manual_seed(0)
    net = make_mlp(5, 2, kind="residual", depth=2, width=8, layernorm=True)
    net(torch.randn(7, 5)).square().sum().backward()
    norms = grad_norms(net)
    weights = [(n, p) for n, p in net.named_parameters() if p.dim() >= 2]
    assert list(norms) == [n for n, _ in weights]  # biases and LayerNorm excluded, input first
    for name, p in weights:
        assert norms[name] == pytest.approx(float(p.grad.norm()))
    assert weight_norms(net)[weights[0][0]] == pytest.approx(float(weights[0][1].detach().norm()))


def test_gradient_spread_known_values() -> None:
    spread = gradient_spread([1.0, 0.1, 0.01])
    assert spread["first_last_ratio"] == pytest.approx(100.0)
    assert spread["first_last_hidden_ratio"] == pytest.approx(10.0)
    assert spread["max_min_ratio"] == pytest.approx(100.0)
    assert spread["log10_std"] == pytest.approx(math.sqrt(2 / 3))
    assert gradient_spread({"a": 2.0, "b": 2.0})["log10_std"] == 0.0
    with pytest.raises(ValueError):
        gradient_spread([])


def hand_built(dead_units: int, width: int = 10) -> nn.Module:
    """Linear(2, width) with identity-like weights; ``dead_units`` units get bias -100 (never active)."""
    lin = nn.Linear(2, width)
    with torch.no_grad():
        lin.weight.fill_(1.0)
        lin.bias.fill_(0.0)
        lin.bias[:dead_units] = -100.0
    return nn.Sequential(lin, nn.ReLU(), nn.Linear(width, 1))


@pytest.mark.parametrize("k", [0, 3, 10])
def test_dead_fraction_on_hand_built_network(k: int) -> None:
    net = hand_built(k)
    x = torch.rand(32, 2) + 0.1  # positive inputs: the live units are active
    acts = collect_activations(net, x)
    assert list(acts) == ["1"]
    assert dead_fraction(acts["1"]) == pytest.approx(k / 10)
    metrics = representation_metrics(net, x)
    assert metrics["dead_fraction"] == pytest.approx(k / 10)
    assert metrics["dormant_fraction"] == pytest.approx(k / 10)
    assert metrics["srank"] == (1 if k < 10 else 0)  # all live units are the same function of x


def test_dormant_fraction_threshold() -> None:
    acts = torch.ones(4, 10)
    acts[:, 0] = 0.05  # score 0.05 / mean(0.905) < 0.1
    acts[:, 1] = 0.5
    assert dormant_fraction(acts, tau=0.1) == pytest.approx(0.1)
    assert dormant_fraction(acts, tau=0.6) == pytest.approx(0.2)


def test_ranks_known_values() -> None:
    eye = torch.eye(100)
    assert srank(eye) == 99  # equal singular values: ceil(0.99 d)
    assert effective_rank(eye) == pytest.approx(100.0)
    rank1 = torch.randn(50, 1) @ torch.randn(1, 20)
    assert srank(rank1) == 1
    assert effective_rank(rank1) == pytest.approx(1.0, abs=1e-4)
    two = torch.diag(torch.tensor([3.0, 1.0, 0.0]))
    assert srank(two) == 2
    assert effective_rank(two) == pytest.approx(math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))
    with pytest.raises(ValueError, match="matrix"):
        srank(torch.zeros(3, 3, 3))


def test_relu_layers_are_all_observed() -> None:
    net = make_mlp(3, 2, kind="plain", depth=5, width=6)
    assert len(collect_activations(net, torch.randn(4, 3))) == 5  # 4 trunk ReLUs + the head's


def test_grad_flow_recorder() -> None:
    rec = GradFlowRecorder()
    rec.record(1, {"a": 1.0, "b": 2.0})
    rec.record(2, {"a": 3.0, "b": 4.0})
    assert rec.matrix().tolist() == [[1.0, 3.0], [2.0, 4.0]]
    with pytest.raises(ValueError, match="lack"):
        rec.record(3, {"a": 1.0})
