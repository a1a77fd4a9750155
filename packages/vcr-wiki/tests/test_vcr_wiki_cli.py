"""CLI: the builder demo writes demo.json with a key figure; show writes side-by-side PNGs."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from vcr_wiki.cli import main
from vcr_wiki.sample_data import write_sample_pairs


def test_builder_demo_writes_demo_json(tmp_path: Path) -> None:
    # The builder's part of `vcr-wiki demo` (the CLI demo adds the evaluation on top, tested with it).
    from vcr_wiki.demo import run_builder_demo

    run_builder_demo(tmp_path, seed=1)
    result = json.loads((tmp_path / "demo.json").read_text())
    assert isinstance(result["key_figure"], str) and "en" in result["key_figure"]
    assert result["builds"]["en-easy"]["rows_out"] == 32
    assert list((tmp_path / "show" / "en").glob("show-*.png"))


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
