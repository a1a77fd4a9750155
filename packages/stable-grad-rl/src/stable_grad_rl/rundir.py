"""The run-folder contract: atomic writes, refusal of existing runs, and what ``--resume`` may load.

A run folder holds ``config.json``, ``metrics.jsonl``, ``layers.json``, ``checkpoint.pt`` and, once
finished, ``summary.json``. :func:`inspect_run` validates a folder and everything a resume would load
*without writing anything*; :func:`prepare_run` then applies ``--overwrite`` / ``--resume`` (remove the
old run, clean temp files of a killed run, drop a torn last metrics line).
"""

from __future__ import annotations

import json
import math
import os
import pickle
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

RUN_FILES = ("config.json", "metrics.jsonl", "layers.json", "checkpoint.pt", "summary.json")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename (mode per umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean_json(value: Any) -> Any:
    """Replace non-finite floats by ``None`` recursively (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


def atomic_write_json(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented strict JSON."""
    atomic_write_bytes(path, (json.dumps(clean_json(obj), indent=2, allow_nan=False) + "\n").encode())


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temp file beside ``path``, then rename (a kill leaves at most a temp file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_out_path(out: Path, flag: str = "--out") -> None:
    """Raise ``ValueError`` if ``out`` or a folder above it exists but is not a directory."""
    for candidate in (out, *out.parents):
        if candidate.exists():
            if not candidate.is_dir():
                where = "is" if candidate == out else f"lies under {candidate}, which is"
                raise ValueError(f"{flag} {out} {where} not a directory")
            return


def holds_run(out: Path) -> bool:
    """True if ``out`` holds (part of) a run of this package."""
    return any((out / name).exists() for name in RUN_FILES)


def read_json_file(path: Path, what: str) -> Any:
    """Parse ``path`` as JSON or raise a one-line ``ValueError``."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{what} {path} is unreadable or not JSON ({err.__class__.__name__})") from err


def load_checkpoint(path: Path, device: str = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; a truncated, pickled or foreign file is a ``ValueError``."""
    try:
        state = torch.load(path, weights_only=True, map_location=device)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else err.__class__.__name__
        raise ValueError(
            f"checkpoint {path} cannot be loaded safely (truncated, not a torch file, or pickled objects "
            f"that weights_only=True refuses): {first[:160]}"
        ) from err
    if not isinstance(state, dict) or "iteration" not in state:
        raise ValueError(f"checkpoint {path} is not a stable-grad-rl checkpoint (no 'iteration' entry)")
    return state


def read_metrics(path: Path) -> list[str]:
    """The parseable lines of ``metrics.jsonl``: a torn (unparseable) last line is dropped, another is an error."""
    if not path.exists():
        return []
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "iteration" not in record:
                raise ValueError("no iteration")
        except ValueError as err:
            if i == len(lines) - 1:
                return lines[:-1]
            raise ValueError(f"{path} line {i + 1} is corrupt; cannot resume from it") from err
    return lines


@dataclass
class RunState:
    """What :func:`inspect_run` found: a finished summary, or a checkpoint and the metrics to keep."""

    summary: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    metrics: list[str] | None = None


def inspect_run(
    out: Path, config: dict[str, Any], *, resume: bool, overwrite: bool, device: str = "cpu"
) -> RunState:
    """Validate run folder ``out`` for a run of ``config`` (its JSON form); write nothing.

    An empty or missing folder is fine. A folder holding a run is refused unless ``resume`` (its
    config.json must hold the same config; its checkpoint is loaded and checked here) or ``overwrite``.
    A non-empty folder that holds no run of this package is always refused.
    """
    check_out_path(out)
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    if not out.exists() or not any(out.iterdir()):
        return RunState()
    if not holds_run(out):
        raise ValueError(f"--out {out} is not empty and holds no stable-grad-rl run; refusing to write there")
    if overwrite:
        return RunState()
    if not resume:
        raise ValueError(f"--out {out} already holds a run; pass --resume to continue it or --overwrite")
    config_path = out / "config.json"
    if not config_path.exists():
        return RunState()  # killed before the config was written: nothing to continue
    saved = read_json_file(config_path, "run config")
    if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
        raise ValueError(f"{config_path} holds no 'config' object; not a stable-grad-rl run config")
    if saved["config"] != clean_json(config):
        raise ValueError(f"--resume: the config in {config_path} differs from the requested one")
    if (out / "summary.json").exists():
        return RunState(summary=read_json_file(out / "summary.json", "run summary"))
    ckpt = out / "checkpoint.pt"
    if not ckpt.exists():
        return RunState()
    state = load_checkpoint(ckpt, device)
    iteration = int(state["iteration"])
    kept = [ln for ln in read_metrics(out / "metrics.jsonl") if json.loads(ln)["iteration"] <= iteration]
    return RunState(checkpoint=state, metrics=kept)


def prepare_run(out: Path, state: RunState, *, overwrite: bool) -> None:
    """Create ``out`` and make it ready: remove an old run (``overwrite``), temp files and unkept metrics."""
    out.mkdir(parents=True, exist_ok=True)
    for tmp in out.glob(".*"):
        if tmp.is_file() and any(tmp.name.startswith(f".{name}.") for name in RUN_FILES):
            tmp.unlink(missing_ok=True)
    if overwrite or state.checkpoint is None:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    if state.checkpoint is not None and state.metrics is not None:
        atomic_write_bytes(out / "metrics.jsonl", "".join(ln + "\n" for ln in state.metrics).encode())
