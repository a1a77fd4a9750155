"""The README's quickstart runs as written, piped into ``python -`` (integration runs it as a script file)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def _quickstart() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    """Piped into ``python -`` (as a script file, the integration session runs it: tests/test_readme_examples.py)."""
    code = _quickstart()
    env = os.environ | {"OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.run([sys.executable, "-"], input=code, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "32 samples" in proc.stdout and "exact match per blank: [1.0" in proc.stdout
    assert not (tmp_path / "work" / "vcr-en-easy" / "_state").exists()
