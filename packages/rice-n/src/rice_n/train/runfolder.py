"""The run-folder contract of ``rice-n train``: refuse, resume or overwrite a folder; clean it on resume.

A folder holds a run when it has the marker ``.rice-n-run.json`` of kind ``train`` (written first).
Into such a folder training is refused unless ``resume`` (continue it) or ``overwrite`` (a new run is
built in a sibling staging folder and swapped in once complete); a non-empty folder without the marker
is always refused, whatever the flags; a missing or empty folder is fine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rice_n._io import OutputError, check_owned_dir
from rice_n.train.store import CHECKPOINT_FILE, POLICY_FILE, POLICY_META, PolicyError

METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
CURVE_FILE = "learning_curve.png"
#: The checkpoint folder of a run of ``--engine rllib`` (see :mod:`rice_n.train.rllib_runner`).
RLLIB_CHECKPOINT = "rllib-checkpoint"
#: Files that mark a folder as a rice-n training run.
RUN_FILES = (CONFIG_FILE, METRICS_FILE, CHECKPOINT_FILE, POLICY_FILE, POLICY_META)


class RunFolderError(OutputError):
    """The run folder cannot be used as asked (it holds a run, or something else)."""


def check_run_folder(out: Path, resume: bool, overwrite: bool) -> bool:
    """Validate ``out`` for training without touching it; returns True when it holds a run (its marker)."""
    if resume and overwrite:
        raise RunFolderError("--resume and --overwrite exclude each other: continue the run or discard it")
    try:
        return check_owned_dir(
            out,
            "train",
            "rice-n training run",
            replace=overwrite or resume,
            flags="--resume to continue it or --overwrite to replace it",
        )
    except OutputError as exc:
        raise RunFolderError(str(exc)) from None


def read_saved_config(out: Path) -> dict[str, Any]:
    """The ``config`` object of ``out/config.json`` (PolicyError when missing, unreadable or foreign)."""
    path = out / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise PolicyError(f"{str(path)!r} is missing: cannot resume this run") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolicyError(f"{str(path)!r} is not valid JSON ({exc}): cannot resume") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise PolicyError(f"{str(path)!r} has no 'config' object: not a rice-n run, cannot resume")
    config: dict[str, Any] = data["config"]
    return config


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of ``metrics.jsonl``; a torn (unparseable) last line is dropped, an inner one is an error."""
    if not path.is_file():
        return []
    lines = [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
    rows: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break  # torn by a kill while writing: dropped
            raise PolicyError(f"{str(path)!r} line {i + 1} is not JSON: cannot resume") from None
        if not isinstance(row, dict):
            raise PolicyError(f"{str(path)!r} line {i + 1} is not a JSON object: cannot resume")
        rows.append(row)
    return rows


def remove_temp_files(out: Path) -> None:
    """Remove stale temp files of interrupted atomic writes (``.checkpoint.pt.*.tmp`` and the like)."""
    for name in (*RUN_FILES, CURVE_FILE):
        for tmp in out.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
