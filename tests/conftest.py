"""Cross-package tests: their helper modules (``readme_blocks``, ``venvs``) import from this folder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
