"""Fixed masks on parameters: mask buffers, the registry of masked layers and the optimizer hooks.

A masked parameter ``weight`` of a layer gets a buffer ``weight_mask`` (same shape and dtype, 0/1), so the
mask is saved in ``state_dict`` and moves with ``.to(device)``. After every ``torch.optim.Optimizer`` step
(Adam, AdamW, Kron, ... through PyTorch's global step post-hook) the masked parameters that optimizer owns
are multiplied by their masks, as upstream masks the update after ``optax.adamw`` (gradients stay unmasked,
as upstream): moments, weight decay and preconditioners cannot revive a pruned weight.
``apply_masks`` does the same by hand for updates that bypass an optimizer; ``mask_gradients`` masks the
gradients (e.g. before gradient clipping).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

__all__ = ["MASK_SUFFIX", "apply_masks", "attach_mask", "is_masked", "mask_gradients", "register_masks"]

MASK_SUFFIX = "_mask"
_ATTR = "_sparse_drl_masked"
_REGISTRY: weakref.WeakSet[nn.Module] = weakref.WeakSet()
_HOOKS: list[object] = []


def masked_names(layer: nn.Module) -> tuple[str, ...]:
    """Names of the parameters of ``layer`` (not its children) that carry a mask."""
    return getattr(layer, _ATTR, ())


def is_masked(module: nn.Module) -> bool:
    """True when ``module`` or one of its children carries at least one mask."""
    return any(masked_names(m) for m in module.modules())


def _pairs(layers: Iterable[nn.Module]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, mask) pairs of the given layers."""
    out: list[tuple[torch.Tensor, torch.Tensor]] = []
    for layer in layers:
        for name in masked_names(layer):
            param = layer._parameters.get(name)
            mask = layer._buffers.get(name + MASK_SUFFIX)
            if param is not None and mask is not None:
                out.append((param, mask))
    return out


def _optimizer_pairs(optimizer: torch.optim.Optimizer) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, mask) pairs of the registered layers whose parameters ``optimizer`` updates."""
    if not _REGISTRY:
        return []
    ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return [(p, m) for p, m in _pairs(list(_REGISTRY)) if id(p) in ids]


def _post_step(optimizer: torch.optim.Optimizer, args: object, kwargs: object) -> None:
    """Re-apply the masks to the parameters after an optimizer step."""
    pairs = _optimizer_pairs(optimizer)
    if pairs:
        with torch.no_grad():
            torch._foreach_mul_([p for p, _ in pairs], [m for _, m in pairs])


def _install_hooks() -> None:
    """Register the global optimizer step post-hook once per process."""
    if not _HOOKS:
        _HOOKS.append(register_optimizer_step_post_hook(_post_step))


def attach_mask(layer: nn.Module, name: str, mask: torch.Tensor) -> None:
    """Attach a fixed 0/1 ``mask`` to parameter ``name`` of ``layer``, zero the pruned entries, register."""
    param = layer._parameters.get(name)
    if param is None:
        raise KeyError(f"{type(layer).__name__} has no parameter {name!r}")
    if tuple(mask.shape) != tuple(param.shape):
        raise ValueError(f"mask shape {tuple(mask.shape)} != parameter shape {tuple(param.shape)}")
    if name in masked_names(layer):
        raise ValueError(f"parameter {name!r} of {type(layer).__name__} is already masked")
    mask = mask.to(device=param.device, dtype=param.dtype)
    layer.register_buffer(name + MASK_SUFFIX, mask)
    setattr(layer, _ATTR, (*masked_names(layer), name))
    with torch.no_grad():
        param.mul_(mask)
    _REGISTRY.add(layer)
    _install_hooks()


def register_masks(module: nn.Module) -> nn.Module:
    """(Re-)register every masked layer of ``module`` with the optimizer hooks (after ``copy.deepcopy``)."""
    for layer in module.modules():
        if masked_names(layer):
            _REGISTRY.add(layer)
    _install_hooks()
    return module


def apply_masks(module: nn.Module) -> nn.Module:
    """Multiply every masked parameter of ``module`` by its mask in place (for updates outside an optimizer)."""
    pairs = _pairs(module.modules())
    if pairs:
        with torch.no_grad():
            torch._foreach_mul_([p for p, _ in pairs], [m for _, m in pairs])
    return module


def mask_gradients(module: nn.Module) -> nn.Module:
    """Multiply the gradients of the masked parameters of ``module`` by their masks (before clipping)."""
    pairs = [(p.grad, m) for p, m in _pairs(module.modules()) if p.grad is not None]
    if pairs:
        with torch.no_grad():
            torch._foreach_mul_([g for g, _ in pairs], [m for _, m in pairs])
    return module
