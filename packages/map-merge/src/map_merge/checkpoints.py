"""Reading model weights from local files: torch state dicts, safetensors files, Hugging Face folders."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


class SafetensorsFile:
    """Reads single tensors from a .safetensors file with plain reads (no memory map), so that a
    streamed merge keeps only the tensors in hand in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("rb")
        try:
            (length,) = struct.unpack("<Q", self._file.read(8))
            header = json.loads(self._file.read(length))
        except (struct.error, json.JSONDecodeError, UnicodeDecodeError) as error:
            self._file.close()
            raise CheckpointError(f"cannot read safetensors header of {path}: {error}") from error
        if not isinstance(header, dict):
            self._file.close()
            raise CheckpointError(
                f"{path}: the safetensors header is a JSON {type(header).__name__}, not an object"
            )
        header.pop("__metadata__", None)
        for key, entry in header.items():
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("shape"), list)
                and isinstance(entry.get("data_offsets"), list)
                and len(entry["data_offsets"]) == 2
            ):
                self._file.close()
                raise CheckpointError(f"{path}: malformed safetensors header entry {key!r}")
        self.entries: dict[str, dict[str, Any]] = header
        self._data_start = 8 + length

    def meta(self, key: str) -> tuple[torch.dtype, tuple[int, ...]]:
        """dtype and shape of one tensor."""
        entry = self.entries[key]
        if entry["dtype"] not in DTYPES_BY_NAME:
            raise CheckpointError(f"{self.path}: unsupported dtype {entry['dtype']!r} of {key!r}")
        return DTYPES_BY_NAME[entry["dtype"]], tuple(entry["shape"])

    def get(self, key: str) -> torch.Tensor:
        """Read one tensor."""
        dtype, shape = self.meta(key)
        begin, end = self.entries[key]["data_offsets"]
        buffer = bytearray(end - begin)
        self._file.seek(self._data_start + begin)
        if self._file.readinto(buffer) != len(buffer):
            raise CheckpointError(f"{self.path} is truncated (tensor {key!r})")
        if not buffer:
            return torch.empty(shape, dtype=dtype)
        return torch.frombuffer(buffer, dtype=dtype).reshape(shape)

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class TensorReader:
    """Reads one tensor at a time from a weight source (file by file, tensor by tensor for safetensors)."""

    def __init__(self, source: WeightsSource) -> None:
        self._files: dict[str, SafetensorsFile] = {}
        self._tensors: StateDict = {}
        if isinstance(source, (str, Path)) and all(f.suffix == ".safetensors" for f in weight_files(source)):
            for file in weight_files(source):
                reader = SafetensorsFile(file)
                for key in reader.entries:
                    self._files[key] = reader
        else:
            self._tensors = load_state_dict(source)

    def keys(self) -> list[str]:
        """Tensor names, in file order."""
        return list(self._files) if self._files else list(self._tensors)

    def get(self, key: str) -> torch.Tensor:
        """Read one tensor."""
        return self._files[key].get(key) if self._files else self._tensors[key]

    def meta(self, key: str) -> tuple[torch.dtype, tuple[int, ...]]:
        """dtype and shape of one tensor, without reading its data where the format allows."""
        if self._files:
            return self._files[key].meta(key)
        tensor = self._tensors[key]
        return tensor.dtype, tuple(tensor.shape)

    def metas(self) -> dict[str, tuple[torch.dtype, tuple[int, ...]]]:
        """dtype and shape of every tensor, in file order."""
        return {key: self.meta(key) for key in self.keys()}

    def close(self) -> None:
        """Release open files."""
        for reader in set(self._files.values()):
            reader.close()

    def __enter__(self) -> TensorReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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

DTYPES_BY_NAME = {name: dtype for dtype, name in SAFETENSORS_DTYPES.items()}
