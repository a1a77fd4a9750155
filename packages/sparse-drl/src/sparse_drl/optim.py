"""Optimizers used by the agents: Adam, AdamW (paper default) and PSGD-Kron (optional ``[kron]`` extra)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

__all__ = ["OPTIMIZERS", "make_optimizer"]

OPTIMIZERS = ("adam", "adamw", "kron")


def _kron_class() -> Callable[..., torch.optim.Optimizer]:
    """``kron_torch.Kron`` whose steps run eagerly (torch.compile off, as upstream does with Kron)."""
    try:
        from kron_torch import Kron
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("optimizer 'kron' needs the extra: pip install 'sparse-drl[kron]'") from err
    import torch._dynamo

    class EagerKron(Kron):  # type: ignore[misc]
        """PSGD-Kron with its internal ``torch.compile`` calls disabled (no triton or C++ compiler needed)."""

        @torch.no_grad()
        def step(self, closure=None):  # type: ignore[no-untyped-def]
            with torch._dynamo.config.patch(disable=True):
                return super().step(closure)

    return EagerKron


def make_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """Build ``"adam"``, ``"adamw"`` or ``"kron"``; masks of sparsified layers are kept by global hooks."""
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "kron":
        return _kron_class()(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
