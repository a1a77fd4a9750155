"""Networks: shapes, parameter counts, multi-skip wiring, CNN encoders, config errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stable_grad_rl import NetworkConfig, build_network, count_params, make_mlp, mlp_param_count, paper_depth
from stable_grad_rl.networks import AtariCNN, ImpalaCNN

KINDS = ("plain", "residual", "multiskip", "dense")


def hand_count(kind: str, i: int, o: int, depth: int, w: int, ln: bool) -> int:
    """Parameter counts written out per architecture (independent of mlp_param_count)."""
    n = 2 * w if ln else 0
    if kind == "plain":
        return (i * w + w + n) + (depth - 1) * (w * w + w + n) + (w * o + o)
    if kind in ("residual", "multiskip"):
        return (i * w + w + n) + depth * 2 * (w * w + w + n) + (w * w + w + n) + (w * o + o)
    g = w // depth
    total = i * w + w + n
    for k in range(depth):
        total += (w + k * g) * g + g + (2 * g if ln else 0)
    return total + (w + depth * g) * w + w + n + w * o + o


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ln", [False, True])
def test_shapes_and_param_counts(kind: str, ln: bool) -> None:
    net = make_mlp(7, 3, kind=kind, depth=4, width=16, layernorm=ln)
    assert isinstance(net, nn.Module)
    x = torch.randn(5, 7)
    assert net(x).shape == (5, 3)
    assert net.features(x).shape == (5, 16)
    assert count_params(net) == hand_count(kind, 7, 3, 4, 16, ln)
    assert count_params(net) == mlp_param_count(7, 3, kind=kind, depth=4, width=16, layernorm=ln)
    assert any(isinstance(m, nn.LayerNorm) for m in net.modules()) == ln


def test_paper_sizes() -> None:
    assert [paper_depth("plain", s) for s in ("small", "medium", "large")] == [4, 8, 12]
    assert [paper_depth("multiskip", s) for s in ("small", "medium", "large")] == [1, 3, 5]
    # The paper's 2.39M (small/small) and 80.15M (large/large) trunks, Atari CNN output 3136, no LN.
    assert mlp_param_count(3136, 0, kind="plain", depth=4, width=512) == 2_394_112
    assert mlp_param_count(3136, 0, kind="multiskip", depth=5, width=2560) == 80_148_480


def test_multiskip_forward_matches_formula() -> None:
    torch.manual_seed(0)
    net = make_mlp(6, 2, kind="multiskip", depth=3, width=8, layernorm=True)
    x = torch.randn(4, 6)
    trunk = net.trunk
    g = trunk.proj(x)
    h = g
    for block in trunk.blocks:
        h = block.f(h) + h + g
    expected = net.head(torch.relu(trunk.out(h)))
    assert torch.allclose(net(x), expected, atol=1e-6)


def test_input_reaches_every_block() -> None:
    """With zeroed block weights, block k of the multi-skip net receives (k+1) g; plain residual gets g."""
    for kind, factor in (("multiskip", lambda k: k + 1), ("residual", lambda k: 1)):
        torch.manual_seed(0)
        net = make_mlp(5, 2, kind=kind, depth=4, width=8)
        for block in net.trunk.blocks:
            for m in block.f:
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
        seen = []
        hooks = [
            b.register_forward_pre_hook(lambda _m, a, seen=seen: seen.append(a[0])) for b in net.trunk.blocks
        ]
        x = torch.randn(3, 5)
        net(x)
        for h in hooks:
            h.remove()
        g = net.trunk.proj(x)
        for k, inp in enumerate(seen):
            assert torch.allclose(inp, factor(k) * g, atol=1e-6)
        net.zero_grad()
        net(x).sum().backward()
        assert net.trunk.proj[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("ln", [False, True])
def test_cnn_encoders(ln: bool) -> None:
    x = torch.randint(0, 256, (2, 4, 84, 84)).float()
    atari = AtariCNN((4, 84, 84), layernorm=ln)
    assert atari.output_dim == 64 * 7 * 7 and atari(x).shape == (2, 3136)
    convs = 4 * 32 * 64 + 32 + 32 * 64 * 16 + 64 + 64 * 64 * 9 + 64
    lns = 2 * (32 * 20 * 20 + 64 * 9 * 9 + 64 * 7 * 7) if ln else 0
    assert count_params(atari) == convs + lns
    impala = ImpalaCNN((4, 84, 84), layernorm=ln)
    assert impala.output_dim == 32 * 11 * 11 and impala(x).shape == (2, 32 * 11 * 11)
    net = build_network(
        NetworkConfig(kind="multiskip", depth=1, width=32, layernorm=ln, encoder="impala"), (4, 84, 84), 6
    )
    assert net(x).shape == (2, 6)


def test_build_network_flat() -> None:
    net = build_network(NetworkConfig(kind="dense", depth=2, width=12), (3, 2), 4)
    assert net(torch.zeros(5, 3, 2)).shape == (5, 4)


def test_deterministic_init() -> None:
    torch.manual_seed(3)
    a = make_mlp(4, 2, kind="residual", depth=2, width=8)
    torch.manual_seed(3)
    b = make_mlp(4, 2, kind="residual", depth=2, width=8)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "transformer", "depth": 2, "width": 8}, "transformer"),
        ({"kind": "plain", "depth": 0, "width": 8}, "depth"),
        ({"kind": "dense", "depth": 0, "width": 8}, "depth"),
        ({"kind": "residual", "depth": -1, "width": 8}, "depth"),
        ({"kind": "plain", "depth": 2, "width": 0}, "width"),
        ({"kind": "plain", "depth": 2, "width": 8.5}, "width"),
        ({"kind": "plain", "depth": 2, "width": 8, "layernorm": "yes"}, "layernorm"),
    ],
)
def test_bad_mlp_configs(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_mlp(4, 2, **kwargs)


def test_bad_network_configs() -> None:
    with pytest.raises(ValueError, match="vit"):
        NetworkConfig(encoder="vit").validate()
    with pytest.raises(ValueError, match="too small"):
        build_network(NetworkConfig(encoder="atari"), (4, 10, 10), 2)
    with pytest.raises(ValueError, match="image shape"):
        build_network(NetworkConfig(encoder="impala"), (8,), 2)
