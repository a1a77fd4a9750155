"""evaluate(): predictions, metrics.json, table, resume, variants and their delta, bad inputs, report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw, ImageFont

from vcr_wiki.eval.evaluate import EvalConfig, evaluate, lmms_eval_task_name, load_eval_samples
from vcr_wiki.eval.report import load_result, render_report
from vcr_wiki.eval.runners.oracle import visible_text

CAPTIONS = [
    ("The old stone bridge crosses the quiet river near the village.", ["stone bridge crosses the quiet"]),
    ("A red tram waits at the station under a grey winter sky.", ["waits at the station under", "grey"]),
    ("Children play football in the park beside the ancient church.", ["play football in the park"]),
    ("The lighthouse stands on a rocky island in the northern sea.", ["on a rocky island in"]),
    ("Fishermen repair their nets on the harbour wall at dawn.", ["repair their nets on the"]),
]


def _png(caption: str, hide: list[str], text_only: bool) -> bytes:
    im = Image.new("RGB", (420, 120), "white")
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=14)
    if not text_only:
        draw.rectangle((5, 5, 60, 50), fill=(40, 120, 200))
    shown = caption
    for span in hide:
        shown = shown.replace(span, "_" * len(span), 1)
    draw.text((2, 70), shown, fill="black", font=font)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def write_dataset(folder: Path, rows=CAPTIONS, *, drop: str | None = None, lang: str = "en") -> Path:
    """A small dataset in the builder's layout (two shards)."""
    folder.mkdir(parents=True, exist_ok=True)
    records = [
        {
            "question_id": i,
            "caption": cap,
            "crossed_text": spans,
            "stacked_image": {"bytes": _png(cap, spans, False), "path": None},
            "only_it_image": {"bytes": _png(cap, spans, True), "path": None},
            "lang": lang,
            "difficulty": "easy",
        }
        for i, (cap, spans) in enumerate(rows)
    ]
    half = len(records) // 2
    for k, part in enumerate((records[:half], records[half:])):
        table = pa.Table.from_pylist(part)
        if drop:
            table = table.drop_columns([drop])
        pq.write_table(table, folder / f"test-{k:05d}-of-00002.parquet")
    return folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("ds") / "en-easy")


def test_load_samples_streams_all_shards(dataset: Path) -> None:
    samples = list(load_eval_samples(dataset, ["stacked", "text-only"]))
    assert [s.question_id for s in samples] == list(range(len(CAPTIONS)))  # the dataset's int64 ids
    assert {s.language for s in samples} == {"en"} and {s.difficulty for s in samples} == {"easy"}
    assert samples[1].crossed_text == CAPTIONS[1][1]
    assert samples[0].image("stacked").size == (420, 120)
    assert len(list(load_eval_samples(dataset, limit=3))) == 3


def test_oracle_scores_100_and_writes_outputs(dataset: Path, tmp_path: Path) -> None:
    m = evaluate(EvalConfig(dataset=str(dataset), model="oracle", out=str(tmp_path), batch_size=2))
    n_blanks = sum(len(s) for _, s in CAPTIONS)
    assert (m["exact_match"], m["jaccard"], m["n_blanks"]) == (100.0, 100.0, n_blanks)
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["exact_match"] == 100.0 and on_disk["n_blanks"] == n_blanks
    assert on_disk["metrics"]["exact_match"] == {"mean": 100.0, "std": 0.0, "ci_low": 100.0, "ci_high": 100.0}
    assert on_disk["task"] == "vcr_wiki_en_easy" and on_disk["tokenizer"]
    lines = (tmp_path / "predictions-stacked.jsonl").read_text().splitlines()
    assert len(lines) == len(CAPTIONS)
    assert json.loads(lines[1])["exact_match"] == [1.0, 1.0]
    table = (tmp_path / "table.md").read_text()
    assert "| vcr_wiki_en_easy | stacked | exact_match | 100.00 |" in table


def test_copy_visible_text_restores_nothing(dataset: Path, tmp_path: Path) -> None:
    m = evaluate(EvalConfig(dataset=str(dataset), model="copy-visible", out=str(tmp_path)))
    assert m["exact_match"] == 0.0
    assert 0.0 < m["jaccard"] < 60.0  # neighbouring visible words still overlap a little
    assert visible_text("a b c d", ["b c"], "en") == "a d"
    assert visible_text("博物馆大厅在这里", ["大厅"], "zh") == "博物馆在这里"


def test_both_variants_and_delta(dataset: Path, tmp_path: Path) -> None:
    m = evaluate(EvalConfig(dataset=str(dataset), model="oracle", out=str(tmp_path), variant="both"))
    assert set(m["variants"]) == {"stacked", "text-only"}
    assert m["delta"] == {"exact_match": 0.0, "jaccard": 0.0}
    assert (tmp_path / "predictions-text-only.jsonl").is_file()


def test_resume_from_predictions_already_written(dataset: Path, tmp_path: Path) -> None:
    cfg = EvalConfig(dataset=str(dataset), model="copy-visible", out=str(tmp_path), batch_size=1)
    first = evaluate(cfg)
    pred = tmp_path / "predictions-stacked.jsonl"
    lines = pred.read_text().splitlines(keepends=True)
    pred.write_text("".join(lines[:2]) + lines[2][:17])  # two whole lines and a torn one
    (tmp_path / "metrics.json").unlink()
    second = evaluate(cfg)
    timing = second["variants"]["stacked"]["timing"]
    assert (timing["resumed"], timing["predicted"]) == (2, len(CAPTIONS) - 2)
    assert [json.loads(x) for x in pred.read_text().splitlines()] == [json.loads(x) for x in lines]
    assert second["exact_match"] == first["exact_match"] and second["jaccard"] == first["jaccard"]
    third = evaluate(cfg)  # everything there: nothing predicted again
    assert third["variants"]["stacked"]["timing"]["predicted"] == 0


