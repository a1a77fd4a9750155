"""Merging: theta(c) = base + sum_t c_t v_t, the single-point baselines (TA, TIES, DARE), streamed writing."""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from map_merge.checkpoints import SAFETENSORS_DTYPES, TensorReader, WeightsSource
from map_merge.outdir import (
    MARKER,
    check_path,
    first_missing,
    read_marker,
    remove_stale_temps,
    temp_path,
    write_marker,
)
from map_merge.selection import (
    Chunks,
    Thresholds,
    chunk_thresholds,
    keep_rule,
    top_k_thresholds,
)
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


_BLOCK = 1 << 15  # columns per step of the TIES arithmetic: its temporaries stay in the CPU cache

# The kept entries: |x| >= bounds (T, 1) plus, per row, the positions of some entries equal to the
# threshold (``selection.keep_rule``); bounds None: every entry.
Rule = tuple[torch.Tensor | None, dict[int, np.ndarray]]


def _model_trim(chunks: Chunks, density: float, n: int, n_rows: int) -> Thresholds | None:
    """Model-wide thresholds keeping exactly max(1, int(density * n)) entries per row (None: keep all);
    equal magnitudes at a threshold are kept lowest position first."""
    if density >= 1.0:
        return None
    return top_k_thresholds(chunks, max(1, int(density * n)), n_rows)


def _model_rule(deltas: torch.Tensor, found: Thresholds, index: int, left: list[int]) -> Rule:
    """The kept entries of chunk ``index`` under model-wide thresholds (``left`` advances)."""
    return keep_rule(deltas, found, index, left)


def _tensor_rule(deltas: torch.Tensor, density: float) -> Rule:
    """Each row's max(1, int(density * n)) largest magnitudes in one tensor, found in linear time; equal
    magnitudes straddling the threshold are kept lowest position first (a stable descending sort's
    order)."""
    if density >= 1.0:
        return None, {}
    found = chunk_thresholds(deltas, max(1, int(density * deltas.shape[1])))
    return keep_rule(deltas, found, 0, list(found.take_equal))


def _ties_combine(deltas: torch.Tensor, w: torch.Tensor, rule: Rule, normalize: bool) -> torch.Tensor:
    """TIES on one tensor's deltas (T, n): keep the trimmed entries, weight, elect signs, disjoint mean.

    In column blocks whose temporaries stay in the CPU cache, numpy ufuncs writing into buffers reused
    from block to block (no allocation per step); rows are added one after another, as torch's
    ``sum(dim=0)`` does, and entries are only multiplied by 1, 0 or an exact sign, so the result equals
    the textbook steps bit for bit.
    """
    bounds, extra = rule
    d_all = deltas.numpy()
    n_rows, n = d_all.shape
    width = min(_BLOCK, n)
    w_np = w.numpy().reshape(n_rows, 1)
    bound = None if bounds is None else bounds.numpy().reshape(n_rows, 1)
    merged = torch.empty(n, dtype=deltas.dtype)
    out_all = merged.numpy()
    kept_buf = np.empty((n_rows, width), dtype=d_all.dtype)
    flags_buf = np.empty((n_rows, width), dtype=bool)
    elected_buf = np.empty(width, dtype=d_all.dtype)
    divisor_buf = np.empty(width, dtype=d_all.dtype)
    zero_buf = np.empty(width, dtype=bool)
    for start in range(0, n, width):
        stop = min(start + width, n)
        d, m = d_all[:, start:stop], stop - start
        kept, flags, elected = kept_buf[:, :m], flags_buf[:, :m], elected_buf[:m]
        if bound is not None:  # kept where |d| >= bound or at an extra position, else times 0
            np.greater_equal(np.abs(d, out=kept), bound, out=flags)
            for row, positions in extra.items():
                first, last = np.searchsorted(positions, (start, stop))
                flags[row, positions[first:last] - start] = True
            np.multiply(d, w_np, out=kept)  # weighted deltas
            np.multiply(kept, flags, out=kept)
        else:
            np.multiply(d, w_np, out=kept)
        _row_sum(kept, elected)  # the summed weighted values; their sign is elected (0 elects +)
        torch.sign(torch.from_numpy(elected), out=torch.from_numpy(elected))  # torch's sign, relu: SIMD
        elected += 1.0
        np.minimum(elected, 1.0, out=elected)
        elected *= 2.0
        elected -= 1.0  # +1 or -1
        np.multiply(kept, elected, out=kept)
        kept_t = torch.from_numpy(kept)
        kept_t.relu_()  # |weighted| where its sign is the elected one, else 0
        part = out_all[start:stop]
        _row_sum(kept, part)
        part *= elected
        if normalize:
            kept_t.sign_()
            kept *= w_np
            divisor = divisor_buf[:m]
            _row_sum(kept, divisor)
            np.equal(divisor, 0.0, out=zero_buf[:m])
            divisor += zero_buf[:m]  # a zero divisor becomes 1
            part /= divisor
    return merged


