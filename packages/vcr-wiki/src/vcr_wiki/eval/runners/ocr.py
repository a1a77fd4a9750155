"""The OCR baseline: Tesseract (through pytesseract) reads the visible text and restores nothing.

Needs ``pip install 'vcr-wiki[ocr]'`` and the Tesseract binary with English and simplified-Chinese data
(Debian: ``apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageOps

__all__ = ["TESSERACT_LANG", "TesseractRunner", "normalize_ocr_text", "tesseract_available"]

TESSERACT_LANG = {"en": "eng", "zh": "chi_sim"}
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
_APT_HINT = "apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim"


def tesseract_available(language: str = "en") -> bool:
    """Whether pytesseract, the tesseract binary and the language's traineddata are all present."""
    try:
        import pytesseract
    except ImportError:
        return False
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        return False
    try:
        return TESSERACT_LANG[language] in pytesseract.get_languages(config="")
    except (pytesseract.TesseractNotFoundError, OSError, RuntimeError):
        return False


def normalize_ocr_text(text: str, language: str) -> str:
    """Tesseract's text as one line: lines joined with a space (en) or nothing (zh), and the spaces that
    Tesseract puts between CJK characters removed."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if language == "zh":
        return _CJK_GAP.sub("", "".join(lines))
    return " ".join(lines)


class TesseractRunner:
    """OCR the whole image with Tesseract; the answer is the text it reads (an offline lower bound)."""

    def __init__(
        self,
        language: str = "en",
        *,
        psm: int = 6,
        oem: int = 1,
        border: int = 10,
        scale: float = 1.0,
        threads: int = 1,
        workers: int = 1,
    ) -> None:
        """``psm``: Tesseract page segmentation mode (6 = one uniform block of text); ``border``: white pixels
        added around the image (VCR text starts at x=0, and Tesseract misreads glyphs touching the edge);
        ``scale``: resize factor before OCR; ``threads`` sets OMP_THREAD_LIMIT for the binary (1 avoids
        oversubscribing a small machine); ``workers``: images read in parallel (one tesseract process each)."""
        if language not in TESSERACT_LANG:
            raise ValueError(f"language must be one of {sorted(TESSERACT_LANG)}, got {language!r}")
        try:
            import pytesseract
        except ImportError as err:
            raise ImportError("the OCR baseline needs pytesseract: pip install 'vcr-wiki[ocr]'") from err
        if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
            raise RuntimeError(f"the tesseract binary is not installed (Debian: {_APT_HINT})")
        lang = TESSERACT_LANG[language]
        if lang not in pytesseract.get_languages(config=""):
            raise RuntimeError(f"tesseract has no '{lang}' language data (Debian: {_APT_HINT})")
        self._tess = pytesseract
        self.language = language
        self.lang = lang
        self.config = f"--psm {int(psm)} --oem {int(oem)}"
        if border < 0 or scale <= 0:
            raise ValueError(f"border must be >= 0 and scale > 0, got border={border}, scale={scale}")
        self.border = int(border)
        self.scale = float(scale)
        self.threads = int(threads)
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = int(workers)
        self.name = f"ocr:tesseract-{pytesseract.get_tesseract_version()}"

    def _prepare(self, image: Image.Image) -> Image.Image:
        im = image.convert("RGB")
        if self.scale != 1.0:
            size = (max(1, round(im.width * self.scale)), max(1, round(im.height * self.scale)))
            im = im.resize(size, Image.Resampling.LANCZOS)
        return ImageOps.expand(im, self.border, fill="white") if self.border else im

    def _read(self, image: Image.Image) -> str:
        return str(self._tess.image_to_string(self._prepare(image), lang=self.lang, config=self.config))

    def predict(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> list[str]:
        """The text Tesseract reads in each image (the prompts are ignored)."""
        if len(images) != len(prompts):
            raise ValueError(f"got {len(images)} images but {len(prompts)} prompts")
        old = os.environ.get("OMP_THREAD_LIMIT")
        os.environ["OMP_THREAD_LIMIT"] = str(self.threads)
        try:
            if self.workers > 1 and len(images) > 1:
                with ThreadPoolExecutor(self.workers) as pool:  # each call waits on its own process
                    raw = list(pool.map(self._read, images))
            else:
                raw = [self._read(im) for im in images]
        finally:
            if old is None:
                os.environ.pop("OMP_THREAD_LIMIT", None)
            else:
                os.environ["OMP_THREAD_LIMIT"] = old
        return [normalize_ocr_text(t, self.language) for t in raw]
