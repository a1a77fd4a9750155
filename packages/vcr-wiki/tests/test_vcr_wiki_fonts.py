"""Fonts: the shipped English font and its licence; a missing CJK font says how to install one."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcr_wiki import fonts
from vcr_wiki.cli import main
from vcr_wiki.fonts import FontNotFoundError, find_zh_font, resolve_font, shipped_en_font


def test_shipped_font_and_licence_are_package_data() -> None:
    font = shipped_en_font()
    assert font.is_file() and font.name == "LiberationSans-Regular.ttf"
    licence = (font.parent / "OFL-LiberationSans.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert resolve_font("en") == font


def test_missing_cjk_font_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(fonts.ZH_FONT_ENV, raising=False)
    monkeypatch.setattr(fonts, "_ZH_CANDIDATES", ())
    monkeypatch.setattr(fonts, "_fc_list_zh", list)
    with pytest.raises(FontNotFoundError, match="apt-get install fonts-arphic-uming"):
        find_zh_font()
    monkeypatch.setenv(fonts.ZH_FONT_ENV, str(tmp_path / "none.ttc"))
    with pytest.raises(FontNotFoundError, match=r"none\.ttc"):
        find_zh_font()


def test_cli_reports_missing_cjk_font(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.delenv(fonts.ZH_FONT_ENV, raising=False)
    monkeypatch.setattr(fonts, "_ZH_CANDIDATES", ())
    monkeypatch.setattr(fonts, "_fc_list_zh", list)
    (tmp_path / "p.jsonl").write_text('{"image": "a.png", "caption": "x"}\n')
    rc = main(["build", "--input", str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "o"), "--lang", "zh"])
    assert rc == 2 and "fonts-arphic-uming" in capsys.readouterr().err


def test_spacy_backend_without_model_is_a_clear_error() -> None:
    from vcr_wiki.tokens import get_tokenizer, spacy_model_available

    if spacy_model_available("zh"):
        pytest.skip("zh_core_web_sm is installed here")
    with pytest.raises(ValueError, match="zh_core_web_sm"):
        get_tokenizer("zh", "spacy")
    assert get_tokenizer("zh", "char").name == "char"
