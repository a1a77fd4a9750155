"""The README's quickstart runs as written, saved as a script and piped into ``python -``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def _quickstart() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("how", ["script", "stdin"])
def test_quickstart_runs_as_written(how: str, tmp_path: Path) -> None:
    code = _quickstart()
    env = os.environ | {"OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    if how == "script":
        (tmp_path / "quickstart.py").write_text(code)
        proc = subprocess.run([sys.executable, "quickstart.py"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
    else:
        proc = subprocess.run([sys.executable, "-"], input=code, cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "32 samples" in proc.stdout and "exact match per blank: [1.0" in proc.stdout
    assert not (tmp_path / "work" / "vcr-en-easy" / "_state").exists()
