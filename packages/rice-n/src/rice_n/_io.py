"""Output files and folders: atomic writes with the user's umask, checked and cleaned-up output folders."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
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
