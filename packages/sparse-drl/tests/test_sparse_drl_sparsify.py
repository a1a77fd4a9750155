"""Allocation, masks, optimizers, save/load and errors of ``sparse_drl.sparsify``."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
from torch import nn

import sparse_drl
from sparse_drl import (
    SparseLinear,
    density_report,
    erk_densities,
    layer_densities,
    load_sparse_state_dict,
    sparsify,
)
from sparse_drl.networks import SimBaEncoder


class Critic(nn.Module):
    """The default SimBa humanoid critic: input 88, width 512, 2 blocks, scalar head."""

    def __init__(self, in_dim: int = 88, width: int = 512, depth: int = 2) -> None:
        super().__init__()
        self.encoder = SimBaEncoder(in_dim, width, depth)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def small_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))


BLOCKS = [f"encoder.blocks.{b}.fc{i}.weight" for b in (0, 1) for i in (1, 2)]

# (target S, budget) -> (input, blocks, head) sparsities, from the facts file's ERK table.
ERK_TABLE = {
    (0.8, "all"): (0.0, 0.8103, 0.0),
    (0.9, "all"): (0.4894, 0.9064, 0.0),
    (0.8, "kernels"): (0.0, 0.8087, 0.0),
    (0.9, "kernels"): (0.4798, 0.9046, 0.0),
}


def test_default_humanoid_critic_has_upstream_parameter_count() -> None:
    assert sum(p.numel() for p in Critic().parameters()) == 4_248_577


@pytest.mark.parametrize(("target", "budget"), sorted(ERK_TABLE))
def test_erk_matches_facts_table(target: float, budget: str) -> None:
    dens = layer_densities(Critic(), target, budget=budget)
    inp, blocks, head = ERK_TABLE[(target, budget)]
    assert 1 - dens["encoder.input.weight"] == pytest.approx(inp, abs=1e-4)
    for name in BLOCKS:
        assert 1 - dens[name] == pytest.approx(blocks, abs=1e-4)
    assert 1 - dens["head.weight"] == pytest.approx(head, abs=1e-4)
    assert all(0.0 <= d <= 1.0 for d in dens.values())


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9])
def test_erk_kept_count_sums_to_target(target: float) -> None:
    net = sparsify(Critic(width=128), target, seed=1, budget="kernels")
    report = density_report(net)
    kernels = sum(r.total for r in report.layers)
    kept = sum(r.kept for r in report.layers)
    assert abs(kept - math.floor((1 - target) * kernels)) <= len(report.layers)
    net = sparsify(Critic(width=128), target, seed=1)  # upstream: every parameter counts
    report = density_report(net)
    assert abs(report.effective_params - (1 - target) * report.dense_params) <= len(report.layers) + 1


def test_uniform_exact_per_layer_and_first_last_dense() -> None:
    net = sparsify(small_net(), 0.75, method="uniform", seed=3)
    report = density_report(net)
    assert report["0.weight"] == 1.0 and report["4.weight"] == 1.0
    assert report["2.weight"] == pytest.approx(0.25, abs=0.5 / (64 * 64))
    zeros = int((net[2].weight == 0).sum())
    assert zeros == round(0.75 * 64 * 64)


def test_explicit_dense_layers_untouched() -> None:
    net = small_net()
    before = net[0].weight.detach().clone()
    sparsify(net, 0.8, dense_layers=["0"], seed=0)
    assert torch.equal(net[0].weight, before)
    assert not hasattr(net[0], "weight_mask")
    assert density_report(net)["0.weight"] == 1.0
    assert density_report(net)["2.weight"] < 1.0


def test_masks_deterministic_per_seed() -> None:
    a = sparsify(small_net(0), 0.7, seed=5)
    b = sparsify(small_net(1), 0.7, seed=5)
    c = sparsify(small_net(0), 0.7, seed=6)
    assert torch.equal(a[2].weight_mask, b[2].weight_mask)
    assert not torch.equal(a[2].weight_mask, c[2].weight_mask)


def _kron(params: list[nn.Parameter]) -> torch.optim.Optimizer:
    pytest.importorskip("kron_torch")
    return sparse_drl.make_optimizer("kron", params, lr=3e-3, weight_decay=1e-2)


OPTIMIZERS = {
    "adam": lambda ps: torch.optim.Adam(ps, lr=1e-2),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=1e-2),
    "kron": _kron,
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_pruned_entries_stay_zero_after_100_steps(name: str) -> None:
    net = sparsify(small_net(), 0.8, seed=0, budget="kernels")
    target = copy.deepcopy(net)
    masks = {k: v.clone() for k, v in net.state_dict().items() if k.endswith("_mask")}
    opt = OPTIMIZERS[name](list(net.parameters()))
    x, y = torch.randn(64, 12), torch.randn(64, 3)
    first = (net(x) - y).square().mean().item()
    for _ in range(100):
        loss = (net(x) - y).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pt, p in zip(target.parameters(), net.parameters(), strict=True):
                pt.lerp_(p, 0.005)
    assert loss.item() < 0.9 * first, (first, loss.item())
    sd, tsd = net.state_dict(), target.state_dict()
    for key, mask in masks.items():
        assert torch.equal(sd[key], mask), "masks must not change"
        weight = key[: -len("_mask")]
        assert (sd[weight][mask == 0] == 0.0).all()
        assert (tsd[weight][mask == 0] == 0.0).all()
        assert (sd[weight][mask == 1] != 0.0).float().mean() > 0.99
    assert sparse_drl.pruned_zero_fraction(net) == 1.0


def test_state_dict_round_trip_and_to_device() -> None:
    net = sparsify(small_net(), 0.6, seed=2)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    fresh = load_sparse_state_dict(small_net(9), state)
    for key, value in net.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)
    moved = fresh.to(torch.float64)
    assert moved[2].weight_mask.dtype == torch.float64
    opt = torch.optim.SGD(moved.parameters(), lr=0.1, momentum=0.9)
    moved(torch.randn(4, 12, dtype=torch.float64)).sum().backward()
    opt.step()
    assert sparse_drl.pruned_zero_fraction(moved) == 1.0


def test_sparse_linear() -> None:
    layer = SparseLinear(32, 16, sparsity=0.75, seed=1)
    assert int((layer.weight == 0).sum()) == round(0.75 * 32 * 16)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        layer(torch.randn(8, 32)).square().sum().backward()
        opt.step()
    assert (layer.weight[layer.weight_mask == 0] == 0).all()
    dense = nn.Linear(32, 16)
    converted = SparseLinear.from_dense(dense, 0.5)
    kept = converted.weight_mask == 1
    assert torch.equal(converted.weight[kept], dense.weight[kept])
    assert density_report(converted)["weight"] == pytest.approx(0.5)


def test_density_report_counts() -> None:
    net = sparsify(small_net(), 0.5, method="uniform", dense_layers=[], seed=0)
    report = density_report(net)
    assert set(report) == {"0.weight", "2.weight", "4.weight"}
    assert report.dense_params == sum(p.numel() for p in net.parameters())
    nonzero = sum(int((p != 0).sum()) for p in net.parameters())
    assert report.effective_params >= nonzero
    assert "total" in report.table()


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "0.5", None, True])
def test_bad_sparsity_errors(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="sparsity"):
        sparsify(small_net(), bad)  # type: ignore[arg-type]


def test_unsupported_layers_error() -> None:
    with pytest.raises(TypeError, match=r"no prunable layer.*LSTM"):
        sparsify(nn.LSTM(4, 8), 0.5)
    net = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 2))
    with pytest.raises(TypeError, match="Embedding"):
        sparsify(net, 0.5, dense_layers=["0"])
    with pytest.raises(ValueError, match="method"):
        sparsify(small_net(), 0.5, method="magnitude")
    with pytest.raises(KeyError, match="nope"):
        sparsify(small_net(), 0.5, dense_layers=["nope"])
    net = sparsify(small_net(), 0.5)
    with pytest.raises(ValueError, match="already sparsified"):
        sparsify(net, 0.5)


def test_conv_layers_pruned() -> None:
    net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.Flatten(), nn.LazyLinear(4))
    net(torch.randn(1, 3, 8, 8))
    sparsify(net, 0.7, seed=0)
    report = density_report(net)
    assert report["2.weight"] < 0.5
    assert abs(report.total_density - 0.3) < 0.01


def upstream_erk(
    shapes: dict[str, tuple[int, ...]], sparsity: float, floor: bool = False
) -> dict[str, float]:
    """JaxPruner's ``get_sparsities_erdos_renyi`` (erk_power_scale 1, no custom map), transcribed from its
    published description: every entry enters the solve; the entries with the largest score are made
    dense while ``eps * max_score > 1``; density ``eps * score`` otherwise. JaxPruner counts each entry's
    zeros as ``floor(sparsity * n)`` (``floor=True``); ``floor=False`` solves with ``sparsity * n``."""
    dense: set[str] = set()
    while True:
        rhs, divisor, raw = 0.0, 0.0, {}
        for name, shape in shapes.items():
            n = math.prod(shape)
            zeros = math.floor(sparsity * n) if floor else sparsity * n
            if name in dense:
                rhs -= zeros
            else:
                rhs += n - zeros
                raw[name] = sum(shape) / n
                divisor += raw[name] * n
        eps = rhs / divisor
        top = max(raw.values())
        if top * eps > 1:
            dense.update(k for k, v in raw.items() if v == top)
        else:
            break
    return {k: 1.0 if k in dense else eps * raw[k] for k in shapes}


def ln_net() -> nn.Module:
    return nn.Sequential(
        nn.Linear(3, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)
    )


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("make", [ln_net, small_net, lambda: Critic(in_dim=5, width=16, depth=1)])
def test_erk_all_equals_upstream_on_small_nets(target: float, make: object) -> None:
    net = make()  # type: ignore[operator]
    shapes = {n: tuple(p.shape) for n, p in net.named_parameters()}
    ref = upstream_erk(shapes, target)
    ours = layer_densities(net, target)
    assert set(ours) == set(shapes)
    for name in shapes:
        assert ours[name] == pytest.approx(ref[name], abs=1e-12), name
    sparsify(net, target, seed=0)
    report = density_report(net)
    assert abs(report.effective_params - (1 - target) * report.dense_params) <= len(shapes)
    for name, d in ours.items():
        row = next((r for r in report.layers if r.name == name), None)
        if d < 1.0:  # pruned (1-D parameters too, as upstream at high sparsity), exact counts
            assert row is not None and row.kept == round(d * row.total)


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("make", [ln_net, small_net, lambda: Critic(in_dim=5, width=16, depth=1)])
def test_erk_floor_zeros_equals_jaxpruner_as_written(target: float, make: object) -> None:
    net = make()  # type: ignore[operator]
    shapes = {n: tuple(p.shape) for n, p in net.named_parameters()}
    ref = upstream_erk(shapes, target, floor=True)
    ours = erk_densities(shapes, target, floor_zeros=True)
    assert ours == pytest.approx(ref, abs=1e-12)


def test_erk_floor_zeros_by_hand() -> None:
    # a: 5 entries, score 1; b: 4x5, score 9/20. S = 0.5: zeros floor(2.5) = 2 and 10, so 3 + 10 kept
    # entries; eps = 13 / (5 + 9) -> a 13/14, b 13/14 * 9/20. Unrounded: eps = 12.5 / 14.
    shapes = {"a": (5,), "b": (4, 5)}
    assert erk_densities(shapes, 0.5, floor_zeros=True) == pytest.approx({"a": 13 / 14, "b": 13 / 14 * 0.45})
    assert erk_densities(shapes, 0.5) == pytest.approx({"a": 12.5 / 14, "b": 12.5 / 14 * 0.45})


def test_erk_all_prunes_one_dimensional_params_on_a_tiny_net() -> None:
    net = ln_net()
    dens = layer_densities(net, 0.9)
    assert dens["1.weight"] < 1.0 and dens["0.bias"] < 1.0  # LayerNorm and bias pruned through the cap
    sparsify(net, 0.9, seed=0)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=1e-2)
    for _ in range(20):
        opt.zero_grad()
        net(torch.randn(16, 3)).square().mean().backward()
        opt.step()
    assert sparse_drl.pruned_zero_fraction(net) == 1.0


def test_uniform_first_last_dense_per_critic() -> None:
    from sparse_drl.agents.sac import Critic as SACCritic

    critic = SACCritic(obs_dim=5, act_dim=2, arch="simba", width=16, depth=1, num_critics=3)
    dens = layer_densities(critic, 0.8, method="uniform")
    for i in range(3):
        assert dens[f"encoders.{i}.input.weight"] == 1.0
        assert dens[f"heads.{i}.weight"] == 1.0
        assert dens[f"encoders.{i}.blocks.0.fc1.weight"] == pytest.approx(0.2)
        assert dens[f"encoders.{i}.blocks.0.fc2.weight"] == pytest.approx(0.2)
