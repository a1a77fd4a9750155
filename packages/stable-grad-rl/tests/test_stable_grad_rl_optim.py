"""Optimizers: convergence on a convex quadratic and a small regression, Kron's settings, state dicts."""

from __future__ import annotations

import io

import pytest
import torch

from stable_grad_rl import make_mlp, make_optimizer
from stable_grad_rl.optim import OPTIMIZERS


def quadratic_problem() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    m = torch.randn(10, 10, generator=gen)
    a = m @ m.T / 10 + 0.5 * torch.eye(10)  # symmetric positive definite
    b = torch.randn(10, 6, generator=gen)
    return a, b


def quad_loss(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Convex: 0.5 tr(X^T A X) - tr(B^T X), minimum at A^-1 B."""
    return 0.5 * (x * (a @ x)).sum() - (b * x).sum()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_decreases_convex_quadratic(name: str) -> None:
    torch.manual_seed(0)
    a, b = quadratic_problem()
    x = torch.nn.Parameter(torch.zeros(10, 6))
    opt = make_optimizer(name, [x], 0.05)
    best = quad_loss(torch.linalg.solve(a, b), a, b)
    start = float(quad_loss(x, a, b).detach() - best)
    for _ in range(300):
        opt.zero_grad()
        quad_loss(x, a, b).backward()
        opt.step()
    gap = float(quad_loss(x, a, b).detach() - best)
    assert gap < 0.05 * start, (name, start, gap)


@pytest.mark.parametrize("name", ["adam", "kron"])
def test_decreases_small_regression(name: str) -> None:
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = torch.sin(x @ torch.tensor([1.0, -2.0, 0.5, 1.5]))[:, None]
    net = make_mlp(4, 1, kind="multiskip", depth=2, width=32, layernorm=True, head_std=1.0)
    opt = make_optimizer(name, net.parameters(), 3e-3)
    loss0 = float(torch.nn.functional.mse_loss(net(x), y).detach())
    for _ in range(150):
        loss = torch.nn.functional.mse_loss(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.3 * loss0


def test_kron_settings() -> None:
    net = make_mlp(4, 2, kind="plain", depth=2, width=8)
    opt = make_optimizer("kron", net.parameters(), 3e-4)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert opt.param_groups[0]["b1"] == 0.9
    assert make_optimizer("kron", net.parameters(), 3e-4, kron_lr_divisor=1.0).param_groups[0]["lr"] == 3e-4
    assert isinstance(make_optimizer("adam", net.parameters(), 3e-4), torch.optim.Adam)


def test_kron_update_rms_is_clipped() -> None:
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(16, 8))
    opt = make_optimizer("kron", [w], 3e-3)
    lr = opt.param_groups[0]["lr"]
    before = w.detach().clone()
    w.grad = 1e6 * torch.randn(16, 8)
    opt.step()
    rms = float((w.detach() - before).square().mean().sqrt())
    assert 0 < rms <= 1.1 * lr * (1 + 1e-5)


def test_kron_weight_decay_only_on_matrices() -> None:
    w = torch.nn.Parameter(torch.ones(4, 3))
    bias = torch.nn.Parameter(torch.ones(3))
    opt = make_optimizer("kron", [w, bias], 0.3, weight_decay=0.5)
    w.grad, bias.grad = torch.zeros_like(w), torch.zeros_like(bias)
    opt.step()
    assert torch.allclose(w.detach(), torch.full((4, 3), 1 - 0.1 * 0.5))
    assert torch.equal(bias.detach(), torch.ones(3))


def test_kron_runs_eagerly_without_compiling() -> None:
    from torch._dynamo.utils import counters

    counters.clear()
    net = make_mlp(4, 2, kind="plain", depth=2, width=8)
    opt = make_optimizer("kron", net.parameters(), 1e-3)
    net(torch.randn(3, 4)).sum().backward()
    opt.step()
    assert sum(counters["frames"].values()) == 0
    assert not counters["inductor"]


def _train(opt: torch.optim.Optimizer, net: torch.nn.Module, steps: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(16, 4, generator=gen)
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()


def test_kron_state_dict_round_trip_resumes_exactly() -> None:
    torch.manual_seed(0)
    a = make_mlp(4, 2, kind="plain", depth=2, width=8)
    opt_a = make_optimizer("kron", a.parameters(), 1e-2)
    _train(opt_a, a, 5, 1)
    buf = io.BytesIO()
    torch.save({"net": a.state_dict(), "opt": opt_a.state_dict(), "rng": torch.get_rng_state()}, buf)
    _train(opt_a, a, 5, 2)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    b = make_mlp(4, 2, kind="plain", depth=2, width=8)
    b.load_state_dict(state["net"])
    opt_b = make_optimizer("kron", b.parameters(), 1e-2)
    opt_b.load_state_dict(state["opt"])
    torch.set_rng_state(state["rng"])
    _train(opt_b, b, 5, 2)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize(
    ("name", "lr", "message"), [("sgd", 1e-3, "sgd"), ("adam", 0.0, "lr"), ("adam", -1.0, "lr")]
)
def test_bad_optimizer_args(name: str, lr: float, message: str) -> None:
    net = make_mlp(4, 2, kind="plain", depth=1, width=4)
    with pytest.raises(ValueError, match=message):
        make_optimizer(name, net.parameters(), lr)
    with pytest.raises(ValueError, match="empty"):
        make_optimizer("adam", [], 1e-3)
