"""Signal at depth: activation scale per layer of a deep plain ReLU net at initialisation.

A one-shot random mask keeps a fraction ``density`` of each unit's inputs, so the pre-activation variance
of a He-initialised layer drops by ``density`` and a 90 % mask shrinks activations about
``1/sqrt(0.1) = 3.2x`` per layer: after a dozen layers nothing is left. ``sparsify(..., rescale=True)``
multiplies the kept weights by ``1/sqrt(density)`` (fan-in-corrected init), which keeps the scale.
"""

from __future__ import annotations

import torch
from torch import nn

from sparse_drl.sparsify import sparsify

__all__ = ["activation_std_by_layer", "deep_plain_mlp", "depth_table"]


def deep_plain_mlp(in_dim: int, width: int, depth: int) -> nn.Sequential:
    """``depth`` hidden Linear+ReLU layers, He-normal weights and zero biases, no normalisation."""
    layers: list[nn.Module] = []
    last = in_dim
    for _ in range(depth):
        linear = nn.Linear(last, width)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
        last = width
    return nn.Sequential(*layers)


def activation_std_by_layer(
    depth: int = 12,
    width: int = 256,
    sparsity: float = 0.0,
    rescale: bool = False,
    seed: int = 0,
    batch: int = 1024,
) -> list[float]:
    """Standard deviation of each hidden layer's ReLU output on standard-normal inputs (width
    ``width``) at initialisation, for a dense net (``sparsity=0``) or an ERK-pruned one."""
    torch.manual_seed(seed)
    net = deep_plain_mlp(width, width, depth)
    if sparsity > 0:
        sparsify(net, sparsity, method="erk", seed=seed, rescale=rescale)
    x = torch.randn(batch, width, generator=torch.Generator().manual_seed(seed + 1))
    stds: list[float] = []
    with torch.no_grad():
        for layer in net:
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                stds.append(float(x.std()))
    return stds


def depth_table(depth: int = 12, width: int = 256, sparsity: float = 0.9, seed: int = 0) -> str:
    """Markdown table of per-layer activation std: dense, sparse, sparse with ``rescale``."""
    arms = {
        "dense": activation_std_by_layer(depth, width, 0.0, seed=seed),
        f"{sparsity:.0%} ERK": activation_std_by_layer(depth, width, sparsity, seed=seed),
        f"{sparsity:.0%} ERK + rescale": activation_std_by_layer(depth, width, sparsity, True, seed),
    }
    lines = ["| layer | " + " | ".join(arms) + " |", "|---:|" + "---:|" * len(arms)]
    for i in range(depth):
        lines.append(f"| {i + 1} | " + " | ".join(f"{v[i]:.3g}" for v in arms.values()) + " |")
    return "\n".join(lines) + "\n"
