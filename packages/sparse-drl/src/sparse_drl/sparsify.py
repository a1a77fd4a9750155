"""One-shot random pruning of any torch module (Ma et al. 2025): ``sparsify``, ``SparseLinear``, reports."""

from __future__ import annotations

import fnmatch
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from sparse_drl.allocation import METHODS, check_sparsity, erk_densities, uniform_densities
from sparse_drl.masking import MASK_SUFFIX, attach_mask, is_masked, masked_names

__all__ = [
    "PRUNABLE_TYPES",
    "DensityReport",
    "SparseLinear",
    "density_report",
    "layer_densities",
    "load_sparse_state_dict",
    "prunable_layers",
    "random_mask",
    "sparsify",
    "subnetworks",
]

PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
BUDGETS = ("all", "kernels")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _weight(layer: nn.Module) -> torch.Tensor:
    """The ``weight`` tensor of a prunable layer."""
    weight = layer.weight
    assert isinstance(weight, torch.Tensor)
    return weight


def prunable_layers(module: nn.Module) -> dict[str, nn.Module]:
    """Linear and Conv layers of ``module`` (with a weight), by module name, in registration order."""
    return {
        name: m
        for name, m in module.named_modules()
        if isinstance(m, PRUNABLE_TYPES) and getattr(m, "weight", None) is not None
    }


def layer_seed(seed: int, name: str) -> int:
    """A per-layer seed derived from the global seed and the layer's name (stable across runs)."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % (2**63 - 1)


def random_mask(
    shape: Sequence[int], density: float, seed: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """A 0/1 float mask with exactly ``round(density * numel)`` ones at uniformly random positions."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density!r}")
    numel = 1
    for d in shape:
        numel *= int(d)
    keep = round(density * numel)
    gen = torch.Generator().manual_seed(int(seed))
    flat = torch.zeros(numel)
    flat[torch.randperm(numel, generator=gen)[:keep]] = 1.0
    return flat.view(*shape).to(device) if device is not None else flat.view(*shape)


def subnetworks(module: nn.Module, names: Sequence[str]) -> list[list[str]]:
    """Prunable layer names grouped by sub-network, each group in registration order.

    A module made of parallel networks (e.g. the critics of a multi-critic) declares them with a method
    ``sparse_subnetworks()`` returning one tuple of submodule-name prefixes per network (``("encoders.0",
    "heads.0")``); otherwise the whole module is one network."""
    declare = getattr(module, "sparse_subnetworks", None)
    if declare is None:
        return [list(names)]
    groups: list[list[str]] = []
    for prefixes in declare():
        members = [n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes)]
        groups.append(members)
    missing = [n for n in names if not any(n in g for g in groups)]
    if missing:
        groups.append(missing)  # layers outside the declared networks form one more group
    return [g for g in groups if g]


def _resolve_dense(
    layers: dict[str, nn.Module], module: nn.Module, dense_layers: Sequence[str] | None, method: str
) -> list[str]:
    """Layer names kept dense: the method's default when ``dense_layers`` is None, else the given patterns."""
    names = list(layers)
    if dense_layers is None:
        # ERK keeps first and last layers dense through its cap (upstream has no explicit rule);
        # uniform has no such cap, so the usual convention keeps the first and last layer of each
        # sub-network dense.
        if method == "erk":
            return []
        return [n for group in subnetworks(module, names) if len(group) >= 3 for n in (group[0], group[-1])]
    if isinstance(dense_layers, str):
        dense_layers = [dense_layers]
    all_modules = dict(module.named_modules())
    chosen: list[str] = []
    for pattern in dense_layers:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            others = [n for n in all_modules if fnmatch.fnmatchcase(n, pattern)]
            if others:
                kind = type(all_modules[others[0]]).__name__
                raise TypeError(
                    f"dense_layers pattern {pattern!r} matches {others[0]!r}, a {kind}: unsupported layer "
                    f"type (prunable: {', '.join(t.__name__ for t in PRUNABLE_TYPES)})"
                )
            raise KeyError(f"dense_layers pattern {pattern!r} matches no layer; layers are {names}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def layer_densities(
    module: nn.Module,
    sparsity: float,
    *,
    method: str = "erk",
    dense_layers: Sequence[str] | None = None,
    budget: str = "all",
) -> dict[str, float]:
    """Target density of each parameter that the allocation covers, without changing ``module``.

    ``method="uniform"`` and ``budget="kernels"`` cover the prunable kernels (``layer.weight``).
    ``budget="all"`` (ERK) is upstream's: every parameter (biases, LayerNorm, other layers) enters the
    ERK solve with score ``sum(shape)/prod(shape)`` (1 for a 1-D parameter). Usually the cap makes the
    1-D parameters dense and the kernels absorb the budget; on small networks at high sparsity the
    1-D parameters get density ``eps < 1`` and are pruned too, as upstream. The result then covers
    every parameter.
    """
    s = check_sparsity(sparsity)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")
    layers = prunable_layers(module)
    if not layers:
        kinds = sorted({type(m).__name__ for m in module.modules() if any(True for _ in m.parameters(False))})
        raise TypeError(
            f"{type(module).__name__} has no prunable layer (supported: "
            f"{', '.join(t.__name__ for t in PRUNABLE_TYPES)}); its parametrised layers are {kinds}"
        )
    dense = [_join(n, "weight") for n in _resolve_dense(layers, module, dense_layers, method)]
    kernels = {_join(n, "weight"): tuple(_weight(m).shape) for n, m in layers.items()}
    if method == "uniform":
        return uniform_densities(kernels, s, dense)
    if budget == "kernels":
        return erk_densities(kernels, s, dense)
    return erk_densities({n: tuple(p.shape) for n, p in module.named_parameters()}, s, dense)


