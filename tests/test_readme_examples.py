"""Every bash and python block of every README runs as written (directives: see readme_blocks.py).

Blocks of one README run in order in one fresh folder, so a later block may use an earlier block's
outputs. python blocks run as a script file (``python block.py``), bash blocks with ``bash -euo pipefail``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from readme_blocks import ALL_BLOCKS, READMES, ROOT, Block, readme_blocks, readme_id

OUTPUT_TAIL = 4000
RUN_BLOCKS = [block for block in ALL_BLOCKS if not block.skip]


@pytest.fixture(scope="session")
def readme_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """One working folder per README, shared by its blocks."""
    return {readme: tmp_path_factory.mktemp(f"readme-{readme_id(readme)}") for readme in READMES}


def block_environment() -> dict[str, str]:
    """The environment a block runs in: this venv first on PATH, headless plots, no progress bars."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(MPLBACKEND="Agg", TQDM_DISABLE="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def run_block(block: Block, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run one block in its README's folder and return the finished process."""
    script = folder / f"block_{block.line}.{'py' if block.kind == 'python' else 'sh'}"
    script.write_text(block.prepared(), encoding="utf-8")
    command = (
        [sys.executable, script.name] if block.kind == "python" else ["bash", "-euo", "pipefail", script.name]
    )
    return subprocess.run(
        command,
        cwd=folder,
        env=block_environment(),
        capture_output=True,
        text=True,
        timeout=block.timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[f"{readme_id(b.readme)}:{b.line}" for b in RUN_BLOCKS])
def test_readme_block_runs(block: Block, readme_folders: dict[Path, Path]) -> None:
    """The block exits 0."""
    completed = run_block(block, readme_folders[block.readme])
    output = (completed.stdout + completed.stderr)[-OUTPUT_TAIL:]
    assert completed.returncode == 0, (
        f"{block.readme.relative_to(ROOT)}:{block.line} exited {completed.returncode}\n{output}"
    )


@pytest.mark.parametrize("readme", READMES, ids=readme_id)
def test_readme_has_a_runnable_example(readme: Path) -> None:
    """Each README has at least one block that the tests run as written."""
    assert any(not b.skip for b in readme_blocks(readme)), f"{readme} has no runnable example"
