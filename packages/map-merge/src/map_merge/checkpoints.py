"""Reading model weights from local files: torch state dicts, safetensors files, Hugging Face folders."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path

import torch

StateDict = dict[str, torch.Tensor]
WeightsSource = str | Path | Mapping[str, torch.Tensor] | torch.nn.Module

SAFETENSORS_INDEX = "model.safetensors.index.json"
SINGLE_FILES = ("model.safetensors", "pytorch_model.bin", "model.pt", "model.pth")


class CheckpointError(ValueError):
    """A weights file or folder is missing, malformed or does not match the base model."""


def weight_files(path: str | Path) -> list[Path]:
    """The weight files behind a path: a file, or a Hugging Face model folder (sharded or not)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CheckpointError(f"weights path does not exist: {path}")
    index = path / SAFETENSORS_INDEX
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise CheckpointError(f"malformed shard index {index}: {error}") from error
        return [path / shard for shard in shards]
    for name in SINGLE_FILES:
        if (path / name).is_file():
            return [path / name]
    raise CheckpointError(
        f"no weights in folder {path}: expected {SAFETENSORS_INDEX} or one of {SINGLE_FILES}"
    )


def load_state_dict(source: WeightsSource) -> StateDict:
    """Load a whole state dict from a module, a mapping, a weights file or a model folder (local only)."""
    if isinstance(source, torch.nn.Module):
        return {k: v.detach().clone() for k, v in source.state_dict().items()}
    if isinstance(source, Mapping):
        return dict(source)
    state: StateDict = {}
    for file in weight_files(source):
        state.update(_load_file(file))
    return state


def _load_file(file: Path) -> StateDict:
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(file))
        except Exception as error:  # safetensors raises its own error types
            raise CheckpointError(f"cannot read safetensors file {file}: {error}") from error
    try:
        loaded = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"cannot read torch weights file {file}: {error}") from error
    if isinstance(loaded, Mapping) and "state_dict" in loaded and isinstance(loaded["state_dict"], Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{file} does not hold a state dict of tensors")
    return dict(loaded)


class TensorReader:
    """Reads one tensor at a time from a set of weight sources (lazily for safetensors files)."""

    def __init__(self, source: WeightsSource) -> None:
        self._stack = ExitStack()
        self._handles: dict[str, object] = {}
        self._tensors: StateDict = {}
        if isinstance(source, (str, Path)) and all(f.suffix == ".safetensors" for f in weight_files(source)):
            from safetensors import safe_open

            for file in weight_files(source):
                handle = self._stack.enter_context(safe_open(str(file), framework="pt"))
                for key in handle.keys():  # noqa: SIM118 (safe_open has no __iter__)
                    self._handles[key] = handle
        else:
            self._tensors = load_state_dict(source)

    def keys(self) -> list[str]:
        """Tensor names, in file order."""
        return list(self._handles) if self._handles else list(self._tensors)

    def get(self, key: str) -> torch.Tensor:
        """Read one tensor."""
        if self._handles:
            return self._handles[key].get_tensor(key)  # type: ignore[attr-defined]
        return self._tensors[key]

    def meta(self, key: str) -> tuple[torch.dtype, tuple[int, ...]]:
        """dtype and shape of one tensor, without reading its data where the format allows."""
        if self._handles:
            view = self._handles[key].get_slice(key)  # type: ignore[attr-defined]
            dtype = {v: k for k, v in SAFETENSORS_DTYPES.items()}[view.get_dtype()]
            return dtype, tuple(view.get_shape())
        tensor = self._tensors[key]
        return tensor.dtype, tuple(tensor.shape)

    def close(self) -> None:
        """Release open files."""
        self._stack.close()

    def __enter__(self) -> TensorReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())


SAFETENSORS_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
