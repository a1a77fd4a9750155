"""Cross-package tests: their helper modules (``readme_blocks``, ``venvs``) import from this folder; the one
venv installed for real from a README (umbrella's install block), shared by the tests that use it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_blocks import ALL_BLOCKS, Block, readme_id
from venvs import install_block, pip_installs


def umbrella_install_block() -> Block:
    """The install block of packages/umbrella/README.md."""
    blocks = [b for b in ALL_BLOCKS if readme_id(b.readme) == "umbrella" and pip_installs(b)]
    assert len(blocks) == 1, "packages/umbrella/README.md must have exactly one install block"
    return blocks[0]


@pytest.fixture(scope="session")
def umbrella_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Block]:
    """A fresh venv installed exactly as umbrella's README block says (no test extras, which could hide a
    missing dependency of a demo), and that block."""
    block = umbrella_install_block()
    venv = tmp_path_factory.mktemp("umbrella-readme") / "venv"
    install_block(block, venv)
    return venv, block
