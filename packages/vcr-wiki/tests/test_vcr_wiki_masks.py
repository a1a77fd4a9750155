"""Masks: only the spans' rectangles change, they are all white, and the bands leave the paper's ink rows."""

from __future__ import annotations

import numpy as np
import pytest

from vcr_wiki.builder.masks import BANDS, apply_masks, band, mask_array, span_rectangles, span_segments
from vcr_wiki.builder.render import TextRenderer
from vcr_wiki.demo.sample_data import sample_captions


def _rendered(lang: str, font: str | None, text: str, width: int = 300):
    r = TextRenderer(lang, font)
    layout = r.layout(text, width)
    return r, layout, r.render(layout, width)


def test_band_table_matches_the_paper() -> None:
    assert band("en", "easy") == (0.46, 0.77)
    assert band("en", "hard") == (0.41, 0.80)
    assert band("zh", "easy") == (0.38, 0.62)
    assert band("zh", "hard") == (0.26, 0.75)
    hidden = {k: round(hi - lo, 2) for k, (lo, hi) in BANDS.items()}
    assert hidden == {("en", "easy"): 0.31, ("en", "hard"): 0.39, ("zh", "easy"): 0.24, ("zh", "hard"): 0.49}
    with pytest.raises(ValueError, match="difficulty='medium'"):
        band("en", "medium")


@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_diff_lies_only_inside_rectangles_which_are_white(difficulty: str) -> None:
    caption = sample_captions("en")[1]
    r, layout, tei = _rendered("en", None, caption)
    spans = ["main hall of the museum", "glass roof that was added"]
    rects = span_rectangles(layout, spans, r.text_right, *band("en", difficulty))
    masked = apply_masks(tei, rects)
    inside = mask_array(tei.shape, rects)
    assert inside.any()
    assert np.array_equal(masked[~inside], tei[~inside])
    assert (masked[inside] == 255).all()
    assert (tei[inside] < 255).any()  # the masks do hide ink


def test_span_across_a_line_break_is_split() -> None:
    caption = sample_captions("en")[0]
    _r, layout, _ = _rendered("en", None, caption)
    first, second = layout.lines[0].split(), layout.lines[1].split()
    span = " ".join(first[-2:] + second[:3])
    pieces = span_segments(layout, span)
    assert [p[0] for p in pieces] == [0, 1]
    (_, a0, b0), (_, a1, b1) = pieces
    assert layout.lines[0][a0:b0] == " ".join(first[-2:])
    assert layout.lines[1][a1:b1] == " ".join(second[:3])
    assert span_segments(layout, "not in this caption at all") == []


def _visible_ink_rows(lang: str, font: str | None, text: str, difficulty: str) -> tuple[int, int]:
    r, layout, tei = _rendered(lang, font, text, 400)
    rects = span_rectangles(layout, [layout.caption], r.text_right, *band(lang, difficulty))
    masked = apply_masks(tei, rects)
    lh = layout.line_height
    ink = np.flatnonzero((tei[:lh] < 255).any(axis=1))
    left = np.flatnonzero((masked[:lh] < 255).any(axis=1))
    y0, y1 = rects[0][1], rects[0][3]
    assert set(left) == {y for y in ink if y < y0 or y > y1}
    return int((ink < y0).sum()), int((ink > y1).sum())


def test_english_x_height_ink_rows_easy_2_2_hard_1_1() -> None:
    assert _visible_ink_rows("en", None, "xxxxx", "easy") == (2, 2)
    assert _visible_ink_rows("en", None, "xxxxx", "hard") == (1, 1)


def test_chinese_hard_band_with_uming_leaves_5_and_1_rows(zh_font: str) -> None:
    if not zh_font.endswith("uming.ttc"):
        pytest.skip("the 5+1 figure was measured with AR PL UMing")
    assert _visible_ink_rows("zh", zh_font, "汉字的中国人", "hard") == (5, 1)
    top, bottom = _visible_ink_rows("zh", zh_font, "汉字的中国人", "easy")
    assert top > 5 and bottom > 1


def test_bad_band_is_refused() -> None:
    r, layout, _ = _rendered("en", None, "a b c")
    with pytest.raises(ValueError, match=r"lo=0\.9"):
        span_rectangles(layout, ["a"], r.text_right, 0.9, 0.1)