def sparsify(
    module: nn.Module,
    sparsity: float,
    method: str = "erk",
    seed: int = 0,
    *,
    dense_layers: Sequence[str] | None = None,
    budget: str = "all",
    rescale: bool = False,
) -> nn.Module:
    """Prune ``module`` in place once, at random, and keep the masks fixed; returns ``module``.

    ``sparsity`` is the target fraction of removed parameters (upstream ERK counts every parameter; the
    cap normally keeps biases and LayerNorm dense so the kernels absorb the budget); ``method`` is
    ``"erk"`` (paper's default) or ``"uniform"``; ``dense_layers`` names (fnmatch patterns) of layers kept
    dense (default: none for ERK, whose cap densifies the input and head layers; for uniform the first and
    last layer of each sub-network, see ``subnetworks``). Each pruned parameter keeps exactly
    ``round(density * numel)`` entries, drawn from ``seed`` and the parameter's layer name.
    With ``rescale`` the kept entries of each pruned kernel (not biases) are multiplied by
    ``1 / sqrt(density)``, as a fan-in-corrected initialisation of the sparse layer would draw them: each
    unit's input variance stays what the dense initialisation gave, so a deep plain net keeps its
    activation scale (without it a 90 % mask shrinks activations about 3x per layer).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"sparsify expects a torch.nn.Module, got {type(module).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if not isinstance(rescale, bool):
        raise TypeError(f"rescale must be a bool, got {rescale!r}")
    if is_masked(module):
        raise ValueError(f"{type(module).__name__} is already sparsified; build a fresh module to re-prune")
    densities = layer_densities(module, sparsity, method=method, dense_layers=dense_layers, budget=budget)
    modules = dict(module.named_modules())
    for pname, density in densities.items():
        if density >= 1.0:
            continue
        lname, _, attr = pname.rpartition(".")
        layer = modules[lname]
        key = lname if attr == "weight" else pname  # kernels keep their historical per-layer seed
        attach_mask(layer, attr, random_mask(layer._parameters[attr].shape, density, layer_seed(seed, key)))
        param = layer._parameters[attr]
        if rescale and attr != "bias" and param is not None and density > 0:
            with torch.no_grad():
                param.mul_(1.0 / math.sqrt(density))
    return module


class SparseLinear(nn.Linear):
    """``nn.Linear`` with a fixed random mask of the given sparsity on its weight (exact count, seeded)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        sparsity: float = 0.0,
        seed: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.sparsity = check_sparsity(sparsity)
        if self.sparsity > 0.0:
            attach_mask(self, "weight", random_mask(self.weight.shape, 1.0 - self.sparsity, int(seed)))

    def reset_parameters(self) -> None:
        """Re-initialise like ``nn.Linear`` and keep the pruned entries at zero."""
        super().reset_parameters()
        mask = self._buffers.get("weight" + MASK_SUFFIX)
        if mask is not None:
            with torch.no_grad():
                self.weight.mul_(mask)

    @classmethod
    def from_dense(cls, linear: nn.Linear, sparsity: float, seed: int = 0) -> SparseLinear:
        """A ``SparseLinear`` holding a pruned copy of ``linear``'s weight and bias."""
        out = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            sparsity=sparsity,
            seed=seed,
            device=linear.weight.device,
            dtype=linear.weight.dtype,
        )
        with torch.no_grad():
            mask = out._buffers.get("weight" + MASK_SUFFIX)
            out.weight.copy_(linear.weight if mask is None else linear.weight * mask)
            if linear.bias is not None:
                out.bias.copy_(linear.bias)
        return out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, sparsity={self.sparsity}"


