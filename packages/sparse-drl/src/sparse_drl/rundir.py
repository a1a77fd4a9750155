"""The run-folder contract: what a sparse-drl run folder holds, how it is checked, cleaned and loaded.

A run folder holds ``config.json`` (``{"package": "sparse-drl", "config": {...}, "version": ...}``),
``metrics.jsonl``, ``checkpoint.pt`` and, when finished, ``summary.json``. Everything here only reads,
except ``clean_stale`` and ``discard_run``, which the runner calls after all validation has passed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from sparse_drl.io import atomic_write_text, read_jsonl

__all__ = [
    "PACKAGE",
    "RUN_FILES",
    "check_out_path",
    "clean_stale",
    "discard_run",
    "folder_kind",
    "load_checkpoint",
    "read_run_config",
    "repair_metrics",
]

PACKAGE = "sparse-drl"
RUN_FILES = ("config.json", "metrics.jsonl", "checkpoint.pt", "summary.json")
CHECKPOINT_KEYS = ("config", "networks", "optimizers", "extra", "buffer", "counters")


def _stale(out: Path) -> list[Path]:
    """Temporary files left by an interrupted atomic write of one of the run files."""
    return [p for name in RUN_FILES for p in out.glob(f".{name}.*.tmp")]


def check_out_path(out: Path, what: str = "--out") -> None:
    """Raise ``ValueError`` when ``out`` cannot be a folder: it is a file, or lies under a regular file."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{what} {str(out)!r} exists and is not a folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{what} {str(out)!r} lies under {str(parent)!r}, which is not a folder")
            break


def read_run_config(out: Path) -> dict[str, Any] | None:
    """The ``config`` of ``out/config.json`` (None when absent); ``ValueError`` when it is not ours."""
    path = out / "config.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ValueError(f"{path} holds no sparse-drl config (expected an object with a 'config' object)")
    if data.get("package", PACKAGE) != PACKAGE:
        raise ValueError(f"{path} belongs to {data.get('package')!r}, not to {PACKAGE}")
    return data["config"]


def folder_kind(out: Path) -> str:
    """``"missing"``, ``"empty"``, ``"run"`` (holds this package's run files) or ``"other"``."""
    if not out.exists():
        return "missing"
    entries = list(out.iterdir())
    if not entries:
        return "empty"
    if any((out / name).exists() for name in RUN_FILES) or _stale(out):
        return "run"
    return "other"


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a sparse-drl checkpoint with ``weights_only=True``; ``ValueError`` (one line) when it is
    truncated, pickled with arbitrary objects, or not a sparse-drl checkpoint."""
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # any failure to read is the same user error
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(
            f"{path} is not a readable sparse-drl checkpoint ({type(err).__name__}: {first[:120]})"
        ) from None
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing or not isinstance(state.get("config"), dict):
        raise ValueError(f"{path} is not a sparse-drl checkpoint (missing {missing or ['config']})")
    return state


def clean_stale(out: Path) -> None:
    """Remove temporary files of interrupted atomic writes."""
    for path in _stale(out):
        path.unlink(missing_ok=True)


def repair_metrics(out: Path, last_step: int | None) -> list[dict[str, Any]]:
    """Keep the complete records of ``out/metrics.jsonl`` (a torn last line is dropped) up to
    ``last_step`` (all when None), rewrite the file atomically and return the records."""
    path = out / "metrics.jsonl"
    records = [r for r in read_jsonl(path) if last_step is None or r.get("step", 0) <= last_step]
    if path.exists():
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))
    return records


def discard_run(out: Path) -> None:
    """Delete this package's run files (and stale temporaries) from ``out``."""
    clean_stale(out)
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
