"""Atomic JSON writing (a temp file ``.<name>.tmp-<pid>`` in the same folder, then a rename; the user's umask applies)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(path: str | Path, payload: object) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically; return the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")  # recognised by outdir.remove_stale_temps
    try:
        tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
