"""Output folders the commands own: a marker ``.map-merge-run.json`` written first, foreign folders refused,
``--overwrite`` built in a sibling staging folder and swapped in only once complete, own temp files
(``.<name>.tmp-<pid>``) of killed runs removed on the next run."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

PACKAGE = "map-merge"
MARKER = f".{PACKAGE}-run.json"
STAGING = f".{PACKAGE}-staging-"
RETIRED = f".{PACKAGE}-old-"
_TEMP = re.compile(r"^\..+\.tmp-(\d+)$")


def _version() -> str:
    """The installed version (read from the metadata: importing the package here would be a cycle)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def temp_path(path: Path) -> Path:
    """The temp name of ``path`` for this process: ``.<name>.tmp-<pid>`` in the same folder."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove this package's temp files of dead processes from ``folder``; return what was removed."""
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else []:
        match = _TEMP.match(entry.name)
        if match and entry.is_file() and not _alive(int(match.group(1))):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def read_marker(folder: Path) -> dict[str, object] | None:
    """The marker of a folder this package wrote, or None when there is none (or it is not ours)."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("package") == PACKAGE else None


def write_marker(folder: Path, kind: str) -> None:
    """Write the marker (atomically) naming the package, the command ``kind`` and the version."""
    target = folder / MARKER
    tmp = temp_path(target)
    try:
        tmp.write_text(json.dumps({"package": PACKAGE, "kind": kind, "version": _version()}) + "\n")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def check_path(path: Path, option: str = "--out") -> None:
    """A folder we may create: none of it or its parents is a regular file (or anything but a folder)."""
    if "\x00" in str(path):
        raise ValueError(f"{option} {path!r}: the path holds a NUL byte")
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"{option} {path}: {parent} is a file, not a folder")


def check_out(
    path: Path, kind: str, *, resume: bool = False, overwrite: bool = False, option: str = "--out"
) -> str:
    """What a command of ``kind`` may do with folder ``path``, checked before anything is touched:
    ``"new"`` (absent or empty), ``"resume"`` or ``"overwrite"`` (holds this kind's marker and the flag
    asks for it). Anything else is a ValueError of one line."""
    check_path(path, option)
    _restore_retired(path)
    if not path.exists() or not any(path.iterdir()):
        if resume:
            raise ValueError(f"{option} {path}: nothing to resume (no {kind} there)")
        return "new"
    marker = read_marker(path)
    if marker is None:
        raise ValueError(
            f"{option} {path} is not empty and holds no {PACKAGE} run (no {MARKER}); "
            "choose a new or empty folder"
        )
    if marker.get("kind") != kind:
        raise ValueError(f"{option} {path} holds a {PACKAGE} {marker.get('kind')}, not a {kind}")
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    if resume:
        return "resume"
    if overwrite:
        return "overwrite"
    flags = "pass --resume or --overwrite" if kind == "front" else "pass --overwrite"
    raise ValueError(f"{option} {path} holds a {kind}; {flags}")


def claim(path: Path, kind: str) -> None:
    """Create ``path`` if needed and write the marker first (a new folder), or clean a resumed one."""
    path.mkdir(parents=True, exist_ok=True)
    if read_marker(path) is None:
        write_marker(path, kind)
    remove_stale_temps(path)


def staging(path: Path, kind: str) -> Path:
    """A fresh sibling folder (with the marker) where a replacement of ``path`` is built; staging folders
    of killed runs (recognised by name and marker) are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(f".{path.name}{STAGING}*"):
        pid = old.name.rsplit("-", 1)[-1]
        if old.is_dir() and read_marker(old) is not None and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = path.with_name(f".{path.name}{STAGING}{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    write_marker(folder, kind)
    return folder


def swap_in(folder: Path, path: Path) -> None:
    """Replace ``path`` by the complete ``folder``: the old result is removed only after the new one is in
    place (a kill in between leaves it as ``.<name>.map-merge-old-<pid>``, restored by the next run)."""
    retired = path.with_name(f".{path.name}{RETIRED}{os.getpid()}")
    if path.exists():
        os.replace(path, retired)
    os.replace(folder, path)
    shutil.rmtree(retired, ignore_errors=True)


def _restore_retired(path: Path) -> None:
    """Put back an old result that a killed swap left aside (only when ``path`` itself is gone)."""
    if path.exists() or not path.parent.is_dir():
        return
    for old in sorted(path.parent.glob(f".{path.name}{RETIRED}*")):
        if old.is_dir() and read_marker(old) is not None:
            os.replace(old, path)
            return


def first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` (or ``path`` itself) that does not exist yet."""
    missing = None
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing = folder
    return missing


@contextlib.contextmanager
def building(path: Path, kind: str) -> Iterator[Path]:
    """Build a result for ``path`` in a staging folder and swap it in when the block completes; when the
    block fails, the staging folder (and any parent folder made for it) is removed: nothing is touched."""
    made = first_missing(path.parent)
    folder = staging(path, kind)
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise
    swap_in(folder, path)
