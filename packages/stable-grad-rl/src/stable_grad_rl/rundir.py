"""The run-folder contract: atomic writes, refusal of existing runs, and what ``--resume`` may load.

A run folder holds the ownership marker ``.stable-grad-rl-run.json`` (written first, see
:mod:`stable_grad_rl.folders`), ``config.json``, ``metrics.jsonl``, ``layers.json``, ``checkpoint.pt``
and, once finished, ``summary.json``. :func:`inspect_run` validates a folder and everything a resume
would load *without writing anything*; :func:`prepare_run` then applies ``--overwrite`` (a staging
folder beside ``out``, swapped in by :func:`finish_run` once complete) or ``--resume`` (clean temp
files of a killed run, drop a torn last metrics line).
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from stable_grad_rl.atomic import atomic_write_bytes, current_umask
from stable_grad_rl.atomic import atomic_write_json as atomic_write_json  # re-exported
from stable_grad_rl.atomic import clean_json as clean_json  # re-exported
from stable_grad_rl.folders import (
    check_folder,
    remove_leftovers,
    staging_path,
    swap_in,
    write_marker,
)

RUN_FILES = ("config.json", "metrics.jsonl", "layers.json", "checkpoint.pt", "summary.json")
#: The marker kind of a run folder.
RUN_KIND = "train"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temp file beside ``path``, then rename (a kill leaves at most a temp file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    replace: bool = False  # --overwrite of an earlier run: build beside it, swap in when complete


def inspect_run(
    out: Path, config: dict[str, Any], *, resume: bool, overwrite: bool, device: str = "cpu"
) -> RunState:
    """Validate run folder ``out`` for a run of ``config`` (its JSON form); write nothing.

    An empty or missing folder is fine. A folder holding a run (recognised by its marker only) is refused
    unless ``resume`` (its config.json must hold the same config; its checkpoint is loaded and checked
    here) or ``overwrite``. A non-empty folder without this package's run marker is always refused.
    """
    if not check_folder(out, RUN_KIND, resume=resume, overwrite=overwrite):
        return RunState()
    if overwrite:
        return RunState(replace=True)
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


def prepare_run(out: Path, state: RunState) -> Path:
    """Make the folder to train into and return it: ``out`` itself (marker first; temp files of a killed
    run and unkept metrics removed), or for ``state.replace`` a fresh staging folder beside ``out``."""
    if state.replace:
        remove_leftovers(out)
        work = staging_path(out)
        write_marker(work, RUN_KIND)
        return work
    write_marker(out, RUN_KIND)
    for tmp in out.glob(".*"):
        if tmp.is_file() and any(tmp.name.startswith(f".{name}.") for name in RUN_FILES):
            tmp.unlink(missing_ok=True)
    if state.checkpoint is None:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    if state.checkpoint is not None and state.metrics is not None:
        atomic_write_bytes(out / "metrics.jsonl", "".join(ln + "\n" for ln in state.metrics).encode())
    return out


def finish_run(work: Path, out: Path) -> None:
    """Swap a finished staging folder ``work`` in for ``out`` (nothing to do when ``work`` is ``out``)."""
    if work != out:
        swap_in(work, out)
