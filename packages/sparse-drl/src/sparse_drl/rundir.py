"""The run-folder contract: what a sparse-drl run folder holds, how it is checked, cleaned and loaded.

Every folder a command writes holds the marker ``.sparse-drl-run.json`` (``{"package": "sparse-drl",
"kind": "train" | "seeds" | "sweep" | "demo" | "plot" | "evidence", "version": ...}``), written first and atomically; ownership is
recognised by this marker only. A training run folder (kind ``train``) also holds ``config.json``
(``{"package": "sparse-drl", "config": {...}, "version": ...}``), ``metrics.jsonl``, ``checkpoint.pt``
and, when finished, ``summary.json``. Everything here only reads, except ``clean_stale``,
``open_out_folder`` and ``swap_in``, which the commands call after all validation has passed.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import torch

from sparse_drl import __version__
from sparse_drl.io import atomic_write_text, read_jsonl, write_json

__all__ = [
    "KINDS",
    "MARKER",
    "PACKAGE",
    "RUN_FILES",
    "check_out_path",
    "check_own_folder",
    "clean_stale",
    "folder_kind",
    "foreign_entries",
    "load_checkpoint",
    "open_out_folder",
    "read_marker",
    "read_run_config",
    "repair_metrics",
    "swap_in",
]

PACKAGE = "sparse-drl"
MARKER = f".{PACKAGE}-run.json"
KINDS = (
    "train",
    "seeds",
    "sweep",
    "demo",
    "plot",
    "evidence",
)  # train: a run folder; seeds: a folder of seed runs
RUN_FILES = ("config.json", "metrics.jsonl", "checkpoint.pt", "summary.json")
SWEEP_FILES = ("sweep-config.json", "sweep.csv", "sweep.json", ".tune")
EVIDENCE_FILES = ("evidence-config.json", "results.json", "table.md", "evidence.png")
CHECKPOINT_KEYS = ("config", "networks", "optimizers", "extra", "buffer", "counters")
STAGING = f".{PACKAGE}-staging-"  # .<name>.sparse-drl-staging-<pid>: an --overwrite in progress


def _is_temp(name: str) -> bool:
    """Whether ``name`` is a temporary file of this package's atomic writes: ``.<file>.<random>.tmp``
    for one of the files it writes (``sparse_drl.io``)."""
    for own in (MARKER, *RUN_FILES, *SWEEP_FILES, *EVIDENCE_FILES):
        middle = name[len(own) + 2 : -4]
        if name.startswith(f".{own}.") and name.endswith(".tmp") and middle.replace("_", "").isalnum():
            return True
    return False


def _stale(out: Path) -> list[Path]:
    """Temporary files left by an interrupted atomic write (a run file, the marker or a sweep table)."""
    return [p for p in out.glob(".*.tmp") if p.is_file() and _is_temp(p.name)]


def read_marker(out: Path) -> str | None:
    """The kind recorded in ``out``'s marker; None when there is no marker. ``ValueError`` when the
    marker is unreadable or names another package or an unknown kind."""
    path = out / MARKER
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{str(path)!r} is not a readable sparse-drl marker") from None
    if not isinstance(data, dict) or data.get("package") != PACKAGE or data.get("kind") not in KINDS:
        raise ValueError(f"{str(path)!r} is not a sparse-drl marker")
    return str(data["kind"])


def write_marker(out: Path, kind: str) -> None:
    """Write ``out``'s marker (atomically) naming this package, ``kind`` and the version."""
    write_json(out / MARKER, {"package": PACKAGE, "kind": kind, "version": __version__})


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
    config: dict[str, Any] = data["config"]
    return config


def folder_kind(out: Path) -> str:
    """``"missing"``, ``"empty"`` (nothing but temporary files of a marker write), the kind in the
    folder's marker (``"train"``, ``"seeds"``, ``"sweep"``) or ``"other"`` (not empty, no marker)."""
    if not out.exists():
        return "missing"
    entries = [p for p in out.iterdir() if not (p.name.startswith(f".{MARKER}.") and _is_temp(p.name))]
    if not entries:
        return "empty"
    return read_marker(out) or "other"


def foreign_entries(out: Path, own: set[str], runs: bool = False) -> list[str]:
    """Entries of ``out`` (recursively into run folders) that this package did not write: not in
    ``own``, not the marker or a temporary file of ours and, with ``runs``, not inside a sub-folder
    holding a ``train`` marker (whose own files are the run files)."""
    found: list[str] = []
    for p in sorted(out.iterdir()):
        if p.name in own or p.name == MARKER or (_is_temp(p.name) and p.is_file()):
            continue
        if runs and p.is_dir() and not p.is_symlink():
            try:
                kind = read_marker(p)
            except ValueError:
                kind = None
            if kind == "train":
                found += [f"{p.name}/{name}" for name in foreign_entries(p, set(RUN_FILES))]
                continue
        found.append(p.name)
    return found


def check_own_folder(out: Path, kind: str) -> None:
    """Refuse (``ValueError``, one line) an ``out`` that is not missing, empty or holding this package's
    marker of ``kind``: a command that only replaces its own files there (demo, plot) checks this first."""
    check_out_path(out)
    found = folder_kind(out)
    if found == "other":
        raise ValueError(
            f"--out {str(out)!r} is not empty and holds no sparse-drl {kind} (no {MARKER}); refusing"
        )
    if found not in ("missing", "empty", kind):
        raise ValueError(f"--out {str(out)!r} holds a sparse-drl {found}, not a {kind}; refusing")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_leftovers(out: Path) -> None:
    """Remove staging folders of killed ``--overwrite`` runs into ``out`` (siblings named
    ``.<name>.sparse-drl-staging-<pid>`` that hold this package's marker, their process gone)."""
    prefix = f".{out.name}{STAGING}"
    if not out.parent.is_dir():
        return
    for p in out.parent.iterdir():
        pid = p.name[len(prefix) :].removeprefix("old-")
        if not (p.name.startswith(prefix) and pid.isdigit() and p.is_dir() and not p.is_symlink()):
            continue
        try:
            own = read_marker(p) is not None
        except ValueError:
            own = False
        if own and not _pid_alive(int(pid)):
            shutil.rmtree(p)


def open_out_folder(out: Path, kind: str, *, staging: bool = False) -> Path:
    """Create (or reuse) the folder a command writes into and write its marker first; returns it.

    With ``staging`` the result is built in a sibling ``.<name>.sparse-drl-staging-<pid>`` (its own
    marker) that ``swap_in`` later puts in place of ``out``. Leftovers of killed runs are removed."""
    _remove_leftovers(out)
    work = out.parent / f".{out.name}{STAGING}{os.getpid()}" if staging else out
    if staging and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    clean_stale(work)
    if read_marker(work) is None:
        write_marker(work, kind)
    return work


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)


def swap_in(work: Path, out: Path) -> None:
    """Put the finished staging folder ``work`` in place of ``out`` and only then delete the old one."""
    if not out.exists():
        os.replace(work, out)
        return
    if not _exchange(work, out):
        old = out.parent / f".{out.name}{STAGING}old-{os.getpid()}"
        os.replace(out, old)
        os.replace(work, out)
        work = old
    shutil.rmtree(work)


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
    checkpoint: dict[str, Any] = state
    return checkpoint


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