@dataclass
class LayerDensity:
    """Density of one prunable weight."""

    name: str
    shape: tuple[int, ...]
    total: int
    kept: int

    @property
    def density(self) -> float:
        return self.kept / self.total if self.total else 1.0


class DensityReport(dict[str, float]):
    """Per-layer densities (``{"layer.weight": density}``) plus totals and parameter counts.

    Attributes: ``layers`` (``LayerDensity`` rows), ``dense_params`` (all parameters),
    ``effective_params`` (all parameters minus pruned entries), ``total_density`` (over all parameters),
    ``kernel_density`` (over prunable kernels, parameters with >= 2 dimensions).
    """

    def __init__(self, layers: list[LayerDensity], dense_params: int) -> None:
        super().__init__({row.name: row.density for row in layers})
        self.layers = layers
        self.dense_params = dense_params
        pruned = sum(row.total - row.kept for row in layers)
        self.effective_params = dense_params - pruned
        kernels = [row for row in layers if len(row.shape) >= 2]
        total_k = sum(row.total for row in kernels)
        self.kernel_density = sum(row.kept for row in kernels) / total_k if total_k else 1.0
        self.total_density = self.effective_params / dense_params if dense_params else 1.0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "layers": {row.name: {"shape": list(row.shape), "density": row.density} for row in self.layers},
            "dense_params": self.dense_params,
            "effective_params": self.effective_params,
            "total_density": self.total_density,
            "kernel_density": self.kernel_density,
        }

    def table(self) -> str:
        """A plain-text table of the report."""
        width = max([len(r.name) for r in self.layers] + [5])
        lines = [f"{'layer':<{width}}  {'shape':>16}  {'kept':>10}  {'density':>8}"]
        for r in self.layers:
            lines.append(
                f"{r.name:<{width}}  {'x'.join(map(str, r.shape)):>16}  {r.kept:>10}  {r.density:>8.4f}"
            )
        lines.append(
            f"total: {self.effective_params:,} of {self.dense_params:,} parameters "
            f"(density {self.total_density:.4f}; prunable weights {self.kernel_density:.4f})"
        )
        return "\n".join(lines)


def density_report(module: nn.Module) -> DensityReport:
    """Per-layer density of every Linear/Conv weight of ``module`` (masked or not), of any other masked
    parameter (biases, LayerNorm pruned by ERK on tiny networks), and totals.

    Returns a ``DensityReport``: a dict ``{"layer.weight": density}`` with ``dense_params``,
    ``effective_params``, ``total_density`` and ``kernel_density`` attributes.
    """
    rows = []
    prunable = prunable_layers(module)
    for lname, layer in module.named_modules():
        attrs = list(masked_names(layer))
        if lname in prunable and "weight" not in attrs:
            attrs.insert(0, "weight")
        for attr in attrs:
            param = layer._parameters[attr]
            mask = layer._buffers.get(attr + MASK_SUFFIX) if attr in masked_names(layer) else None
            kept = int(torch.count_nonzero(mask).item()) if mask is not None else param.numel()
            rows.append(LayerDensity(_join(lname, attr), tuple(param.shape), param.numel(), kept))
    return DensityReport(rows, sum(p.numel() for p in module.parameters()))


def load_sparse_state_dict(
    module: nn.Module, state_dict: dict[str, torch.Tensor], strict: bool = True
) -> nn.Module:
    """Load a state dict saved from a sparsified module into ``module`` (sparsified or not).

    Masks found in ``state_dict`` (``*.weight_mask``) are attached to ``module`` where it has none yet,
    then the weights and masks are loaded; returns ``module``.
    """
    params = dict(module.named_parameters())
    modules = dict(module.named_modules())
    for key, value in state_dict.items():
        if not key.endswith(MASK_SUFFIX):
            continue
        pname = key[: -len(MASK_SUFFIX)]
        if pname not in params:
            continue
        lname, _, attr = pname.rpartition(".")
        layer = modules[lname]
        if attr not in masked_names(layer):
            attach_mask(layer, attr, value.detach().clone())
    module.load_state_dict(state_dict, strict=strict)
    return module
