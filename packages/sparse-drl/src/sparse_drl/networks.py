"""Scalable networks from the paper: SimBa-style residual encoder (pre-LN) and BRO-style encoder.

SimBa (Lee et al. 2024, as in upstream): ``Dense(h)`` (orthogonal init), ``depth`` blocks of
``x + Dense_h(ReLU(Dense_4h(LN(x))))`` (He-normal init), final LayerNorm. BroNet (Nauman et al. 2024):
``ReLU(LN(Dense(h)))`` then ``depth`` blocks of ``x + LN(Dense(ReLU(LN(Dense(x)))))``. Heads (Q values,
Gaussian policy) live in the agents. Observation normalisation is ``RunningNorm`` (buffers, no weights).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ARCHS", "BroBlock", "BroEncoder", "RunningNorm", "SimBaBlock", "SimBaEncoder", "make_encoder"]

ARCHS = ("simba", "bro")


class RunningNorm(nn.Module):
    """Running mean/variance normaliser (parallel Welford update), as SimBa's observation normalisation."""

    def __init__(self, dim: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps
        self.mean: torch.Tensor
        self.var: torch.Tensor
        self.count: torch.Tensor
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold a batch ``[B, dim]`` into the running statistics."""
        x = x.reshape(-1, self.mean.shape[0]).to(self.mean)
        n = x.shape[0]
        bmean, bvar = x.mean(0), x.var(0, unbiased=False)
        delta = bmean - self.mean
        tot = self.count + n
        self.mean.add_(delta * n / tot)
        self.var.copy_((self.var * self.count + bvar * n + delta.square() * self.count * n / tot) / tot)
        self.count.copy_(tot)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` with the current statistics."""
        return ((x - self.mean.to(x.dtype)) / torch.sqrt(self.var.to(x.dtype) + self.eps)).to(x.dtype)


def _he_init(layer: nn.Linear) -> nn.Linear:
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)
    return layer


def _orthogonal_init(layer: nn.Linear, gain: float = 1.0) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)
    return layer


class SimBaBlock(nn.Module):
    """Pre-LN inverted-bottleneck residual block: ``x + fc2(ReLU(fc1(LN(x))))`` with 4x expansion."""

    def __init__(self, width: int, expansion: int = 4) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = _he_init(nn.Linear(width, expansion * width))
        self.fc2 = _he_init(nn.Linear(expansion * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.fc2(torch.relu(self.fc1(self.norm(x))))
        return out


class SimBaEncoder(nn.Module):
    """SimBa encoder: input Dense, ``depth`` SimBa blocks, final LayerNorm; output width ``width``."""

    def __init__(self, in_dim: int, width: int, depth: int) -> None:
        super().__init__()
        _check_size(in_dim, width, depth)
        self.input = _orthogonal_init(nn.Linear(in_dim, width))
        self.blocks = nn.Sequential(*[SimBaBlock(width) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.norm(self.blocks(self.input(x)))
        return out


class BroBlock(nn.Module):
    """BroNet residual block: ``x + LN(fc2(ReLU(LN(fc1(x)))))``."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc1 = _he_init(nn.Linear(width, width))
        self.norm1 = nn.LayerNorm(width)
        self.fc2 = _he_init(nn.Linear(width, width))
        self.norm2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.norm2(self.fc2(torch.relu(self.norm1(self.fc1(x)))))
        return out


class BroEncoder(nn.Module):
    """BroNet encoder: ``ReLU(LN(Dense(x)))`` then ``depth`` BroNet blocks; output width ``width``."""

    def __init__(self, in_dim: int, width: int, depth: int) -> None:
        super().__init__()
        _check_size(in_dim, width, depth)
        self.input = _orthogonal_init(nn.Linear(in_dim, width), gain=math.sqrt(2.0))
        self.norm = nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[BroBlock(width) for _ in range(depth)])
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.blocks(torch.relu(self.norm(self.input(x))))
        return out


def _check_size(in_dim: int, width: int, depth: int) -> None:
    for name, value, low in (("in_dim", in_dim, 1), ("width", width, 1), ("depth", depth, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def make_encoder(arch: str, in_dim: int, width: int, depth: int) -> nn.Module:
    """Build a ``"simba"`` or ``"bro"`` encoder with the given input size, width and number of blocks."""
    if arch == "simba":
        return SimBaEncoder(in_dim, width, depth)
    if arch == "bro":
        return BroEncoder(in_dim, width, depth)
    raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
