"""Which folders a command may write: the ownership marker, refusal of foreign folders, staging.

Every command that writes an ``--out`` folder (``train``, ``sweep``, ``demo``, ``plot``) first writes the marker
``OUT/.stable-grad-rl-run.json`` (``{"package", "kind", "version"}``). A folder is recognised as this
package's only by that marker, never by file names a user might also use. ``--overwrite`` builds the new
result in a staging folder beside ``OUT`` (``.OUT.staging-<pid>``, with its own marker) and swaps it in
once complete; a rerun removes the staging folders that a killed command left.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
from pathlib import Path

from stable_grad_rl import __version__
from stable_grad_rl.atomic import atomic_write_json

PACKAGE = "stable-grad-rl"
MARKER = f".{PACKAGE}-run.json"
#: How refusals name a folder's kind ("holds a stable-grad-rl run").
KIND_WORDS = {
    "train": "run", "sweep": "sweep", "demo": "demo", "plot": "plot folder", "train-seeds": "multi-seed run",
}  # fmt: skip


def check_out_path(out: Path, flag: str = "--out") -> None:
    """Raise ``ValueError`` if ``out`` or a folder above it exists but is not a directory."""
    if "\0" in str(out):
        raise ValueError(f"{flag} {str(out)!r} holds a NUL byte")
    for candidate in (out, *out.parents):
        if candidate.exists():
            if not candidate.is_dir():
                where = "is" if candidate == out else f"lies under {candidate}, which is"
                raise ValueError(f"{flag} {out} {where} not a directory")
            return


def read_marker(out: Path) -> str | None:
    """The kind recorded in ``out``'s marker; ``None`` if there is none; ``ValueError`` if it is foreign."""
    path = out / MARKER
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("package") != PACKAGE or not isinstance(data.get("kind"), str):
        raise ValueError(f"{path} is not a {PACKAGE} marker; refusing to touch {out}")
    return str(data["kind"])


def write_marker(out: Path, kind: str) -> None:
    """Create ``out`` if needed and (re)write its marker for a command of ``kind``."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / MARKER, {"package": PACKAGE, "kind": kind, "version": __version__})


def check_folder(out: Path, kind: str, *, resume: bool = False, overwrite: bool = False) -> bool:
    """Validate ``out`` for a command of ``kind``, writing nothing; True if it holds an earlier result.

    Missing or empty: fine (False). Holding this package's marker of ``kind``: True with ``resume`` or
    ``overwrite``, refused without. Anything else (no marker, or another kind): refused, whatever the flags.
    """
    check_out_path(out)
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    if not out.exists() or not any(out.iterdir()):
        return False
    word = KIND_WORDS.get(kind, kind)
    found = read_marker(out)
    if found is None:
        raise ValueError(
            f"--out {out} is not empty and holds no {PACKAGE} {word} (no {MARKER}); refusing to touch it"
        )
    if found != kind:
        raise ValueError(
            f"--out {out} holds a {PACKAGE} {KIND_WORDS.get(found, found)}, not a {word}; refusing to touch it"
        )
    if not (resume or overwrite):
        raise ValueError(f"--out {out} already holds a {word}; pass --resume to continue it or --overwrite")
    return True


def staging_path(out: Path) -> Path:
    """The staging folder of this process for replacing ``out``."""
    return out.parent / f".{out.name}.staging-{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(out: Path) -> None:
    """Remove staging folders for ``out`` left by killed commands (our marker inside, their process gone)."""
    if not out.parent.is_dir():
        return
    prefix = f".{out.name}.staging-"
    for path in out.parent.iterdir():
        if not path.name.startswith(prefix) or not path.is_dir() or not (path / MARKER).exists():
            continue
        pid = path.name[len(prefix) :].split("-")[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not _pid_alive(int(pid))):
            shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_in(staging: Path, out: Path) -> None:
    """Put the finished ``staging`` folder in the place of ``out``, then delete the old ``out``."""
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        old = staging  # now holds the old result
    else:
        old = out.parent / f"{staging.name}-old"
        os.rename(out, old)
        os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)
