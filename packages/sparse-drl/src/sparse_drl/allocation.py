"""Layer-wise density allocation: Erdős–Rényi-Kernel (ERK) and uniform (Ma et al. 2025, upstream `erk`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["METHODS", "check_sparsity", "erk_densities", "uniform_densities"]

METHODS = ("erk", "uniform")


def check_sparsity(sparsity: object, name: str = "sparsity") -> float:
    """Return ``sparsity`` as a float in [0, 1), or raise a clear error naming the bad value."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1), got {sparsity!r} ({type(sparsity).__name__})")
    value = float(sparsity)
    if math.isnan(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {sparsity!r}")
    return value


def _raw_erk(shape: Sequence[int]) -> float:
    """ERK score sum(shape)/prod(shape); (n_in+n_out)/(n_in*n_out) for a Linear kernel, 1 for 1-D params."""
    return float(sum(shape)) / float(math.prod(shape))


def erk_densities(
    shapes: Mapping[str, Sequence[int]],
    sparsity: float,
    dense: Sequence[str] = (),
    *,
    floor_zeros: bool = False,
) -> dict[str, float]:
    """ERK densities for every entry of ``shapes`` so that the total kept fraction is ``1 - sparsity``.

    Each layer gets density ``eps * sum(shape) / prod(shape)``; ``eps`` is solved so that the kept
    parameter count equals ``(1 - sparsity) * N`` over all entries (names in ``dense`` are kept whole and
    count toward the budget). A layer whose density would exceed 1 is made dense and ``eps`` is solved
    again (one layer, the largest score, per round, as in the RigL/JaxPruner reference).
    Pass only kernels for the "kernels only" variant, or every parameter (biases, LayerNorm) for the
    upstream behaviour, where 1-D parameters come out dense and the kernels absorb the budget.

    ``floor_zeros=True`` counts the budget as JaxPruner's ``get_sparsities_erdos_renyi`` does: each
    entry's zero count is rounded down, ``floor(sparsity * n)``, before ``eps`` is solved (the default
    solves with the unrounded ``sparsity * n``; on small networks the two differ by up to about 0.09).
    """
    s = check_sparsity(sparsity)
    unknown = [name for name in dense if name not in shapes]
    if unknown:
        raise KeyError(f"dense entries not among the shapes: {unknown}")
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    zeros = {n: float(math.floor(s * size)) if floor_zeros else s * size for n, size in sizes.items()}
    raw = {name: _raw_erk(shape) for name, shape in shapes.items()}
    dense_set = set(dense)
    while True:
        free = [n for n in shapes if n not in dense_set]
        if not free:
            break
        budget = sum(sizes[n] - zeros[n] for n in free) - sum(zeros[n] for n in dense_set)
        divisor = sum(raw[n] * sizes[n] for n in free)
        eps = budget / divisor
        top = max(raw[n] for n in free)
        if eps * top > 1.0:
            dense_set.update(n for n in free if raw[n] == top)
            continue
        break
    if sum(zeros[n] for n in dense_set) > sum(sizes[n] - zeros[n] for n in free) + 1e-9 and free:
        raise ValueError(f"sparsity {s} cannot be reached while keeping the dense layers {sorted(dense)}")
    return {n: (1.0 if n in dense_set else max(0.0, eps * raw[n])) for n in shapes}


def uniform_densities(
    shapes: Mapping[str, Sequence[int]],
    sparsity: float,
    dense: Sequence[str] = (),
) -> dict[str, float]:
    """Uniform allocation: every entry not in ``dense`` keeps exactly ``1 - sparsity`` of its weights."""
    s = check_sparsity(sparsity)
    unknown = [name for name in dense if name not in shapes]
    if unknown:
        raise KeyError(f"dense entries not among the shapes: {unknown}")
    return {n: (1.0 if n in dense else 1.0 - s) for n in shapes}
