"""Text rendering of VCR: greedy wrap, 5-line cap, text image (TEI), stacked and text-only images.

Geometry (facts file, ``split_and_cross_out_image``): font size 20, black on white; greedy wrap while the
``textbbox`` width (right minus left) of the line is at most W (English on whitespace words joined by " ",
Chinese per character joined by "", every whitespace character of a Chinese caption dropped, as upstream's
``strip`` does); a first word wider than W leaves an empty first line (as upstream); the first ``max_lines`` lines are kept and the kept text is the ``caption``;
line height ``lh = int(bbox_h("hg") * 1.2)`` (en) or ``int(bbox_h("汉") * 1.3)`` (zh); line i is drawn
at (0, i*lh); the TEI is (W, lh*L + 1); the stacked image is the VI on top of the TEI, size
(W, H + lh*L + 2); the text-only image has the stacked size, white, with the TEI pasted at
y = (H_s - H_tei) // 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vcr_wiki.fonts import resolve_font

LANGS = ("en", "zh")
JOINERS = {"en": " ", "zh": ""}
_LH_PROBE = {"en": ("hg", 1.2), "zh": ("汉", 1.3)}


@dataclass(frozen=True)
class TextLayout:
    """The kept lines of a wrapped caption, the kept caption and the line height in pixels."""

    lines: tuple[str, ...]
    caption: str
    line_height: int
    joiner: str

    @property
    def height(self) -> int:
        """Height of the text image (TEI): lh * L + 1."""
        return self.line_height * len(self.lines) + 1


def normalize_caption(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def wrap_units(text: str, lang: str) -> list[str]:
    """The wrap units of a caption: whitespace words (en) or the non-space characters (zh), as upstream."""
    return text.split() if lang == "en" else [c for c in text if not c.isspace()]


class TextRenderer:
    """Wraps and draws captions of one language with one font (deterministic Pillow BASIC layout)."""

    def __init__(
        self,
        lang: str,
        font: str | os.PathLike[str] | None = None,
        font_size: int = 20,
        max_lines: int = 5,
    ) -> None:
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
        if font_size <= 0:
            raise ValueError(f"font_size must be positive, got {font_size}")
        if max_lines <= 0:
            raise ValueError(f"max_lines must be positive, got {max_lines}")
        self.lang = lang
        self.font_path = resolve_font(lang, font)
        self.font_size = font_size
        self.max_lines = max_lines
        self.joiner = JOINERS[lang]
        # BASIC layout: identical widths on every machine (raqm may or may not be present).
        try:
            self.font = ImageFont.truetype(
                str(self.font_path), font_size, layout_engine=ImageFont.Layout.BASIC
            )
        except OSError as exc:
            raise ValueError(
                f"font file {str(self.font_path)!r} is not a font Pillow can read ({exc})"
            ) from None
        self._draw = ImageDraw.Draw(Image.new("L", (1, 1)))
        probe, factor = _LH_PROBE[lang]
        box = self._draw.textbbox((0, 0), probe, font=self.font)
        self.line_height = int((box[3] - box[1]) * factor)
        self._advance: dict[str, float] = {}
        self._sep = self.font.getlength(self.joiner) if self.joiner else 0.0

    def text_right(self, text: str) -> int:
        """Right edge of ``textbbox((0, 0), text)``: the x where ``text`` drawn at x=0 ends."""
        if not text:
            return 0
        return int(self._draw.textbbox((0, 0), text, font=self.font)[2])

    def text_width(self, text: str) -> int:
        """Width of ``textbbox((0, 0), text)`` (right minus left): what upstream's wrap compares to W."""
        if not text:
            return 0
        box = self._draw.textbbox((0, 0), text, font=self.font)
        return int(box[2] - box[0])

    def _estimate(self, units: list[str]) -> np.ndarray:
        """Cumulative estimated widths (advance + separator) of the units, starting at 0."""
        adv = self._advance
        if len(adv) > 200_000:
            adv.clear()
        widths = np.empty(len(units) + 1)
        widths[0] = 0.0
        for k, unit in enumerate(units):
            w = adv.get(unit)
            if w is None:
                w = adv[unit] = self.font.getlength(unit)
            widths[k + 1] = w + self._sep
        return np.cumsum(widths)

    def wrap(self, text: str, width: int, max_lines: int | None = None) -> list[str]:
        """Greedy wrap: each line takes the most units whose ``textbbox`` width is <= ``width``.

        A unit wider than ``width`` gets a line of its own; when it is the first unit, an empty line comes
        first (upstream appends its empty current line). Stops after ``max_lines`` lines (all if None).
        Cached advances estimate each break; ``textbbox`` checks it on both sides unless the estimate is
        clear of the limit by a safety margin, so the result equals unit-by-unit greedy wrapping
        (``wrap_reference``), which the tests compare against.
        """
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        units = wrap_units(text, self.lang)
        n = len(units)
        cum = self._estimate(units)
        join = self.joiner.join
        margin = 2.0 + 0.1 * self.font_size
        lines: list[str] = [""] if n and self.text_width(units[0]) > width else []
        i = 0
        while i < n and (max_lines is None or len(lines) < max_lines):
            j = int(np.searchsorted(cum, cum[i] + width + self._sep, side="right")) - 1
            j = min(max(j, i + 1), n)
            # Exact checks are skipped only where the estimate is clear of the limit by `margin`
            # (measured: textbbox exceeds the advance sum by at most ~1 px).
            if j > i + 1 and cum[j] - cum[i] - self._sep > width - margin:
                while j > i + 1 and self.text_width(join(units[i:j])) > width:
                    j -= 1
            if j < n and cum[j + 1] - cum[i] - self._sep <= width + margin:
                while j < n and self.text_width(join(units[i : j + 1])) <= width:
                    j += 1
            lines.append(join(units[i:j]))
            i = j
        return lines

    def wrap_reference(self, text: str, width: int) -> list[str]:
        """Unit-by-unit greedy wrapping with one ``textbbox`` per unit (slow; the definition)."""
        lines: list[str] = []
        current = ""
        for unit in wrap_units(text, self.lang):
            candidate = unit if not current else current + self.joiner + unit
            if self.text_width(candidate) <= width:
                current = candidate
            else:
                lines.append(current)
                current = unit
        if current:
            lines.append(current)
        return lines

    def layout(self, text: str, width: int) -> TextLayout:
        """Wrap ``text`` to ``width`` and keep the first ``max_lines`` lines (the VCR caption)."""
        text = normalize_caption(text)
        lines = tuple(self.wrap(text, width, self.max_lines))
        return TextLayout(lines, self.joiner.join(lines), self.line_height, self.joiner)

    def render(self, layout: TextLayout, width: int) -> np.ndarray:
        """The text image (TEI) as a uint8 grayscale array of shape (lh * L + 1, width)."""
        image = Image.new("L", (width, layout.height), 255)
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(layout.lines):
            draw.text((0, i * layout.line_height), line, font=self.font, fill=0)
        pixels: np.ndarray = np.asarray(image).copy()
        return pixels


def stacked_height(image_height: int, layout: TextLayout) -> int:
    """Height of the stacked image: H + lh * L + 2."""
    return image_height + layout.line_height * len(layout.lines) + 2


def stack(image: np.ndarray, tei: np.ndarray) -> np.ndarray:
    """The stacked image (H + H_tei + 1, W, 3): the VI on top, the TEI at y = H, white below."""
    h, w = image.shape[:2]
    if tei.shape[1] != w:
        raise ValueError(f"TEI width {tei.shape[1]} differs from the image width {w}")
    out = np.full((h + tei.shape[0] + 1, w, 3), 255, dtype=np.uint8)
    out[:h] = image
    out[h : h + tei.shape[0]] = tei[:, :, None]
    return out


def text_only(tei: np.ndarray, height: int) -> np.ndarray:
    """The text-only image (height, W, 3): white, with the TEI pasted at y = (height - H_tei) // 2."""
    if height < tei.shape[0]:
        raise ValueError(f"height {height} is smaller than the TEI height {tei.shape[0]}")
    out = np.full((height, tei.shape[1], 3), 255, dtype=np.uint8)
    top = (height - tei.shape[0]) // 2
    out[top : top + tei.shape[0]] = tei[:, :, None]
    return out
