"""Task vectors v_t = theta_t - theta_base over the floating-point entries of matching state dicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from map_merge.checkpoints import CheckpointError, StateDict, WeightsSource, load_state_dict


def is_mergeable(tensor: torch.Tensor) -> bool:
    """Only floating-point tensors are merged; integer and boolean buffers are kept from the base."""
    return tensor.is_floating_point()


def check_compatible(base: StateDict, other: StateDict, name: str) -> None:
    """Raise CheckpointError naming the first key or shape that differs between two state dicts."""
    for key in base:
        if key not in other:
            raise CheckpointError(f"{name}: key {key!r} of the base model is missing")
        if tuple(other[key].shape) != tuple(base[key].shape):
            raise CheckpointError(
                f"{name}: shape of {key!r} is {tuple(other[key].shape)}, base has {tuple(base[key].shape)}"
            )
    extra = [key for key in other if key not in base]
    if extra:
        raise CheckpointError(f"{name}: key {extra[0]!r} is not in the base model")


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

    @property
    def n_tasks(self) -> int:
        """Number of task vectors T."""
        return int(self.flat_vectors.shape[0])

    def norms(self) -> torch.Tensor:
        """L2 norm of each task vector, (T,)."""
        return self.flat_vectors.norm(dim=1)

    def merged_flat(self, coefficients: Sequence[float] | torch.Tensor) -> torch.Tensor:
        """theta(c) = base + sum_t c_t v_t over the mergeable entries, flattened."""
        c = torch.as_tensor(coefficients, dtype=self.flat_vectors.dtype)
        if c.shape != (self.n_tasks,):
            raise ValueError(f"coefficients must have shape ({self.n_tasks},), got {tuple(c.shape)}")
        if not torch.isfinite(c).all():
            raise ValueError(f"coefficients must be finite, got {c.tolist()}")
        return torch.addmv(self.flat_base, self.flat_vectors.T, c)

    def merged_state_dict(self, coefficients: Sequence[float] | torch.Tensor) -> StateDict:
        """The full merged state dict for coefficient vector c (non-float entries from the base)."""
        flat = self.merged_flat(coefficients)
        merged = dict(self.base)
        offset = 0
        for key in self.keys:
            tensor = self.base[key]
            merged[key] = flat[offset : offset + tensor.numel()].view(tensor.shape).to(tensor.dtype)
            offset += tensor.numel()
        return merged

    def load_into(
        self, module: torch.nn.Module, coefficients: Sequence[float] | torch.Tensor
    ) -> torch.nn.Module:
        """Copy theta(c) into a module in place (no new allocation per parameter) and return it."""
        flat = self.merged_flat(coefficients)
        state = module.state_dict()
        offset = 0
        with torch.no_grad():
            for key in self.keys:
                target = state[key]
                target.copy_(flat[offset : offset + target.numel()].view(target.shape))
                offset += target.numel()
        return module

    def vector(self, task: int) -> StateDict:
        """Task vector t as a state dict of the mergeable entries."""
        out, offset = {}, 0
        for key in self.keys:
            n = self.base[key].numel()
            out[key] = self.flat_vectors[task, offset : offset + n].view(self.base[key].shape)
            offset += n
        return out


def task_vectors(
    base: WeightsSource,
    finetuned: Sequence[WeightsSource] | dict[str, WeightsSource],
    *,
    dtype: torch.dtype = torch.float32,
) -> TaskVectors:
    """Load a base and fine-tuned models (modules, state dicts, files or local HF folders) as task vectors."""
    named = (
        dict(finetuned) if isinstance(finetuned, dict) else {f"task_{i}": m for i, m in enumerate(finetuned)}
    )
    if not named:
        raise ValueError("at least one fine-tuned model is needed")
    base_state = load_state_dict(base)
    keys = [k for k, v in base_state.items() if is_mergeable(v)]
    if not keys:
        raise CheckpointError("the base model has no floating-point tensors to merge")
    flat_base = torch.cat([base_state[k].reshape(-1).to(dtype) for k in keys])
    vectors = []
    for name, source in named.items():
        state = load_state_dict(source)
        check_compatible(base_state, state, name)
        vectors.append(torch.cat([state[k].reshape(-1).to(dtype) for k in keys]) - flat_base)
    return TaskVectors(base_state, keys, flat_base, torch.stack(vectors), list(named))
