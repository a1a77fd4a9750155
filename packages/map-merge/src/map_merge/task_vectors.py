"""Task vectors v_t = theta_t - theta_base over the floating-point entries of matching state dicts, and the
one merge primitive theta(c) = base + sum_t c_t v_t that in-memory and streamed merges share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from map_merge.checkpoints import CheckpointError, StateDict, WeightsSource, load_state_dict

Meta = Mapping[str, tuple[torch.dtype, tuple[int, ...]]]
Coefficients = Sequence[float] | torch.Tensor | np.ndarray


def is_mergeable(dtype: torch.dtype) -> bool:
    """Only floating-point tensors are merged; integer and boolean buffers are kept from the base."""
    return dtype.is_floating_point


def state_meta(state: Mapping[str, torch.Tensor]) -> dict[str, tuple[torch.dtype, tuple[int, ...]]]:
    """dtype and shape of every entry of a state dict."""
    return {key: (value.dtype, tuple(value.shape)) for key, value in state.items()}


def check_like_base(base: Meta, other: Meta, name: str) -> None:
    """Raise CheckpointError naming the first key, shape or dtype of ``other`` that differs from the base.

    Missing and extra keys are both errors; linear in the number of tensors.
    """
    for key, (dtype, shape) in base.items():
        if key not in other:
            raise CheckpointError(f"{name}: key {key!r} of the base model is missing")
        other_dtype, other_shape = other[key]
        if tuple(other_shape) != tuple(shape):
            raise CheckpointError(
                f"{name}: shape of {key!r} is {tuple(other_shape)}, base has {tuple(shape)}"
            )
        if other_dtype != dtype:
            raise CheckpointError(f"{name}: dtype of {key!r} is {other_dtype}, base has {dtype}")
    if len(other) != len(base):
        extra = next(key for key in other if key not in base)
        raise CheckpointError(f"{name}: key {extra!r} is not in the base model")


def check_finite(state: Mapping[str, torch.Tensor], keys: Sequence[str], name: str) -> None:
    """Raise CheckpointError naming the first tensor of ``keys`` that holds NaN or infinity."""
    for key in keys:
        if not bool(torch.isfinite(state[key]).all()):
            raise CheckpointError(f"{name}: tensor {key!r} holds NaN or infinite weights")


def check_coefficients(values: Coefficients, n_tasks: int, what: str = "coefficients") -> torch.Tensor:
    """Coefficients (or weights) as a float32 tensor of shape (T,); ValueError unless all are finite."""
    try:
        c = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{what} must be {n_tasks} numbers: {error}") from error
    if c.shape != (n_tasks,):
        raise ValueError(f"{what} must have shape ({n_tasks},), got {tuple(c.shape)}")
    if not torch.isfinite(c).all():
        raise ValueError(f"{what} must be finite, got {c.tolist()}")
    return c.to(torch.float32)


def merge_into(out: torch.Tensor, base: torch.Tensor, deltas: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """out = base + deltas^T c for flat float32 ``base`` (n,), ``deltas`` (T, n) and ``c`` (T,): one pass,
    no temporary. The single merge primitive of ``TaskVectors`` and ``stream_merge``."""
    return torch.addmv(base, deltas.T, c, out=out)


@dataclass
class TaskVectors:
    """A base state dict and one task vector per fine-tuned model, flattened for fast re-merging.

    ``flat_base`` (P,) and ``flat_vectors`` (T, P) hold the mergeable entries concatenated in
    ``keys`` order; other entries of ``base`` are copied unchanged into every merge.
    """

    base: StateDict
    keys: list[str]
    flat_base: torch.Tensor
    flat_vectors: torch.Tensor
    task_names: list[str]
    slices: list[slice] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.slices:
            offset = 0
            for key in self.keys:
                n = self.base[key].numel()
                self.slices.append(slice(offset, offset + n))
                offset += n

    @property
    def n_tasks(self) -> int:
        """Number of task vectors T."""
        return int(self.flat_vectors.shape[0])

    def norms(self) -> torch.Tensor:
        """L2 norm of each task vector, (T,)."""
        norms: torch.Tensor = self.flat_vectors.norm(dim=1)
        return norms

    def merged_flat(self, coefficients: Coefficients) -> torch.Tensor:
        """theta(c) = base + sum_t c_t v_t over the mergeable entries, flattened (a new tensor)."""
        c = check_coefficients(coefficients, self.n_tasks).to(self.flat_vectors.dtype)
        out = torch.empty_like(self.flat_base)
        for part in self.slices:
            merge_into(out[part], self.flat_base[part], self.flat_vectors[:, part], c)
        return out

    def merged_state_dict(self, coefficients: Coefficients) -> StateDict:
        """The full merged state dict for coefficient vector c (non-float entries from the base)."""
        flat = self.merged_flat(coefficients)
        merged = dict(self.base)
        for key, part in zip(self.keys, self.slices, strict=True):
            tensor = self.base[key]
            merged[key] = flat[part].view(tensor.shape).to(tensor.dtype)
        return merged

    def load_into(self, module: torch.nn.Module, coefficients: Coefficients) -> torch.nn.Module:
        """Rewrite theta(c) into a module's parameters in place, tensor by tensor from the base and the
        task vectors (no full-size allocation: each parameter is written once), and return the module."""
        c = check_coefficients(coefficients, self.n_tasks).to(self.flat_vectors.dtype)
        state = module.state_dict(keep_vars=True)
        with torch.no_grad():
            for key, part in zip(self.keys, self.slices, strict=True):
                target = state[key].data
                if target.dtype == self.flat_base.dtype and target.is_contiguous():
                    merge_into(target.view(-1), self.flat_base[part], self.flat_vectors[:, part], c)
                else:
                    merged = merge_into(
                        torch.empty(part.stop - part.start, dtype=self.flat_base.dtype),
                        self.flat_base[part],
                        self.flat_vectors[:, part],
                        c,
                    )
                    target.copy_(merged.view(target.shape))
        return module

    def vector(self, task: int) -> StateDict:
        """Task vector t as a state dict of the mergeable entries."""
        return {
            key: self.flat_vectors[task, part].view(self.base[key].shape)
            for key, part in zip(self.keys, self.slices, strict=True)
        }


def task_vectors(
    base: WeightsSource,
    finetuned: Sequence[WeightsSource] | Mapping[str, WeightsSource],
    *,
    dtype: torch.dtype = torch.float32,
) -> TaskVectors:
    """Load a base and fine-tuned models (modules, state dicts, files or local HF folders) as task vectors.

    Every fine-tuned model must have exactly the base's keys, shapes and dtypes (``check_like_base``).
    """
    named = (
        dict(finetuned)
        if isinstance(finetuned, Mapping)
        else {f"task_{i}": m for i, m in enumerate(finetuned)}
    )
    if not named:
        raise ValueError("at least one fine-tuned model is needed")
    base_state = load_state_dict(base)
    base_meta = state_meta(base_state)
    keys = [k for k, v in base_state.items() if is_mergeable(v.dtype)]
    if not keys:
        raise CheckpointError("the base model has no floating-point tensors to merge")
    check_finite(base_state, keys, "the base model")
    flat_base = torch.cat([base_state[k].reshape(-1).to(dtype) for k in keys])
    vectors = torch.empty((len(named), flat_base.numel()), dtype=dtype)
    for row, (name, source) in enumerate(named.items()):
        state = load_state_dict(source)
        check_like_base(base_meta, state_meta(state), name)
        check_finite(state, keys, name)
        torch.cat([state[k].reshape(-1).to(dtype) for k in keys], out=vectors[row])
        vectors[row].sub_(flat_base)
        del state
    return TaskVectors(base_state, keys, flat_base, vectors, list(named))
