"""Atomic file writes: write a temporary file in the same folder, then rename it into place."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

TMP_MARK = ".tmp-"


def temp_path(path: Path) -> Path:
    """A temporary name next to ``path`` (same folder, so the final rename is atomic)."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temps(folder: Path) -> int:
    """Delete temporary files a killed run left in ``folder``; returns how many."""
    count = 0
    if folder.is_dir():
        for p in folder.iterdir():
            if p.name.startswith(".") and TMP_MARK in p.name and p.is_file():
                p.unlink()
                count += 1
    return count


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
