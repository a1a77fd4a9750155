"""SimBa and BRO encoders."""

from __future__ import annotations

import pytest
import torch

from sparse_drl import BroEncoder, RunningNorm, SimBaEncoder, make_encoder
from sparse_drl.agents.sac import Actor


def test_simba_actor_matches_upstream_humanoid_count() -> None:
    # upstream humanoid actor: obs 67, |A| 21, SimBa h128 x 1 block -> 146,346 parameters
    assert sum(p.numel() for p in Actor(67, 21, "simba", 128, 1).parameters()) == 146_346


@pytest.mark.parametrize("cls", [SimBaEncoder, BroEncoder])
def test_encoders_shape_and_depth(cls: type) -> None:
    enc = cls(5, 32, 3)
    assert enc(torch.randn(7, 5)).shape == (7, 32)
    assert len(enc.blocks) == 3
    assert make_encoder("bro", 5, 8, 0)(torch.randn(2, 5)).shape == (2, 8)


def test_bad_sizes() -> None:
    with pytest.raises(ValueError, match="width"):
        SimBaEncoder(4, 0, 1)
    with pytest.raises(ValueError, match="arch"):
        make_encoder("mlp", 4, 8, 1)


def test_running_norm_matches_batch_statistics() -> None:
    torch.manual_seed(0)
    data = torch.randn(1000, 3) * torch.tensor([1.0, 5.0, 0.1]) + 2.0
    norm = RunningNorm(3)
    for chunk in data.split(77):
        norm.update(chunk)
    out = norm(data)
    assert torch.allclose(out.mean(0), torch.zeros(3), atol=1e-3)
    assert torch.allclose(out.std(0), torch.ones(3), atol=1e-2)
