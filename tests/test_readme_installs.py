"""Every install block of every README, installed exactly as written in a fresh venv, gives working packages.

After a block's ``pip install`` lines (see venvs.py), every command of this monorepo that the venv then
holds answers ``--version`` with its package's version; a block that installs no command (torch alone)
imports what it installed. umbrella's block is the exception: ``test_demo_figures.py`` runs the whole
``umbrella demo`` in that venv (one venv and one demo for both tests).
"""

from __future__ import annotations

import importlib.metadata
import subprocess

import pytest
from readme_blocks import ALL_BLOCKS, readme_id
from venvs import install_block, pip_installs, venv_environment

DISTS = ["sparse-drl", "stable-grad-rl", "rice-n", "map-merge", "vcr-wiki", "umbrella"]
INSTALL_BLOCKS = [b for b in ALL_BLOCKS if pip_installs(b) and readme_id(b.readme) != "umbrella"]


def test_the_readmes_have_install_blocks() -> None:
    """Each package README keeps an install block (the one umbrella's demo test installs included)."""
    with_blocks = {readme_id(b.readme) for b in ALL_BLOCKS if pip_installs(b)}
    assert set(DISTS) <= with_blocks, f"README without an install block: {set(DISTS) - with_blocks}"


@pytest.mark.parametrize(
    "block", INSTALL_BLOCKS, ids=[f"{readme_id(b.readme)}:{b.line}" for b in INSTALL_BLOCKS]
)
def test_install_block_gives_working_commands(block, tmp_path) -> None:
    venv = tmp_path / "venv"
    install_block(block, venv)
    env = venv_environment(venv)
    commands = [d for d in DISTS if (venv / "bin" / d).exists()]
    for dist in commands:
        completed = subprocess.run([dist, "--version"], env=env, capture_output=True, text=True, check=False)
        assert completed.returncode == 0, f"{dist} --version:\n{completed.stdout}{completed.stderr}"
        assert importlib.metadata.version(dist) in completed.stdout + completed.stderr
    if not commands:
        probe = "import torch; print(torch.__version__)"
        completed = subprocess.run(
            [venv / "bin" / "python", "-c", probe], env=env, capture_output=True, text=True
        )
        assert completed.returncode == 0 and "+cpu" in completed.stdout, completed.stderr