def test_resume_refuses_another_run_unless_fresh(dataset: Path, tmp_path: Path) -> None:
    evaluate(EvalConfig(dataset=str(dataset), model="copy-visible", out=str(tmp_path)))
    with pytest.raises(ValueError, match="another run"):
        evaluate(EvalConfig(dataset=str(dataset), model="oracle", out=str(tmp_path)))
    m = evaluate(EvalConfig(dataset=str(dataset), model="oracle", out=str(tmp_path), fresh=True))
    assert m["exact_match"] == 100.0


def test_bad_datasets_give_clear_errors(tmp_path: Path) -> None:
    bad = write_dataset(tmp_path / "no-crossed", drop="crossed_text")
    with pytest.raises(ValueError, match=r"lacks the columns \['crossed_text'\]"):
        evaluate(EvalConfig(dataset=str(bad), model="oracle", out=str(tmp_path / "o1")))
    no_img = write_dataset(tmp_path / "no-only-it", drop="only_it_image")
    with pytest.raises(ValueError, match="only_it_image"):
        evaluate(
            EvalConfig(dataset=str(no_img), model="oracle", out=str(tmp_path / "o2"), variant="text-only")
        )
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluate(EvalConfig(dataset=str(tmp_path / "nothing"), model="oracle", out=str(tmp_path / "o3")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no \.parquet"):
        evaluate(EvalConfig(dataset=str(tmp_path / "empty"), model="oracle", out=str(tmp_path / "o4")))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="not a readable Parquet"):
        evaluate(EvalConfig(dataset=str(tmp_path / "junk"), model="oracle", out=str(tmp_path / "o5")))
    bad_rows = write_dataset(tmp_path / "bad-rows", rows=[CAPTIONS[0], ("a caption here", [])])
    with pytest.raises(ValueError, match="bad crossed_text"):
        evaluate(EvalConfig(dataset=str(bad_rows), model="oracle", out=str(tmp_path / "o6")))
    with pytest.raises(ValueError, match="variant"):
        evaluate(EvalConfig(dataset=str(bad), model="oracle", out=str(tmp_path / "o7"), variant="side"))


def test_incomplete_build_is_refused(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "partial")
    (ds / "manifest.json").write_text(json.dumps({"complete": False, "shards_done": 1, "n_shards": 2}))
    with pytest.raises(ValueError, match="incomplete build"):
        evaluate(EvalConfig(dataset=str(ds), model="oracle", out=str(tmp_path / "out")))


def test_chinese_dataset_oracle(tmp_path: Path) -> None:
    rows = [
        ("位于城市中心的博物馆大厅今天开放", ["博物馆大厅"]),
        ("古老的石桥横跨安静的河流", ["安静的河流", "古老"]),
    ]
    ds = write_dataset(tmp_path / "zh", rows=rows, lang="zh")
    m = evaluate(EvalConfig(dataset=str(ds), model="oracle", out=str(tmp_path / "out")))
    assert (m["exact_match"], m["n_blanks"], m["language"]) == (100.0, 3, "zh")
    assert m["task"] == "vcr_wiki_zh_easy"


def test_task_names() -> None:
    assert lmms_eval_task_name("en", "easy", 17) == "vcr_wiki_en_easy"
    assert lmms_eval_task_name("zh", "hard", 500) == "vcr_wiki_zh_hard_500"


def test_report_beside_paper_numbers(dataset: Path, tmp_path: Path) -> None:
    evaluate(EvalConfig(dataset=str(dataset), model="oracle", out=str(tmp_path / "a"), variant="both"))
    evaluate(EvalConfig(dataset=str(dataset), model="copy-visible", out=str(tmp_path / "b")))
    text = render_report([tmp_path / "a", tmp_path / "b" / "metrics.json"])
    assert "| **oracle (stacked)** | 100.00 / 100.00 | – | – | – |" in text
    assert "| **oracle (text-only)** |" in text and "| **copy-visible (stacked)** | 0.00 /" in text
    assert "| paper: GPT-4o (500) | 91.55 / 96.44 | 73.20 / 86.17 | 14.87 / 39.05 | 2.20 / 22.72 |" in text
    assert "oracle, en_easy: Δ stacked − text-only EM +0.00, Jaccard +0.00" in text
    assert len(load_result(tmp_path / "a")) == 2
    evaluate(EvalConfig(dataset=str(dataset), model="oracle", out=str(tmp_path / "c")))
    assert "| **oracle (stacked) <c>** | 100.00 / 100.00 |" in render_report([tmp_path / "a", tmp_path / "c"])
    (tmp_path / "bad.json").write_text(json.dumps({"exact_match": 1}))
    with pytest.raises(ValueError, match="not a vcr-wiki eval result"):
        render_report([tmp_path / "bad.json"])
    with pytest.raises(FileNotFoundError):
        load_result(tmp_path / "missing.json")
