"""Output files and folders: atomic writes with the user's umask, checked and cleaned-up output folders."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


class OutputError(ValueError):
    """An output folder cannot be used: it lies under a file, holds something else, or holds a result."""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (never leaves a half-written file), mode 0666 minus umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600 files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write an object as indented JSON, atomically."""
    return write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def write_csv_atomic(path: str | Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Path:
    """Write rows (dicts) as CSV with the given column order, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_bytes_atomic(path, buf.getvalue().encode())


def check_output_dir(path: str | Path, markers: Sequence[str], what: str, overwrite: bool = False) -> bool:
    """Check that ``path`` can take an output; create nothing. Returns True when it holds a previous one.

    A missing or empty folder is fine. A folder holding one of ``markers`` (a previous ``what``) is
    refused unless ``overwrite``; any other non-empty folder is refused. Raises :class:`OutputError`
    when a parent is a file, the path is a file, or the nearest existing folder is not writable.
    """
    path = Path(path)
    for anc in (path, *path.parents):
        if anc.exists() or anc.is_symlink():
            if not anc.is_dir():
                where = "is a file" if anc == path else f"lies under {str(anc)!r}, which is not a folder"
                raise OutputError(f"output folder {str(path)!r} {where}")
            if not os.access(anc, os.W_OK | os.X_OK):
                raise OutputError(f"output folder {str(path)!r}: {str(anc)!r} is not writable")
            break
    if not path.is_dir():
        return False
    try:
        entries = [p.name for p in path.iterdir()]
    except OSError as exc:
        raise OutputError(f"output folder {str(path)!r} cannot be read: {exc.strerror}") from None
    if not entries:
        return False
    found = [m for m in markers if m in entries]
    if not found:
        raise OutputError(
            f"output folder {str(path)!r} is not empty and holds no {what}; choose a new or empty folder"
        )
    if not overwrite:
        raise OutputError(
            f"output folder {str(path)!r} already holds a {what} ({found[0]}); "
            "pass --overwrite to replace it (or choose another folder)"
        )
    return True


@contextlib.contextmanager
def output_dir(path: str | Path) -> Iterator[Path]:
    """Create ``path`` (and missing parents); on an exception remove the folders it created if empty."""
    path = Path(path)
    missing = []
    for anc in (path, *path.parents):
        if anc.exists():
            break
        missing.append(anc)
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in missing:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


#: The ownership marker of a folder written by a rice-n command (written first, atomically).
MARKER = ".rice-n-run.json"
_SIBLING = ".rice-n-"  # staging and old folders of an --overwrite: .<name>.rice-n-{staging,old}-<pid>


def read_marker(path: str | Path) -> dict[str, Any] | None:
    """The marker of folder ``path`` (``{"package", "kind", "version"}``), or None when it has none."""
    try:
        data = json.loads((Path(path) / MARKER).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("package") == "rice-n" else None


def write_marker(path: str | Path, kind: str) -> Path:
    """Write the marker of a ``kind`` output (``train``, ``simulate``, ...) into folder ``path``."""
    from rice_n import __version__

    return write_json_atomic(Path(path) / MARKER, {"package": "rice-n", "kind": kind, "version": __version__})


def _sibling(path: Path, what: str, pid: int | None = None) -> Path:
    return path.parent / f".{path.name}{_SIBLING}{what}-{os.getpid() if pid is None else pid}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def recover_leftovers(path: str | Path) -> None:
    """Clean up after an ``--overwrite`` killed by a signal: remove its staging folder, and put the old
    result back if the kill came between the two renames of the swap (or remove it if the swap was done)."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    prefix = f".{path.name}{_SIBLING}"
    for leftover in path.parent.iterdir():
        what, _, pid = leftover.name[len(prefix) :].rpartition("-")
        if not leftover.name.startswith(prefix) or what not in ("staging", "old") or not pid.isdigit():
            continue
        if _alive(int(pid)) or not _ours(leftover):
            continue
        if what == "old" and not path.exists():
            leftover.rename(path)
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def _ours(folder: Path) -> bool:
    """True when ``folder`` is a folder holding a rice-n marker, or an empty folder (a staging folder killed
    between its creation and its marker); anything else is never removed."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if read_marker(folder) is not None:
        return True
    try:
        return not any(folder.iterdir())
    except OSError:
        return False


def _remove_own(folder: Path) -> None:
    """Remove ``folder`` if it is ours (see :func:`_ours`); raise OutputError if something else is there."""
    if not (folder.exists() or folder.is_symlink()):
        return
    if not _ours(folder):
        raise OutputError(f"{str(folder)!r} is in the way and holds no {MARKER}; move it away")
    shutil.rmtree(folder)


def check_owned_dir(
    path: str | Path, kind: str, what: str, replace: bool, flags: str = "--overwrite"
) -> bool:
    """Check that folder ``path`` can take a ``kind`` output; returns True when it holds one already.

    The folder-ownership rule: a missing or empty folder is fine; a folder holding the marker of a
    ``kind`` output is refused unless ``replace`` (``--overwrite``/``--resume``); a folder with a
    rice-n marker of another kind, or with any content and no marker, is always refused. Nothing is
    created; only the leftovers of this command's own killed swap are cleaned (:func:`recover_leftovers`).
    """
    path = Path(path)
    recover_leftovers(path)
    if not path.is_dir() or not any(path.iterdir()):
        check_output_dir(path, (), what)  # a file in the way, an unwritable parent
        return False
    marker = read_marker(path)
    if marker is None:
        raise OutputError(
            f"output folder {str(path)!r} is not empty and holds no {what} (no {MARKER}); "
            "choose a new or empty folder"
        )
    if marker.get("kind") != kind:
        raise OutputError(
            f"output folder {str(path)!r} holds a rice-n {marker.get('kind')!s}, not a {what}; "
            "choose another folder"
        )
    if not replace:
        raise OutputError(
            f"output folder {str(path)!r} holds a {kind}; pass {flags} (or choose another folder)"
        )
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {str(path)!r}: {str(path.parent)!r} is not writable")
    return True


@contextlib.contextmanager
def owned_output(path: str | Path, kind: str, replace: bool, marker: bool = True) -> Iterator[Path]:
    """The folder to write a ``kind`` output into, marker first (unless ``marker=False``: the caller
    writes it).

    A new output goes into ``path`` itself. With ``replace`` (a folder that :func:`check_owned_dir`
    found holding a ``kind`` output) the new one is built in a sibling staging folder and swapped in
    only once the block ends without error; the old folder is removed after the swap.
    """
    path = Path(path)
    if not replace:
        with output_dir(path):
            if marker:
                write_marker(path, kind)
            yield path
        return
    staging = _sibling(path, "staging")
    _remove_own(staging)
    staging.mkdir()
    try:
        if marker:
            write_marker(staging, kind)
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = _sibling(path, "old")
    path.rename(old)
    staging.rename(path)
    shutil.rmtree(old, ignore_errors=True)
