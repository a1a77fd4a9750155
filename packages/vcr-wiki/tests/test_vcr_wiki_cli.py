"""CLI: the demo (progress, figures, README numbers, OCR skipped said aloud); show writes PNGs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from vcr_wiki.cli import main
from vcr_wiki.demo.sample_data import write_sample_pairs
from vcr_wiki.eval.runners.ocr import tesseract_available


def test_demo_streams_progress_and_matches_the_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path), "--seed", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("[build]") for line in lines) >= 2 and lines[-1].startswith("[done]")
    result = json.loads((tmp_path / "demo.json").read_text())
    assert len(result["key_figure"]) <= 40 and result["figures"]["en_samples"] == 32
    assert result["figures"]["oracle_em_min"] == 100
    if not tesseract_available("en"):  # the console says so
        assert any("OCR skipped for en" in line for line in lines)
        return
    f = result["figures"]
    assert f["ocr_en_unmasked_em"] > 80 > f["ocr_en_easy_em"] >= f["ocr_en_hard_em"]
    if tesseract_available("zh") and "zh_samples" in f:  # the CI set-up: the README's numbers
        readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
        block = readme.split("<!-- demo-figures -->", 1)[1].split("```json", 1)[1].split("```", 1)[0]
        assert json.loads(block) == f


def test_demo_says_when_ocr_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vcr_wiki.demo.evaluation as ev

    monkeypatch.setattr(ev, "tesseract_available", lambda lang: False)
    monkeypatch.setenv("VCR_WIKI_ZH_FONT", str(tmp_path / "none.ttc"))  # and no Chinese either
    assert main(["demo", "--out", str(tmp_path / "d"), "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "OCR skipped for en" in out and "Chinese skipped" in out
    assert json.loads((tmp_path / "d" / "demo.json").read_text())["key_figure"] == "oracle 100; OCR skipped"


def test_show_writes_three_panels(tmp_path: Path) -> None:
    pairs = write_sample_pairs(tmp_path / "in", "en", limit=3)
    assert (
        main(["show", "--input", str(pairs), "--out", str(tmp_path / "show"), "--count", "2", "--seed", "0"])
        == 0
    )
    shows = sorted((tmp_path / "show").glob("show-*.png"))
    assert len(shows) == 2
    w, h = Image.open(shows[0]).size
    assert w == 3 * 300 + 4 * 8 and h > 300
