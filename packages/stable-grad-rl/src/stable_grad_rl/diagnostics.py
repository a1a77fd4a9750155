"""Diagnostics of gradient flow and representations, as logged by the paper's code.

* per-layer gradient Frobenius norms (weight tensors only, i.e. ``p.dim() >= 2``) and their spread
  across depth (first/last ratio, max/min ratio, std of log10 norms);
* weight norms per layer;
* dead units (post-activation batch mean <= 0, upstream) and dormant units (Sokar et al. 2023:
  ``s_i = E|a_i| / mean_j E|a_j| <= tau``), measured on the outputs of every rectifier module
  (``nn.ReLU``/``nn.ReLU6``; a network without one, e.g. tanh, reports ``None`` for both);
* feature ranks: srank (Kumar et al. 2021, ``delta = 0.01``) and the Roy-Vetterli effective rank, on
  the network's ``features(x)`` if it has that method, else on the input of its last ``nn.Linear``;
* :class:`GradFlowRecorder`, the layer x time matrix behind the gradient-flow heat map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
from torch import nn


def grad_norms(model: nn.Module) -> dict[str, float]:
    """Frobenius norm of the gradient of every weight tensor (``dim >= 2``) with a gradient, input first."""
    return {
        name: float(p.grad.detach().norm())
        for name, p in model.named_parameters()
        if p.dim() >= 2 and p.grad is not None
    }


def weight_norms(model: nn.Module) -> dict[str, float]:
    """Frobenius norm of every weight tensor (``dim >= 2``), input first."""
    return {name: float(p.detach().norm()) for name, p in model.named_parameters() if p.dim() >= 2}


def gradient_spread(norms: Sequence[float] | dict[str, float]) -> dict[str, float]:
    """Spread of per-layer gradient norms across depth.

    ``first_last_ratio`` is norm(first layer) / norm(last layer) (about 1 for healthy flow, << 1 when
    gradients vanish towards the input); ``first_last_hidden_ratio`` divides by the last *hidden* layer
    instead (the entry before the last, taken to be the output layer), which removes the effect of the
    head's small init; ``max_min_ratio`` and ``log10_std`` measure the spread overall.
    """
    values = np.asarray(list(norms.values()) if isinstance(norms, dict) else list(norms), dtype=np.float64)
    if values.size == 0:
        raise ValueError("gradient_spread needs at least one gradient norm")
    tiny = np.finfo(np.float64).tiny
    logs = np.log10(np.maximum(values, tiny))
    return {
        "first_last_ratio": float(values[0] / max(values[-1], tiny)),
        "first_last_hidden_ratio": float(values[0] / max(values[-2 if values.size > 1 else -1], tiny)),
        "max_min_ratio": float(values.max() / max(values.min(), tiny)),
        "log10_std": float(logs.std()),
        "mean": float(values.mean()),
    }


#: Modules whose outputs are rectified units (where "dead" and "dormant" are defined).
RECTIFIERS = (nn.ReLU, nn.ReLU6)


@torch.no_grad()
def collect_activations(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Outputs of every rectifier (``nn.ReLU``, ``nn.ReLU6``) of ``model`` on ``x``, as ``(batch, units)``."""
    acts: dict[str, torch.Tensor] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, RECTIFIERS):

            def hook(_m: nn.Module, _i: object, out: torch.Tensor, name: str = name) -> None:
                acts[name] = out.detach().reshape(out.shape[0], -1)

            hooks.append(module.register_forward_hook(hook))
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return acts


def dead_fraction(acts: torch.Tensor) -> float:
    """Fraction of units whose post-activation batch mean is <= 0 (never active on the batch)."""
    acts = acts.reshape(acts.shape[0], -1)
    return float((acts.mean(dim=0) <= 0).float().mean())


def dormant_fraction(acts: torch.Tensor, tau: float = 0.1) -> float:
    """Sokar et al. dormant ratio: units with ``E|a_i| / mean_j E|a_j| <= tau``."""
    score = acts.reshape(acts.shape[0], -1).abs().mean(dim=0)
    score = score / score.mean().clamp_min(1e-12)
    return float((score <= tau).float().mean())


def _singular_values(features: torch.Tensor) -> torch.Tensor:
    if features.dim() != 2:
        raise ValueError(f"features must be a (batch, dim) matrix, got shape {tuple(features.shape)}")
    return cast(torch.Tensor, torch.linalg.svdvals(features.detach().double()))


def srank(features: torch.Tensor, delta: float = 0.01) -> int:
    """Kumar et al. srank: smallest k with ``sum_{i<=k} s_i >= (1 - delta) sum_i s_i``."""
    s = _singular_values(features)
    total = s.sum()
    if total <= 0:
        return 0
    cum = torch.cumsum(s, 0) / total
    return int(torch.searchsorted(cum, torch.tensor(1.0 - delta, dtype=cum.dtype) - 1e-12).item()) + 1


def effective_rank(features: torch.Tensor) -> float:
    """Roy-Vetterli effective rank: ``exp(H(p))``, ``p = s / sum(s)`` over the singular values."""
    s = _singular_values(features)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


@torch.no_grad()
def penultimate_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """``model.features(x)`` if defined, else the input of the last ``nn.Linear`` run (``None``: no Linear)."""
    features = getattr(model, "features", None)
    if callable(features):
        return cast("torch.Tensor | None", features(x).reshape(x.shape[0], -1))
    seen: list[torch.Tensor] = []

    def hook(_m: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        seen.append(inputs[0].detach())

    hooks = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen[-1].reshape(seen[-1].shape[0], -1) if seen else None


@torch.no_grad()
def representation_metrics(model: nn.Module, x: torch.Tensor, tau: float = 0.1) -> dict[str, object]:
    """Dead and dormant fractions (per rectifier layer and overall), srank and effective rank of the features.

    Works for any network: the fractions are ``None`` without rectifier modules, the ranks ``None``
    when no features can be found (see :func:`penultimate_features`).
    """
    acts = collect_activations(model, x)
    dead = {k: dead_fraction(v) for k, v in acts.items()}
    units = {k: v.shape[1] for k, v in acts.items()}
    total_units = sum(units.values())
    feats = penultimate_features(model, x)
    return {
        "dead_per_layer": dead,
        "dead_fraction": sum(dead[k] * units[k] for k in acts) / total_units if acts else None,
        "dormant_fraction": (
            sum(dormant_fraction(v, tau) * v.shape[1] for v in acts.values()) / total_units if acts else None
        ),
        "srank": srank(feats) if feats is not None else None,
        "effective_rank": effective_rank(feats) if feats is not None else None,
    }


class GradFlowRecorder:
    """Records per-layer gradient norms over time; :meth:`matrix` is the layer x time heat map."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.layers: list[str] = []
        self.rows: list[list[float]] = []

    def record(self, step: int, norms: dict[str, float]) -> None:
        """Add one time point; the first call fixes the layer order."""
        if not self.layers:
            self.layers = list(norms)
        missing = [n for n in self.layers if n not in norms]
        if missing:
            raise ValueError(f"gradient norms lack layers {missing}")
        self.steps.append(int(step))
        self.rows.append([float(norms[n]) for n in self.layers])

    def matrix(self) -> np.ndarray:
        """Array of shape ``(layers, time)``."""
        matrix: np.ndarray = np.asarray(self.rows, dtype=np.float64).T
        return matrix.reshape(len(self.layers), len(self.steps))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {"steps": self.steps, "layers": self.layers, "grad_norms": self.rows}


def finite_or_none(value: float) -> float | None:
    """``value`` if finite, else ``None`` (JSON has no NaN)."""
    return value if math.isfinite(value) else None
