"""Folder ownership: a command writes into an ``--out`` folder only when the folder is new, empty or holds
the marker ``.vcr-wiki-run.json`` that the same command wrote there first.

The marker is the only sign of ownership (never file names such as ``metrics.json`` a user may also use):
``{"package": "vcr-wiki", "kind": "<build|eval|...>", "version": "<__version__>"}``, written atomically
before anything else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from vcr_wiki import __version__
from vcr_wiki._io import atomic_write_text

MARKER = ".vcr-wiki-run.json"
PACKAGE = "vcr-wiki"


def read_marker(folder: Path) -> dict[str, str] | None:
    """The marker of ``folder`` as a dict, or None when it has no readable vcr-wiki marker."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("package") != PACKAGE or not isinstance(data.get("kind"), str):
        return None
    return data


def check_folder(folder: Path, kind: str, option: str = "--out") -> Literal["new", "owned"]:
    """'new' (missing or empty) or 'owned' (holds this kind's marker); otherwise ValueError, one line.

    Nothing is created or changed.
    """
    text = str(folder)
    if "\0" in text:
        raise ValueError(f"{option} {text!r} holds a NUL byte")
    for parent in [folder, *folder.parents]:
        if parent.exists() and not parent.is_dir():
            what = "is" if parent == folder else f"is under {str(parent)!r}, which is"
            raise ValueError(f"{option} {text!r} {what} not a folder")
        if parent.exists():
            break
    if not folder.exists() or not any(folder.iterdir()):
        return "new"
    marker = read_marker(folder)
    if marker is None:
        raise ValueError(
            f"{option} {text!r} holds files that vcr-wiki did not write (no {MARKER}); "
            "choose an empty or new folder"
        )
    if marker["kind"] != kind:
        raise ValueError(
            f"{option} {text!r} holds a vcr-wiki {marker['kind']}, not a {kind}; choose another folder"
        )
    return "owned"


def claim(folder: Path, kind: str) -> None:
    """Create ``folder`` if needed and write its marker (first, before any other file)."""
    if read_marker(folder) is None:
        folder.mkdir(parents=True, exist_ok=True)
        record = {"package": PACKAGE, "kind": kind, "version": __version__}
        atomic_write_text(folder / MARKER, json.dumps(record) + "\n")
