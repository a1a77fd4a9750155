"""End to end (facts file section 7.6): build a small dataset, then score the oracle and the OCR baseline.

The oracle scores 100/100; OCR on unmasked renders scores high; masked exact match is near zero; hard is
below easy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vcr_wiki.builder.builder import build_dataset
from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.demo.sample_data import write_sample_pairs
from vcr_wiki.eval.controls import write_unmasked_copy
from vcr_wiki.eval.evaluate import EvalConfig, evaluate
from vcr_wiki.eval.runners.ocr import tesseract_available

N_EN = 8
HAS_OCR = tesseract_available("en")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vcr-e2e")
    pairs = write_sample_pairs(root / "pairs-en", "en", limit=N_EN)
    for difficulty in ("easy", "hard"):
        config = BuildConfig(lang="en", difficulty=difficulty, split="test", shard_size=5)
        build_dataset(pairs, root / f"en-{difficulty}", config, progress=False)
    write_unmasked_copy(root / "en-easy", root / "en-unmasked")
    return root


def _eval(root: Path, dataset: str, model: str, **kw) -> dict:
    out = root / f"out-{dataset}-{model}"
    return evaluate(EvalConfig(dataset=str(root / dataset), model=model, out=str(out), workers=2, **kw))


@pytest.mark.parametrize("dataset", ["en-easy", "en-hard", "en-unmasked"])
def test_oracle_scores_100_on_both_variants(built: Path, dataset: str) -> None:
    m = _eval(built, dataset, "oracle", variant="both")
    for res in m["variants"].values():
        assert (res["exact_match"], res["jaccard"]) == (100.0, 100.0)
    assert m["n_blanks"] >= N_EN


def test_copy_visible_text_restores_nothing(built: Path) -> None:
    assert _eval(built, "en-easy", "copy-visible")["exact_match"] == 0.0


@pytest.mark.skipif(not HAS_OCR, reason="tesseract with English data is not installed")
def test_ocr_reads_unmasked_text_but_not_masked_text(built: Path) -> None:
    unmasked = _eval(built, "en-unmasked", "ocr")
    easy = _eval(built, "en-easy", "ocr")
    hard = _eval(built, "en-hard", "ocr")
    assert (unmasked["control"], easy["control"]) == ("unmasked", None)
    assert unmasked["exact_match"] >= 80.0 and unmasked["jaccard"] >= 90.0
    assert easy["exact_match"] <= 10.0 and hard["exact_match"] <= 10.0
    assert hard["jaccard"] < easy["jaccard"] < unmasked["jaccard"]
    assert hard["exact_match"] <= easy["exact_match"]


def test_cli_eval_and_report(built: Path, tmp_path: Path) -> None:
    from vcr_wiki.cli import main

    out = tmp_path / "cli-oracle"
    assert main(["eval", "--dataset", str(built / "en-hard"), "--model", "oracle", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["exact_match"], metrics["jaccard"]) == (100.0, 100.0) and metrics["n_blanks"] >= N_EN
    assert metrics["task"] == "vcr_wiki_en_hard" and "vcr_wiki_en_hard" in (out / "table.md").read_text()
    copy = tmp_path / "cli-copy"
    args = [
        "--model",
        "copy-visible",
        "--out",
        str(copy),
        "--variant",
        "text-only",
        "--limit",
        "5",
        "--seed",
        "1",
    ]
    assert main(["eval", "--dataset", str(built / "en-easy"), *args]) == 0
    assert json.loads((copy / "metrics.json").read_text())["n_samples"] == 5
    assert main(["report", str(out), str(copy), "--out", str(tmp_path / "rep")]) == 0
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "| **oracle (stacked)** | – | 100.00 / 100.00 |" in report and "paper: Qwen2-VL-7B (5k)" in report
    # bad inputs exit with a clear message, not a traceback
    assert (
        main(
            ["eval", "--dataset", str(tmp_path / "absent"), "--model", "oracle", "--out", str(tmp_path / "x")]
        )
        == 2
    )
    assert (
        main(
            [
                "eval",
                "--dataset",
                str(built / "en-easy"),
                "--model",
                str(tmp_path),
                "--out",
                str(tmp_path / "y"),
            ]
        )
        == 2
    )
