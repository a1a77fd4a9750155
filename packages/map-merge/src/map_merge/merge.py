"""Merging: theta(c) = base + sum_t c_t v_t, the single-point baselines (TA, TIES, DARE), streamed writing."""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Sequence
from pathlib import Path

import torch

from map_merge.checkpoints import SAFETENSORS_DTYPES, TensorReader, WeightsSource
from map_merge.task_vectors import (
    TaskVectors,
    check_coefficients,
    check_like_base,
    is_mergeable,
    merge_into,
)

TRIMS = ("model", "tensor")
RESCALES = ("inverse", "l1", "none")


def task_arithmetic(tv: TaskVectors, scale: float = 0.3) -> torch.Tensor:
    """Task arithmetic (Ilharco et al.): every task vector scaled by the same ``scale``; flat weights."""
    return tv.merged_flat(torch.full((tv.n_tasks,), float(scale)))


def _weights(tv: TaskVectors, weights: Sequence[float] | None) -> torch.Tensor:
    return check_coefficients([1.0] * tv.n_tasks if weights is None else weights, tv.n_tasks, "weights")


def _keep_top(deltas: torch.Tensor, density: float) -> torch.Tensor:
    """Each row of (T, n) with all but its max(1, int(density * n)) largest magnitudes zeroed (exactly
    that many; mergekit 0.1.5's count). Equal magnitudes at the threshold (common in float32 deltas of
    large tensors) are resolved by the order of a descending sort, as mergekit does."""
    if density >= 1.0:
        return deltas.clone()
    k = max(1, int(density * deltas.shape[1]))
    kept = torch.zeros_like(deltas)
    for row in range(deltas.shape[0]):
        index = deltas[row].abs().argsort(descending=True)[:k]
        kept[row, index] = deltas[row, index]
    return kept


def ties(
    tv: TaskVectors,
    density: float = 0.2,
    scale: float = 1.0,
    *,
    weights: Sequence[float] | None = None,
    trim: str = "model",
    normalize: bool = True,
) -> torch.Tensor:
    """TIES-merging (Yadav et al.): trim, elect signs, disjoint (weighted) mean; flat merged weights.

    Trim keeps exactly max(1, int(density * n)) largest-magnitude entries of each task vector: over the whole
    model (``trim="model"``, the paper's choice) or per tensor (``trim="tensor"``, mergekit's). Each
    trimmed vector is multiplied by its task weight; the elected sign of an entry is the sign of the
    summed weighted values (an exact zero sum elects +); entries agreeing with it are summed and, with
    ``normalize``, divided by the sum of the agreeing tasks' weights (mergekit's ``normalize: true``).
    ``trim="tensor"`` with these conventions equals mergekit's ``ties`` merge.
    """
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    if trim not in TRIMS:
        raise ValueError(f"trim must be one of {TRIMS}, got {trim!r}")
    w = _weights(tv, weights).to(tv.flat_vectors.dtype)[:, None]
    if trim == "model":
        trimmed = _keep_top(tv.flat_vectors, density)
    else:
        trimmed = torch.cat([_keep_top(tv.flat_vectors[:, part], density) for part in tv.slices], dim=1)
    weighted = trimmed.mul_(w)
    elected = torch.where(weighted.sum(dim=0) >= 0, 1.0, -1.0)
    agree = torch.sign(weighted) == elected
    merged = (weighted * agree).sum(dim=0)
    if normalize:
        divisor = (w * agree).sum(dim=0)
        merged /= torch.where(divisor == 0, 1.0, divisor)
    return tv.flat_base + scale * merged


def dare(
    tv: TaskVectors,
    drop_rate: float = 0.9,
    scale: float = 1.0,
    seed: int = 0,
    *,
    weights: Sequence[float] | None = None,
    rescale: str = "inverse",
) -> torch.Tensor:
    """DARE (Yu et al.): drop each delta with probability ``drop_rate``, rescale the rest, add them weighted.

    ``rescale``: ``"inverse"`` multiplies the kept deltas by 1/(1 - p) (the DARE paper; unbiased in
    expectation); ``"l1"`` rescales each tensor so its masked L1 norm equals the unmasked one
    (mergekit's ``dare_linear`` default, data-dependent); ``"none"`` keeps the plain drop (mergekit's
    ``rescale: false``). Result: base + scale * sum_t w_t * rescaled_t.
    """
    if not 0.0 <= drop_rate < 1.0:
        raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate}")
    if rescale not in RESCALES:
        raise ValueError(f"rescale must be one of {RESCALES}, got {rescale!r}")
    w = _weights(tv, weights).to(tv.flat_vectors.dtype)
    generator = torch.Generator().manual_seed(seed)
    keep = torch.rand(tv.flat_vectors.shape, generator=generator) >= drop_rate
    dropped = tv.flat_vectors * keep
    if rescale == "inverse":
        dropped /= 1.0 - drop_rate
    elif rescale == "l1":
        for part in tv.slices:
            before = tv.flat_vectors[:, part].abs().sum(dim=1, keepdim=True)
            after = dropped[:, part].abs().sum(dim=1, keepdim=True)
            ok = (before >= 1e-7) & (after >= 1e-7)
            dropped[:, part] *= torch.where(ok, before / after.clamp_min(1e-7), 1.0)
    return tv.flat_base + scale * (w @ dropped)


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
    out = Path(out)
    folder_output = out.suffix != ".safetensors"
    target = out / "model.safetensors" if folder_output else out
    readers = [TensorReader(base)]
    try:
        readers += [TensorReader(m) for m in finetuned]
        c = check_coefficients(coefficients, len(finetuned))
        base_meta = readers[0].metas()
        for index, reader in enumerate(readers[1:]):
            check_like_base(base_meta, reader.metas(), f"fine-tuned model {index}")
        header: dict[str, object] = {"__metadata__": {"format": "pt", **(metadata or {})}}
        offset = 0
        for key, (dtype, shape) in base_meta.items():
            size = torch.tensor([], dtype=dtype).element_size() * int(torch.Size(shape).numel())
            header[key] = {
                "dtype": SAFETENSORS_DTYPES[dtype],
                "shape": list(shape),
                "data_offsets": [offset, offset + size],
            }
            offset += size
        header_bytes = json.dumps(header, separators=(",", ":")).encode()
        header_bytes += b" " * (-len(header_bytes) % 8)
        _make_parent(target)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as file:
                file.write(struct.pack("<Q", len(header_bytes)))
                file.write(header_bytes)
                for key in base_meta:
                    file.write(_tensor_bytes(_merge_tensor(readers, key, c)))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        for reader in readers:
            reader.close()
    if folder_output:
        _write_folder_extras(base, out, c.tolist(), metadata or {})
    return target


def _make_parent(target: Path) -> None:
    """Create the output folder; a path under a regular file is a ValueError, not a traceback."""
    for parent in [target.parent, *target.parent.parents]:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"cannot write {target}: {parent} is a file, not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)


def _merge_tensor(readers: list[TensorReader], key: str, c: torch.Tensor) -> torch.Tensor:
    """base + sum_t c_t (theta_t - base) for one tensor, in float32 through the shared primitive."""
    base = readers[0].get(key)
    if not is_mergeable(base.dtype):
        return base
    flat = base.reshape(-1).to(torch.float32)
    deltas = torch.stack([reader.get(key).reshape(-1).to(torch.float32) for reader in readers[1:]])
    deltas -= flat
    return merge_into(torch.empty_like(flat), flat, deltas, c).view(base.shape).to(base.dtype)


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
