"""Sparse initialisation at depth: ``sparsify(..., rescale=True)`` keeps the activation scale."""

import math

import pytest
import torch
from torch import nn

from sparse_drl import sparsify
from sparse_drl.depth import activation_std_by_layer, deep_plain_mlp, depth_table


def test_rescale_multiplies_kept_kernel_entries_by_inverse_sqrt_density() -> None:
    torch.manual_seed(0)
    plain = deep_plain_mlp(32, 32, 3)
    scaled = deep_plain_mlp(32, 32, 3)
    scaled.load_state_dict(plain.state_dict())
    sparsify(plain, 0.9, seed=1)
    sparsify(scaled, 0.9, seed=1, rescale=True)
    for a, b in zip(plain, scaled, strict=True):
        if isinstance(a, nn.Linear):
            kept = a.weight != 0
            density = float(kept.float().mean())
            assert torch.equal(kept, b.weight != 0)
            assert torch.allclose(
                b.weight[kept], a.weight[kept] / math.sqrt(density), rtol=2e-2
            )  # allocated vs kept
            assert torch.equal(a.bias, b.bias)
    with pytest.raises(TypeError, match="rescale must be a bool"):
        sparsify(deep_plain_mlp(4, 4, 1), 0.5, rescale=1)  # type: ignore[arg-type]


def test_rescaled_sparse_net_keeps_its_signal_at_depth() -> None:
    dense = activation_std_by_layer(12, 128, 0.0)
    sparse = activation_std_by_layer(12, 128, 0.9)
    rescaled = activation_std_by_layer(12, 128, 0.9, rescale=True)
    assert sparse[-1] < 1e-4 * dense[-1]  # about 3.2x smaller per layer: nothing left at layer 12
    for i in range(1, 12):
        assert 0.7 < rescaled[i] / rescaled[i - 1] < 1.4  # the per-layer ratio stays near 1
    assert 0.5 < rescaled[-1] / dense[-1] < 2.0
    assert depth_table(3, 16).count("\n") == 5
