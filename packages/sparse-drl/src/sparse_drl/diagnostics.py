"""Plasticity diagnostics (Ma et al. 2025 upstream metrics; Sokar 2023; Kumar 2021; Lyle 2023).

All functions are pure over tensors or read a module without changing it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from sparse_drl.masking import MASK_SUFFIX, masked_names

__all__ = [
    "DORMANT_TAUS",
    "collect_linear_outputs",
    "dormant_ratio",
    "effective_rank",
    "grad_norm",
    "gradient_interference",
    "pruned_zero_fraction",
    "stable_rank",
    "weight_norm",
]

DORMANT_TAUS = (0.1, 0.2)  # upstream logs both thresholds


def dormant_ratio(activations: Sequence[torch.Tensor] | torch.Tensor, tau: float = 0.1) -> float:
    """Fraction of dormant neurons (Sokar et al. 2023) over one or several layers' outputs ``[B, H]``.

    Score ``s_i = E|a_i| / mean_j E|a_j|`` per layer; a neuron is dormant when ``s_i <= tau``. Returns
    dormant count / neuron count over all layers (upstream logs it as a percentage at tau 0.1 and 0.2).
    """
    if isinstance(activations, torch.Tensor):
        activations = [activations]
    dormant, total = 0, 0
    for act in activations:
        act = act.detach().reshape(-1, act.shape[-1]).float()
        mean_abs = act.abs().mean(0)
        score = mean_abs / (mean_abs.mean() + 1e-9)
        dormant += int((score <= tau).sum().item())
        total += act.shape[-1]
    if total == 0:
        raise ValueError("dormant_ratio needs at least one activation tensor")
    return dormant / total


def _singular_values(features: torch.Tensor) -> torch.Tensor:
    if features.dim() != 2:
        raise ValueError(f"features must be a [batch, dim] matrix, got shape {tuple(features.shape)}")
    values: torch.Tensor = torch.linalg.svdvals(features.detach().double())
    return values


def stable_rank(features: torch.Tensor, delta: float = 0.01) -> int:
    """srank (Kumar et al. 2021): smallest k with ``sum_{i<=k} sigma_i >= (1 - delta) * sum sigma``."""
    sv = _singular_values(features)
    total = sv.sum()
    if total <= 0:
        return 0
    cum = torch.cumsum(sv, 0)
    return int(torch.searchsorted(cum, (1.0 - delta) * total - 1e-12 * total).item()) + 1


def effective_rank(features: torch.Tensor) -> float:
    """Effective rank (Roy & Vetterli 2007): ``exp(H(p))`` with ``p = sigma / sum sigma``."""
    sv = _singular_values(features)
    total = sv.sum()
    if total <= 0:
        return 0.0
    p = sv / total
    p = p[p > 0]
    return float(math.exp(float(-(p * p.log()).sum())))


def collect_linear_outputs(
    module: nn.Module, run: Callable[[], object], exclude: Sequence[str] = ()
) -> dict[str, torch.Tensor]:
    """Run ``run()`` and return the outputs of every ``nn.Linear`` in ``module`` (names in ``exclude`` skipped)."""
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    for name, layer in module.named_modules():
        if isinstance(layer, nn.Linear) and name not in exclude:

            def hook(_m: nn.Module, _i: object, out: torch.Tensor, name: str = name) -> None:
                outputs[name] = out.detach()

            handles.append(layer.register_forward_hook(hook))
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def weight_norm(module: nn.Module) -> float:
    """L2 norm of all parameters of ``module``."""
    return float(
        torch.sqrt(
            sum(
                (p.detach().double().square().sum() for p in module.parameters()),
                torch.zeros((), dtype=torch.float64),
            )
        )
    )


def grad_norm(module: nn.Module) -> float:
    """L2 norm of the masked gradients of ``module`` (pruned entries contribute nothing)."""
    total = torch.zeros((), dtype=torch.float64)
    for layer in module.modules():
        names = masked_names(layer)
        for pname, p in layer.named_parameters(recurse=False):
            if p.grad is None:
                continue
            g = p.grad.detach()
            mask = layer._buffers.get(pname + MASK_SUFFIX)
            if pname in names and mask is not None:
                g = g * mask
            total += g.double().square().sum()
    return float(torch.sqrt(total))


def pruned_zero_fraction(module: nn.Module) -> float:
    """Fraction of pruned weights that read exactly 0.0 (must stay 1.0); 1.0 when nothing is pruned."""
    pruned, zero = 0, 0
    for layer in module.modules():
        for pname in masked_names(layer):
            mask, param = layer._buffers[pname + MASK_SUFFIX], layer._parameters[pname]
            if mask is None or param is None:
                continue
            off = mask == 0
            pruned += int(off.sum().item())
            zero += int((param.detach()[off] == 0).sum().item())
    return zero / pruned if pruned else 1.0


def gradient_interference(
    module: nn.Module, per_sample_loss: Callable[[], torch.Tensor], max_samples: int = 16
) -> dict[str, float]:
    """Gradient interference (Lyle et al. 2023): cosine similarity of per-sample loss gradients.

    ``per_sample_loss()`` returns a vector of losses (one per sample); the gradients of the first
    ``max_samples`` of them w.r.t. ``module``'s parameters (masked) are compared pairwise. Returns the mean
    off-diagonal cosine (``grad_cos_mean``), the fraction of negative pairs (``grad_cos_neg_frac``) and the
    mean absolute cosine (``grad_cos_abs``; lower = more orthogonal gradients).
    """
    params = [p for p in module.parameters() if p.requires_grad]
    masks = []
    for layer in module.modules():
        names = masked_names(layer)
        for pname, p in layer.named_parameters(recurse=False):
            if p.requires_grad:
                masks.append(layer._buffers[pname + MASK_SUFFIX] if pname in names else None)
    losses = per_sample_loss()
    n = min(int(max_samples), losses.shape[0])
    if n < 2:
        raise ValueError("gradient_interference needs at least 2 samples")
    rows = []
    for i in range(n):
        grads = torch.autograd.grad(losses[i], params, retain_graph=i < n - 1, allow_unused=True)
        flat = [
            (torch.zeros_like(p) if g is None else (g if m is None else g * m)).reshape(-1)
            for g, p, m in zip(grads, params, masks, strict=True)
        ]
        rows.append(torch.cat(flat))
    mat = torch.stack(rows).double()
    mat = mat / (mat.norm(dim=1, keepdim=True) + 1e-12)
    cos = mat @ mat.T
    off = cos[~torch.eye(n, dtype=torch.bool)]
    return {
        "grad_cos_mean": float(off.mean()),
        "grad_cos_neg_frac": float((off < 0).double().mean()),
        "grad_cos_abs": float(off.abs().mean()),
    }
