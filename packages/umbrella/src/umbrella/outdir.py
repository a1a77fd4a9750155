"""The ``--out`` folder of ``umbrella demo``: recognised as umbrella's own by a marker written first.

The folder is umbrella's when it holds ``.umbrella-run.json`` (package, kind, version). A missing or
empty folder is claimed (marker first); a folder with anything else in it is refused. Inside it, each
component's demo runs in a staging folder ``.<component>.tmp-<pid>`` that replaces ``<component>/``
only once the demo has finished well; an earlier result set aside during the swap is
``.<component>.old-<pid>``. A rerun removes these leftovers of a killed run (never another live
umbrella's).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from umbrella import __version__

MARKER = ".umbrella-run.json"
KIND = "demo"
# In a folder marked as umbrella's, these names are umbrella's own temp files and staging folders.
LEFTOVER = re.compile(r"^\.[^/]+\.(?:tmp|old)-(?P<pid>\d+)$")


class OutFolderError(ValueError):
    """An ``--out`` folder that umbrella must not write into (the message names it and why)."""


def marker_content() -> dict[str, str]:
    """What umbrella's marker holds."""
    return {"package": "umbrella", "kind": KIND, "version": __version__}


def check_out(out: Path) -> None:
    """Raise OutFolderError unless ``out`` is missing, empty, or a folder holding umbrella's demo marker."""
    if "\0" in str(out):
        raise OutFolderError(f"--out {str(out)!r} holds a NUL byte")
    for candidate in [out, *out.parents]:
        if candidate.exists() or candidate.is_symlink():
            if not candidate.is_dir():
                raise OutFolderError(f"--out {out}: {candidate} exists and is not a folder")
            break
    if not out.is_dir() or not any(out.iterdir()):
        return
    marker = out / MARKER
    try:
        held = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OutFolderError(f"--out {out} is not empty and holds no umbrella demo") from None
    except (OSError, ValueError) as error:
        raise OutFolderError(f"--out {out}: unreadable {MARKER} ({error})") from None
    if not isinstance(held, dict) or (held.get("package"), held.get("kind")) != ("umbrella", KIND):
        raise OutFolderError(f"--out {out}: {MARKER} is not an umbrella demo's marker")


def write_atomically(path: Path, text: str) -> None:
    """Write a text file through a temp file of this process, renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def claim(out: Path) -> None:
    """Create ``out`` if needed, write the marker (first), and remove leftovers of killed runs."""
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MARKER).exists():
        write_atomically(out / MARKER, json.dumps(marker_content()) + "\n")
    remove_leftovers(out)


def alive(pid: int) -> bool:
    """Whether a process with this id exists (another umbrella may share the folder)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(out: Path) -> list[str]:
    """Remove staging folders and temp files that a killed umbrella left; return their names."""
    removed = []
    for entry in out.iterdir():
        match = LEFTOVER.match(entry.name)
        if match and not alive(int(match.group("pid"))):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.name)
    return removed


def staging_folder(out: Path, dist: str) -> Path:
    """An empty folder in which one component's demo runs before it replaces ``out/<dist>``."""
    staging = out / f".{dist}.tmp-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def swap_in(staging: Path, out: Path, dist: str) -> Path:
    """Make a finished demo folder ``out/<dist>``; the earlier one is removed only after the swap."""
    final = out / dist
    old = out / f".{dist}.old-{os.getpid()}"
    if final.exists() or final.is_symlink():
        final.rename(old)
    staging.rename(final)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old)
    elif old.exists() or old.is_symlink():
        old.unlink()
    return final