def _row_sum(rows: np.ndarray, out: np.ndarray) -> None:
    """out = ((rows[0] + rows[1]) + rows[2]) + ...: the order of torch's ``sum(dim=0)``."""
    if rows.shape[0] == 1:
        np.copyto(out, rows[0])
        return
    np.add(rows[0], rows[1], out=out)
    for row in rows[2:]:
        out += row


def _ties_rule(
    deltas: torch.Tensor,
    density: float,
    trim: str,
    model_trim: Thresholds | None,
    index: int,
    left: list[int],
) -> Rule:
    """The kept entries of one tensor: per tensor, or by the model-wide thresholds (``left`` advances)."""
    if trim == "tensor":
        return _tensor_rule(deltas, density)
    return (None, {}) if model_trim is None else _model_rule(deltas, model_trim, index, left)


def _check_ties(density: float, trim: str) -> None:
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    if trim not in TRIMS:
        raise ValueError(f"trim must be one of {TRIMS}, got {trim!r}")


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
    ``trim="tensor"`` with these conventions equals mergekit's ``ties`` merge. The trim threshold is found
    in linear time (``selection``: no sort) and the merge runs tensor by tensor. Equal magnitudes that
    straddle the threshold are kept lowest position first (a stable descending sort's order; mergekit and
    map-merge before 0.1.0 took torch's unstable ``argsort`` order, which is unspecified).
    """
    _check_ties(density, trim)
    w = _weights(tv, weights).to(tv.flat_vectors.dtype)[:, None]
    out = torch.empty_like(tv.flat_base)
    model_trim = None
    if trim == "model":
        chunks = [tv.flat_vectors[:, part] for part in tv.slices]
        model_trim = _model_trim(lambda: chunks, density, tv.flat_vectors.shape[1], tv.n_tasks)
    left = [] if model_trim is None else list(model_trim.take_equal)
    for index, part in enumerate(tv.slices):
        deltas = tv.flat_vectors[:, part]
        rule = _ties_rule(deltas, density, trim, model_trim, index, left)
        merged = _ties_combine(deltas, w, rule, normalize).mul_(scale)  # in place: as scale * merged
        torch.add(tv.flat_base[part], merged, out=out[part])
    return out


def _mt19937(seed: int) -> np.random.MT19937:
    """numpy's MT19937 in the state of ``torch.Generator().manual_seed(seed)``: it yields the same 32-bit
    numbers (torch seeds its MT19937 with the low 32 bits of the seed, the reference initialisation)."""
    torch.Generator().manual_seed(seed)  # the seeds torch accepts, and its error for others
    key = np.empty(624, dtype=np.uint32)
    x = seed % (1 << 32)
    for index in range(624):
        key[index] = x
        x = (1812433253 * (x ^ (x >> 30)) + index + 1) & 0xFFFFFFFF
    generator = np.random.MT19937(0)
    generator.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}
    return generator


def _dare_generators(seed: int, n_tasks: int, n: int) -> list[np.random.MT19937]:
    """One generator per task, task t's positioned at draw t * n: together they yield the numbers of one
    ``torch.rand((n_tasks, n), generator=torch.Generator().manual_seed(seed))`` row by row, tensor by
    tensor (torch draws one 32-bit number per float32 and keeps its low 24 bits)."""
    generators = []
    for task in range(n_tasks):
        generator = _mt19937(seed)
        generator.random_raw(task * n, output=False)
        generators.append(generator)
    return generators


_DARE_BLOCK = 1 << 16  # random numbers drawn per task and step


def _dare_combine(
    deltas: torch.Tensor,
    w: torch.Tensor,
    generators: list[np.random.MT19937],
    drop_rate: float,
    rescale: str,
) -> torch.Tensor:
    """DARE on one tensor's deltas (T, n): drop, rescale, weighted sum (the generators advance).

    A delta is kept where its number of ``torch.rand`` is >= ``drop_rate`` (in float32): where the low 24
    bits of its 32-bit draw, an integer m with m / 2**24 the float, reach ceil(float32(p) * 2**24)."""
    least = math.ceil(float(np.float32(drop_rate)) * (1 << 24))
    d_all = deltas.numpy()
    dropped = torch.empty_like(deltas)
    out_all = dropped.numpy()
    n = d_all.shape[1]
    width = min(_DARE_BLOCK, n)
    keep = np.empty(width, dtype=bool)
    for start in range(0, n, width):
        stop = min(start + width, n)
        for row, generator in enumerate(generators):
            draws = generator.random_raw(stop - start)
            np.bitwise_and(draws, 0xFFFFFF, out=draws)
            np.greater_equal(draws, least, out=keep[: stop - start])
            np.multiply(d_all[row, start:stop], keep[: stop - start], out=out_all[row, start:stop])
    if rescale == "inverse":
        dropped /= 1.0 - drop_rate
    elif rescale == "l1":
        before = deltas.abs().sum(dim=1, keepdim=True)
        after = dropped.abs().sum(dim=1, keepdim=True)
        ok = (before >= 1e-7) & (after >= 1e-7)
        dropped *= torch.where(ok, before / after.clamp_min(1e-7), 1.0)
    return w @ dropped


def _check_dare(drop_rate: float, rescale: str) -> None:
    if not 0.0 <= drop_rate < 1.0:
        raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate}")
    if rescale not in RESCALES:
        raise ValueError(f"rescale must be one of {RESCALES}, got {rescale!r}")


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
    ``rescale: false``). Result: base + scale * sum_t w_t * rescaled_t. The drop mask is
    ``torch.rand((T, P), generator=seeded) >= drop_rate``, drawn tensor by tensor.
    """
    _check_dare(drop_rate, rescale)
    w = _weights(tv, weights).to(tv.flat_vectors.dtype)
    generators = _dare_generators(seed, tv.n_tasks, tv.flat_vectors.shape[1])
    out = torch.empty_like(tv.flat_base)
    for part in tv.slices:
        merged = _dare_combine(tv.flat_vectors[:, part], w, generators, drop_rate, rescale)
        torch.add(tv.flat_base[part], scale * merged, out=out[part])
    return out


def _tensor_bytes(tensor: torch.Tensor) -> memoryview:
    return tensor.contiguous().reshape(-1).view(torch.uint8).numpy().data


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
    model card ``README.md`` and, for Hugging Face base folders, the base's config files. A folder must
    be new, empty or one this package wrote (marker ``.map-merge-run.json``). Non-finite weights in any
    input are refused (ValueError naming the model and tensor) and nothing is written.
    """
    c = check_coefficients(coefficients, len(finetuned))

    def combine(source: _Deltas) -> Combine:
        return lambda key, flat, deltas: merge_into(torch.empty_like(flat), flat, deltas, c)

    card = f"theta(c) = base + sum_t c_t (theta_t - base) with c = {c.tolist()}"
    return _stream_to(base, finetuned, out, combine, card, metadata)


def stream_ties(
    base: WeightsSource,
    finetuned: Sequence[WeightsSource],
    out: str | Path,
    density: float = 0.2,
    scale: float = 1.0,
    *,
    weights: Sequence[float] | None = None,
    trim: str = "model",
    normalize: bool = True,
    metadata: dict[str, str] | None = None,
) -> Path:
    """``ties`` streamed from weight files to a safetensors file or folder (as ``stream_merge``), tensor by
    tensor: memory near one tensor per input model. Equals ``ties(task_vectors(base, finetuned), ...)``.
    ``trim="tensor"`` (mergekit's) reads each input once; ``trim="model"`` reads them three times (two
    passes find the model-wide thresholds in linear time, the third merges)."""
    _check_ties(density, trim)
    w = check_coefficients([1.0] * len(finetuned) if weights is None else weights, len(finetuned), "weights")

    def combine(source: _Deltas) -> Combine:
        model_trim = None
        if trim == "model":
            model_trim = _model_trim(source.chunks, density, source.size, len(finetuned))
        left = [] if model_trim is None else list(model_trim.take_equal)
        order = {key: index for index, key in enumerate(source.keys)}

        def one(key: str, flat: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
            rule = _ties_rule(deltas, density, trim, model_trim, order[key], left)
            return _ties_combine(deltas, w[:, None], rule, normalize).mul_(scale).add_(flat)

        return one

    card = f"TIES: density {density}, scale {scale}, weights {w.tolist()}, trim {trim}, normalize {normalize}"
    return _stream_to(base, finetuned, out, combine, card, metadata)


def stream_dare(
    base: WeightsSource,
    finetuned: Sequence[WeightsSource],
    out: str | Path,
    drop_rate: float = 0.9,
    scale: float = 1.0,
    seed: int = 0,
    *,
    weights: Sequence[float] | None = None,
    rescale: str = "inverse",
    metadata: dict[str, str] | None = None,
) -> Path:
    """``dare`` streamed from weight files to a safetensors file or folder (as ``stream_merge``), tensor by
    tensor; equals ``dare(task_vectors(base, finetuned), ...)`` when the base lists its tensors in the same
    order (the random numbers are drawn in that order)."""
    _check_dare(drop_rate, rescale)
    w = check_coefficients([1.0] * len(finetuned) if weights is None else weights, len(finetuned), "weights")

    def combine(source: _Deltas) -> Combine:
        generators = _dare_generators(seed, len(finetuned), source.size)
        return lambda key, flat, deltas: (
            flat + scale * _dare_combine(deltas, w, generators, drop_rate, rescale)
        )

    card = f"DARE: drop rate {drop_rate}, scale {scale}, seed {seed}, weights {w.tolist()}, rescale {rescale}"
    return _stream_to(base, finetuned, out, combine, card, metadata)


Combine = Callable[[str, torch.Tensor, torch.Tensor], torch.Tensor]


class _Deltas:
    """The mergeable tensors of open readers: each one's flat float32 base and task deltas (T, n)."""

    def __init__(
        self, readers: list[TensorReader], metas: dict[str, tuple[torch.dtype, tuple[int, ...]]]
    ) -> None:
        self.readers = readers
        self.keys = [key for key, (dtype, _) in metas.items() if is_mergeable(dtype)]
        self.size = sum(int(torch.Size(metas[key][1]).numel()) for key in self.keys)

    def get(self, key: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(flat base (n,), deltas (T, n)) of one tensor, in float32."""
        flat = self.readers[0].get(key).reshape(-1).to(torch.float32)
        deltas = torch.stack([reader.get(key).reshape(-1).to(torch.float32) for reader in self.readers[1:]])
        return flat, deltas.sub_(flat)

    def chunks(self) -> Iterator[torch.Tensor]:
        """Every mergeable tensor's deltas (T, n), in order (a pass over the inputs)."""
        for key in self.keys:
            yield self.get(key)[1]


def _stream_to(
    base: WeightsSource,
    finetuned: Sequence[WeightsSource],
    out: str | Path,
    combine: Callable[[_Deltas], Combine],
    card: str,
    metadata: dict[str, str] | None,
) -> Path:
    """Write a merge to ``out`` (a .safetensors file, or a folder with a model card): nothing is left
    behind (not even a folder made for it) when the inputs are refused."""
    out = Path(out)
    folder_output = out.suffix != ".safetensors"
    target = out / "model.safetensors" if folder_output else out
    if folder_output:
        _check_own_folder(out)
    made = first_missing(target.parent)
    try:
        _stream(base, finetuned, target, combine, metadata, folder_output)
        if folder_output:
            _write_folder_extras(base, target.parent, card, metadata or {})
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise
    return target


def _check_own_folder(out: Path) -> None:
    """A merge folder must be absent, empty or hold this package's marker of a merge or a pick."""
    check_path(out)
    if out.is_dir() and any(out.iterdir()):
        marker = read_marker(out)
        if marker is None or marker.get("kind") not in ("merge", "pick"):
            raise ValueError(
                f"{out} is not empty and holds no map-merge merge (no {MARKER}); choose a new or empty folder"
            )


def _stream(
    base: WeightsSource,
    finetuned: Sequence[WeightsSource],
    target: Path,
    combine: Callable[[_Deltas], Combine],
    metadata: dict[str, str] | None,
    folder_output: bool,
) -> None:
    """Inputs checked, then the merge written tensor by tensor to a temp file renamed into ``target``."""
    readers = [TensorReader(base)]
    try:
        readers += [TensorReader(m) for m in finetuned]
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
        source = _Deltas(readers, base_meta)
        merge_one = combine(source)
        _make_parent(target)
        if folder_output:
            if read_marker(target.parent) is None:
                write_marker(target.parent, "merge")
            remove_stale_temps(target.parent)
        tmp = temp_path(target)
        try:
            with tmp.open("wb") as file:
                file.write(struct.pack("<Q", len(header_bytes)))
                file.write(header_bytes)
                for key, (dtype, shape) in base_meta.items():
                    if not is_mergeable(dtype):
                        file.write(_tensor_bytes(readers[0].get(key)))
                        continue
                    flat, deltas = source.get(key)
                    merged = merge_one(key, flat, deltas)
                    if not math.isfinite(float(merged.mul(0.0).sum())):  # NaN/inf inputs reach the result
                        _check_finite(readers, key, flat, deltas)
                        raise ValueError(f"the merged tensor {key!r} overflows (coefficients too large)")
                    file.write(_tensor_bytes(merged.view(shape).to(dtype)))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        for reader in readers:
            reader.close()


def _check_finite(readers: list[TensorReader], key: str, flat: torch.Tensor, deltas: torch.Tensor) -> None:
    """ValueError naming the first input whose tensor ``key`` holds NaN or infinity (if any does)."""
    if bool(torch.isfinite(flat).all()) and bool(torch.isfinite(deltas).all()):
        return
    names = ["the base model"] + [f"fine-tuned model {i}" for i in range(len(readers) - 1)]
    for name, reader in zip(names, readers, strict=True):
        if not bool(torch.isfinite(reader.get(key)).all()):
            raise ValueError(f"{name}: tensor {key!r} holds NaN or infinite weights")


def _make_parent(target: Path) -> None:
    """Create the output folder; a path under a regular file is a ValueError, not a traceback."""
    for parent in [target.parent, *target.parent.parents]:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"cannot write {target}: {parent} is a file, not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)


def _write_folder_extras(base: WeightsSource, out: Path, card: str, metadata: dict[str, str]) -> None:
    """The base's config files and a model card ``README.md`` (each written atomically)."""
    if isinstance(base, (str, Path)) and Path(base).is_dir():
        for name in ("config.json", "generation_config.json"):
            if (Path(base) / name).is_file():
                tmp = temp_path(out / name)
                shutil.copyfile(Path(base) / name, tmp)
                os.replace(tmp, out / name)
    lines = [
        "---",
        "library_name: transformers" if (out / "config.json").is_file() else "library_name: pytorch",
        "tags: [merge, map-merge, task-arithmetic]",
        "---",
        "",
        "# Merged model",
        "",
        f"Made with [map-merge](https://pypi.org/project/map-merge/): {card}.",
        "",
        f"- base: `{base if isinstance(base, (str, Path)) else 'in-memory state dict'}`",
        *(f"- {k}: {v}" for k, v in metadata.items()),
        "",
    ]
    readme = out / "README.md"
    tmp = temp_path(readme)
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, readme)
