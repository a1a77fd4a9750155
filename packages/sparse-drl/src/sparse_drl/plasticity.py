"""A plasticity probe: fit targets that change every phase (random labels redrawn), dense vs sparse.

The classic loss-of-plasticity test bed (Lyle et al. 2023; the paper's plasticity argument): a network
that keeps training on a stream of new targets gradually loses the ability to fit new ones (dormant
units, collapsing feature rank). Ma et al. 2025 argue that static sparsity keeps large networks plastic;
here the same network trained dense and at a given sparsity is measured phase by phase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from sparse_drl.diagnostics import dormant_ratio, stable_rank
from sparse_drl.sparsify import density_report, sparsify

__all__ = ["ProbeConfig", "make_mlp", "run_probe"]


@dataclass(frozen=True)
class ProbeConfig:
    """Task and network of the probe (defaults: the demo's setting)."""

    width: int = 256
    depth: int = 3  # hidden ReLU layers
    inputs: int = 1024  # fixed random Gaussian inputs
    in_dim: int = 32
    classes: int = 10
    phases: int = 8  # labels redrawn at the start of each phase
    steps: int = 300  # Adam steps per phase
    batch: int = 128
    lr: float = 1e-3
    method: str = "erk"


def make_mlp(in_dim: int, width: int, depth: int, out_dim: int) -> nn.Sequential:
    """A plain ReLU MLP with PyTorch's default initialisation."""
    layers: list[nn.Module] = []
    last = in_dim
    for _ in range(depth):
        layers += [nn.Linear(last, width), nn.ReLU()]
        last = width
    return nn.Sequential(*layers, nn.Linear(last, out_dim))


def run_probe(
    cfg: ProbeConfig,
    sparsity: float,
    seed: int,
    on_phase: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, object]:
    """Train one network through ``cfg.phases`` label phases; per phase: accuracy on the whole set at
    the phase's end, mean training accuracy over the phase (speed of fitting), dormant ratio (tau 0.1)
    of the hidden layers and srank of the last hidden layer. Data, labels and batches depend only on
    ``seed``, so dense and sparse see the same stream."""
    data_gen = torch.Generator().manual_seed(seed)
    x = torch.randn(cfg.inputs, cfg.in_dim, generator=data_gen)
    torch.manual_seed(seed)
    net = make_mlp(cfg.in_dim, cfg.width, cfg.depth, cfg.classes)
    if sparsity > 0:
        sparsify(net, sparsity, method=cfg.method, seed=seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    hidden = [m for m in net if isinstance(m, nn.ReLU)]
    phases: list[dict[str, float]] = []
    for phase in range(cfg.phases):
        y = torch.randint(0, cfg.classes, (cfg.inputs,), generator=data_gen)
        correct = 0
        for _ in range(cfg.steps):
            idx = torch.randint(0, cfg.inputs, (cfg.batch,), generator=data_gen)
            logits = net(x[idx])
            loss = nn.functional.cross_entropy(logits, y[idx])
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            correct += int((logits.argmax(1) == y[idx]).sum())
        acts: list[torch.Tensor] = []
        handles = [m.register_forward_hook(lambda _m, _i, o, acts=acts: acts.append(o)) for m in hidden]
        with torch.no_grad():
            acc = float((net(x).argmax(1) == y).float().mean())
        for h in handles:
            h.remove()
        rec = {
            "phase": phase + 1,
            "accuracy": acc,
            "train_accuracy": correct / (cfg.steps * cfg.batch),
            "dormant": dormant_ratio(acts, 0.1),
            "srank": float(stable_rank(acts[-1])),
        }
        phases.append(rec)
        if on_phase is not None:
            on_phase(rec)
    report = density_report(net)
    return {
        "config": asdict(cfg),
        "sparsity": sparsity,
        "seed": seed,
        "params": report.dense_params,
        "effective_params": report.effective_params,
        "phases": phases,
    }
