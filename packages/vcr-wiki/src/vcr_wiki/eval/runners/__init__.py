"""Runners: anything with ``predict(images, prompts) -> texts``.

- :class:`TransformersRunner` -- any local vision-language model folder (``vcr-wiki[eval]``);
- :class:`TesseractRunner` -- the OCR baseline (``vcr-wiki[ocr]`` plus the tesseract binary);
- :class:`OracleRunner` -- returns the ground truth (a sanity check: 100/100);
- :class:`CopyVisibleTextRunner` -- returns the caption without its masked n-grams (what a perfect reader of
  the visible text would say).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from PIL import Image

from vcr_wiki.eval.runners.ocr import TesseractRunner, tesseract_available
from vcr_wiki.eval.runners.oracle import CopyVisibleTextRunner, OracleRunner, image_key
from vcr_wiki.eval.runners.transformers import TransformersRunner

__all__ = [
    "CopyVisibleTextRunner",
    "OracleRunner",
    "Runner",
    "TesseractRunner",
    "TransformersRunner",
    "image_key",
    "tesseract_available",
]


@runtime_checkable
class Runner(Protocol):
    """The one interface every runner implements."""

    name: str

    def predict(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> list[str]:
        """One answer per (image, prompt) pair."""
        ...
