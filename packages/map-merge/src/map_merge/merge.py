"""Merging: theta(c) = base + sum_t c_t v_t, the single-point baselines (TA, TIES, DARE), streamed writing."""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from map_merge.checkpoints import SAFETENSORS_DTYPES, CheckpointError, TensorReader, WeightsSource
from map_merge.task_vectors import TaskVectors


def task_arithmetic(tv: TaskVectors, scale: float = 0.3) -> torch.Tensor:
    """Task arithmetic (Ilharco et al.): every task vector scaled by the same ``scale``; flat weights."""
    return tv.merged_flat(torch.full((tv.n_tasks,), float(scale)))


def ties(tv: TaskVectors, density: float = 0.2, scale: float = 1.0) -> torch.Tensor:
    """TIES-merging (Yadav et al.): trim to the top ``density`` magnitudes, elect signs, disjoint mean."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    vectors = tv.flat_vectors
    k = max(1, round(density * vectors.shape[1]))
    threshold = vectors.abs().kthvalue(vectors.shape[1] - k + 1, dim=1, keepdim=True).values
    trimmed = torch.where(vectors.abs() >= threshold, vectors, torch.zeros_like(vectors))
    sign = torch.sign(trimmed.sum(dim=0))
    agree = (torch.sign(trimmed) == sign) & (trimmed != 0)
    count = agree.sum(dim=0).clamp_min(1)
    merged_vector = (trimmed * agree).sum(dim=0) / count
    return tv.flat_base + scale * merged_vector


def dare(tv: TaskVectors, drop_rate: float = 0.9, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    """DARE (Yu et al.): drop each delta with probability ``drop_rate``, rescale the rest, then add."""
    if not 0.0 <= drop_rate < 1.0:
        raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate}")
    generator = torch.Generator().manual_seed(seed)
    keep = torch.rand(tv.flat_vectors.shape, generator=generator) >= drop_rate
    rescaled = tv.flat_vectors * keep / (1.0 - drop_rate)
    return tv.flat_base + scale * rescaled.sum(dim=0)


def _tensor_bytes(tensor: torch.Tensor) -> memoryview:
    return memoryview(tensor.contiguous().reshape(-1).view(torch.uint8).numpy())


def stream_merge(
    base: WeightsSource,
    finetuned: Sequence[WeightsSource],
    coefficients: Sequence[float],
    out: str | Path,
    *,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write theta(c) to a safetensors file, one tensor at a time, atomically; return the file path.

    Peak memory stays near one tensor per input model (safetensors inputs are read lazily). If ``out``
    is a folder (or has no ``.safetensors`` suffix) the weights go to ``out/model.safetensors`` with a
    model card ``README.md`` and, for Hugging Face base folders, the base's config files.
    """
    coefficients = [float(c) for c in coefficients]
    if len(coefficients) != len(finetuned):
        raise ValueError(f"{len(finetuned)} fine-tuned models but {len(coefficients)} coefficients")
    out = Path(out)
    folder_output = out.suffix != ".safetensors"
    target = out / "model.safetensors" if folder_output else out
    target.parent.mkdir(parents=True, exist_ok=True)
    readers = [TensorReader(base), *(TensorReader(m) for m in finetuned)]
    try:
        keys = readers[0].keys()
        for index, reader in enumerate(readers[1:]):
            missing = [k for k in keys if k not in set(reader.keys())]
            if missing:
                raise CheckpointError(
                    f"fine-tuned model {index}: key {missing[0]!r} of the base model is missing"
                )
        header: dict[str, object] = {"__metadata__": {"format": "pt", **(metadata or {})}}
        offset = 0
        for key in keys:
            dtype, shape = readers[0].meta(key)
            size = torch.tensor([], dtype=dtype).element_size() * int(torch.Size(shape).numel())
            header[key] = {
                "dtype": SAFETENSORS_DTYPES[dtype],
                "shape": list(shape),
                "data_offsets": [offset, offset + size],
            }
            offset += size
        header_bytes = json.dumps(header, separators=(",", ":")).encode()
        header_bytes += b" " * (-len(header_bytes) % 8)
        handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(struct.pack("<Q", len(header_bytes)))
                file.write(header_bytes)
                for key in keys:
                    file.write(_tensor_bytes(_merge_tensor(readers, key, coefficients)))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    finally:
        for reader in readers:
            reader.close()
    if folder_output:
        _write_folder_extras(base, out, coefficients, metadata or {})
    return target


def _merge_tensor(readers: list[TensorReader], key: str, coefficients: list[float]) -> torch.Tensor:
    base = readers[0].get(key)
    if not base.is_floating_point():
        return base
    merged = base.to(torch.float32, copy=True)
    for coefficient, reader in zip(coefficients, readers[1:], strict=True):
        other = reader.get(key)
        if other.shape != base.shape:
            raise CheckpointError(f"shape of {key!r} is {tuple(other.shape)}, base has {tuple(base.shape)}")
        merged.add_(other.to(torch.float32), alpha=coefficient)
    merged.add_(base.to(torch.float32), alpha=-sum(coefficients))  # base + sum c_t (theta_t - base)
    return merged.to(base.dtype)


def _write_folder_extras(
    base: WeightsSource, out: Path, coefficients: list[float], metadata: dict[str, str]
) -> None:
    if isinstance(base, (str, Path)) and Path(base).is_dir():
        for name in ("config.json", "generation_config.json"):
            if (Path(base) / name).is_file():
                shutil.copyfile(Path(base) / name, out / name)
    lines = [
        "---",
        "library_name: transformers" if (out / "config.json").is_file() else "library_name: pytorch",
        "tags: [merge, map-merge, task-arithmetic]",
        "---",
        "",
        "# Merged model",
        "",
        "Made with [map-merge](https://pypi.org/project/map-merge/) as theta(c) = base + sum_t c_t (theta_t - base).",
        "",
        f"- base: `{base if isinstance(base, (str, Path)) else 'in-memory state dict'}`",
        f"- coefficients c: {coefficients}",
        *(f"- {k}: {v}" for k, v in metadata.items()),
        "",
    ]
    card = out / "README.md"
    tmp = out / ".README.md.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, card)
