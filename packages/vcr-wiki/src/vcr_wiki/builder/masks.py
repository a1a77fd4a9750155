"""Pixel masks of VCR: a horizontal band of each hidden n-gram's text is painted white.

Each span is found with ``str.find`` in the kept caption (first occurrence) and split across lines.
On line i, the span's characters [a, b) cover x from ``textbbox(line[:a])[2]`` to
``textbbox(line[:b])[2]`` and y from ``i*lh + lo*lh`` to ``i*lh + hi*lh``; like Pillow's
``rectangle`` fill, both ends are included and fractional coordinates are floored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from vcr_wiki.builder.render import TextLayout

DIFFICULTIES = ("easy", "hard")

# (lo, hi) fractions of the line height that are hidden (facts file, "Pixel masks").
BANDS: dict[tuple[str, str], tuple[float, float]] = {
    ("en", "easy"): (0.46, 0.77),
    ("en", "hard"): (0.41, 0.80),
    ("zh", "easy"): (0.38, 0.62),
    ("zh", "hard"): (0.26, 0.75),
}

Rect = tuple[int, int, int, int]


def band(lang: str, difficulty: str) -> tuple[float, float]:
    """The (lo, hi) band of the line height hidden for a language and difficulty."""
    try:
        return BANDS[(lang, difficulty)]
    except KeyError:
        raise ValueError(
            f"no mask band for lang={lang!r}, difficulty={difficulty!r}; "
            f"expected lang in ('en', 'zh') and difficulty in {DIFFICULTIES}"
        ) from None


def span_segments(layout: TextLayout, span: str) -> list[tuple[int, int, int]]:
    """(line, a, b) pieces of the first occurrence of ``span`` in the caption; [] when absent."""
    start = layout.caption.find(span)
    if start < 0 or not span:
        return []
    end = start + len(span)
    pieces = []
    offset = 0
    sep = len(layout.joiner)
    for i, line in enumerate(layout.lines):
        a, b = max(start, offset), min(end, offset + len(line))
        if a < b:
            pieces.append((i, a - offset, b - offset))
        offset += len(line) + sep
    return pieces


def span_rectangles(
    layout: TextLayout,
    spans: Sequence[str],
    text_right: Callable[[str], int],
    lo: float,
    hi: float,
) -> list[Rect]:
    """Inclusive pixel rectangles (x0, y0, x1, y1) in TEI coordinates that hide ``spans``."""
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"mask band needs 0 <= lo < hi <= 1, got lo={lo}, hi={hi}")
    lh = layout.line_height
    rects = []
    for span in spans:
        for i, a, b in span_segments(layout, span):
            line = layout.lines[i]
            x0, x1 = text_right(line[:a]), text_right(line[:b])
            y0, y1 = math.floor(i * lh + lo * lh), math.floor(i * lh + hi * lh)
            rects.append((x0, y0, x1, y1))
    return rects


def apply_masks(tei: np.ndarray, rects: Sequence[Rect], fill: int = 255) -> np.ndarray:
    """A copy of the TEI with every inclusive rectangle filled with ``fill`` (white)."""
    out: np.ndarray = tei.copy()
    h, w = out.shape[:2]
    for x0, y0, x1, y1 in rects:
        out[max(y0, 0) : min(y1 + 1, h), max(x0, 0) : min(x1 + 1, w)] = fill
    return out


def mask_array(shape: tuple[int, int], rects: Sequence[Rect]) -> np.ndarray:
    """Boolean array of ``shape`` that is True inside the rectangles."""
    out = np.zeros(shape, dtype=bool)
    return apply_masks(out, rects, fill=True)
