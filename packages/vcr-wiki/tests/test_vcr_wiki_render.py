"""Rendering geometry: line height from the font, wrap, 5-line cap, stacked and text-only images."""

from __future__ import annotations

import numpy as np
import pytest

from vcr_wiki.builder.render import TextRenderer, stack, stacked_height, text_only
from vcr_wiki.demo.sample_data import sample_captions

LONG_EN = " ".join(sample_captions("en")[:3])


def test_english_line_height_is_22_with_liberation_sans() -> None:
    assert TextRenderer("en").line_height == 22


def test_chinese_line_height_comes_from_the_font(zh_font: str) -> None:
    r = TextRenderer("zh", zh_font)
    box = r._draw.textbbox((0, 0), "汉", font=r.font)
    assert r.line_height == int((box[3] - box[1]) * 1.3)
    if zh_font.endswith("uming.ttc"):
        assert r.line_height == 24


def test_upstream_asset_geometry_400_square_gives_400x512() -> None:
    r = TextRenderer("en")
    layout = r.layout(LONG_EN, 400)
    assert len(layout.lines) == 5
    vi = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    tei = r.render(layout, 400)
    assert tei.shape == (22 * 5 + 1, 400)
    s = stack(vi, tei)
    assert s.shape == (512, 400, 3) == (stacked_height(400, layout), 400, 3)
    assert np.array_equal(s[:400], vi)
    assert np.array_equal(s[400 : 400 + tei.shape[0], :, 0], tei)
    assert (s[-1] == 255).all()


def test_text_only_image_is_centred_and_same_size() -> None:
    r = TextRenderer("en")
    layout = r.layout(LONG_EN, 300)
    tei = r.render(layout, 300)
    o = text_only(tei, 337)
    top = (337 - tei.shape[0]) // 2
    assert o.shape == (337, 300, 3)
    assert np.array_equal(o[top : top + tei.shape[0], :, 1], tei)
    assert (o[:top] == 255).all() and (o[top + tei.shape[0] :] == 255).all()
    with pytest.raises(ValueError, match="smaller than the TEI"):
        text_only(tei, 10)


@pytest.mark.parametrize("width", [90, 150, 233, 300, 301, 417])
def test_wrap_lines_fit_and_equal_unit_by_unit_greedy(width: int) -> None:
    r = TextRenderer("en")
    for caption in sample_captions("en")[:12]:
        fast = r.wrap(caption, width)
        assert fast == r.wrap_reference(caption, width)
        for line in fast:
            assert r.text_right(line) <= width or " " not in line
        assert " ".join(fast) == " ".join(caption.split())


def test_single_long_word_gets_its_own_line() -> None:
    r = TextRenderer("en")
    lines = r.wrap("a Pneumonoultramicroscopicsilicovolcanoconiosis b", 120)
    assert lines == ["a", "Pneumonoultramicroscopicsilicovolcanoconiosis", "b"]


def test_five_line_cap_and_caption_is_kept_text() -> None:
    r = TextRenderer("en")
    layout = r.layout(LONG_EN, 300)
    assert len(layout.lines) == 5
    assert layout.caption == " ".join(layout.lines)
    assert LONG_EN.startswith(layout.caption)
    assert len(r.wrap(LONG_EN, 300)) > 5


@pytest.mark.parametrize("width", [100, 300])
def test_chinese_wraps_per_character(zh_font: str, width: int) -> None:
    r = TextRenderer("zh", zh_font)
    for caption in sample_captions("zh")[:6]:
        fast = r.wrap(caption, width)
        assert fast == r.wrap_reference(caption, width)
        assert "".join(fast) == caption
        assert all(r.text_right(line) <= width for line in fast)
    layout = r.layout("".join(sample_captions("zh")), width)
    assert len(layout.lines) == 5 and layout.caption == "".join(layout.lines)


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="lang"):
        TextRenderer("fr")
    with pytest.raises(ValueError, match="width"):
        TextRenderer("en").wrap("x", 0)
    with pytest.raises(FileNotFoundError, match=r"nope\.ttf"):
        TextRenderer("en", "nope.ttf")


def test_upstream_wrap_rules() -> None:
    r = TextRenderer("en")
    # a first word wider than the canvas leaves an empty first line (upstream appends its empty line)
    lines = r.wrap("Pneumonoultramicroscopicsilicovolcanoconiosis is long", 120)
    assert (
        lines[0] == ""
        and lines[1].startswith("Pneumono")
        and r.wrap_reference("Pneumono" + "o" * 30, 120)[0] == ""
    )
    caption = r.layout("Pneumonoultramicroscopicsilicovolcanoconiosis is a word", 120).caption
    assert caption.startswith(" Pneumono")  # lines joined with " ", as upstream's text_in_image
    # the wrap compares the textbbox width (right - left), not the right edge
    text = " ".join(["jjj fff"] * 12)
    for width in range(80, 200, 7):
        assert r.wrap(text, width) == r.wrap_reference(text, width)
        assert all(r.text_width(line) <= width for line in r.wrap(text, width))


def test_chinese_spaces_are_dropped_as_upstream(zh_font: str) -> None:
    r = TextRenderer("zh", zh_font)
    layout = r.layout("博物馆位于 New York 的中心", 300)
    assert layout.caption == "博物馆位于NewYork的中心"
