"""A second offline OCR baseline: RapidOCR (PaddleOCR PP-OCRv4 models on ONNX Runtime).

``rapidocr-onnxruntime`` ships its detection and recognition models inside its wheel (no download at run
time). Its recognizer reads Chinese and Latin script; it drops the spaces between English words, so it
is a Chinese baseline first. Like Tesseract it reads the visible text and restores nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

from vcr_wiki.eval.runners.ocr import normalize_ocr_text

RAPID_HINT = 'pip install "vcr-wiki[rapidocr]"'


def rapidocr_available() -> bool:
    """Whether ``rapidocr_onnxruntime`` is importable."""
    from importlib.util import find_spec

    return find_spec("rapidocr_onnxruntime") is not None


class RapidOCRRunner:
    """OCR the whole image with RapidOCR; the answer is its text lines, top to bottom, joined."""

    def __init__(self, language: str = "zh", *, border: int = 10, threads: int = 1) -> None:
        """``border``: white pixels around the image (VCR text starts at x=0); ``threads``: ONNX Runtime
        intra-op threads (1 keeps a small machine responsive)."""
        if language not in ("en", "zh"):
            raise ValueError(f"language must be 'en' or 'zh', got {language!r}")
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as err:
            raise ImportError(f"the RapidOCR baseline needs rapidocr-onnxruntime: {RAPID_HINT}") from err
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=threads)
        self.language = language
        self.border = int(border)
        self.name = "ocr:rapidocr-onnxruntime"

    def _read(self, image: Image.Image) -> str:
        im = ImageOps.expand(image.convert("RGB"), self.border, fill="white")
        result, _ = self._engine(np.asarray(im))
        boxes = sorted(result or [], key=lambda r: (min(p[1] for p in r[0]), min(p[0] for p in r[0])))
        return "\n".join(r[1] for r in boxes)

    def predict(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> list[str]:
        """The text RapidOCR reads in each image (the prompts are ignored)."""
        if len(images) != len(prompts):
            raise ValueError(f"got {len(images)} images but {len(prompts)} prompts")
        return [normalize_ocr_text(self._read(im), self.language) for im in images]
