"""End-to-end build: columns, filters and counts, manifest and card, resume after a kill, workers."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vcr_wiki.builder.builder import build_dataset, parse_shard_range
from vcr_wiki.builder.inputs import InputSpec, read_pairs
from vcr_wiki.builder.sample import BuildConfig, SampleMaker
from vcr_wiki.cli import main
from vcr_wiki.demo.sample_data import write_sample_pairs

UPSTREAM = [
    "image", "caption", "stacked_image", "only_it_image", "only_it_image_small", "crossed_text", "question_id"
]  # fmt: skip


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample pairs (first 20 captions) plus one bad row of every kind."""
    root = tmp_path_factory.mktemp("pairs")
    path = write_sample_pairs(root, "en", limit=20)
    (root / "images" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    Image.new("RGB", (300, 1000), "white").save(root / "images" / "tall.png")
    extra = [
        {"image": "images/corrupt.png", "caption": "a corrupt image with a caption that is long enough"},
        {"image": "images/missing.png", "caption": "a missing image with a caption that is long enough"},
        {"image": "images/en-000.png", "caption": "   "},
        {"image": "images/tall.png", "caption": "a tall image with a caption that is long enough to mask"},
        {
            "image": "images/en-001.png",
            "caption": "a forbiddenword caption that would otherwise be long enough",
        },
        {"image": "images/en-002.png", "caption": "Too Short"},
    ]
    lines = path.read_text().splitlines()
    rows = [json.dumps(e) for e in extra]
    mixed = lines[:5] + rows[:3] + ["{broken json"] + lines[5:12] + rows[3:] + lines[12:]
    path.write_text("\n".join(mixed) + "\n")
    return path


def _config(**kw) -> BuildConfig:
    return BuildConfig(**({"shard_size": 8, "censor": ("forbiddenword",)} | kw))


def _rows(out: Path) -> list[dict]:
    return pq.read_table(out / "data").to_pylist()


def test_build_columns_counts_manifest_card(pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    m = build_dataset(pairs, out, _config(), progress=False)
    assert m["rows_in"] == 27 and m["complete"] and m["n_shards"] == 4
    assert m["dropped"] == {
        "bad_row": 1,
        "empty_caption": 1,
        "censored": 1,
        "bad_image": 2,
        "too_tall": 1,
        "no_ngram": 1,
    }
    assert m["rows_out"] == 20
    rows = _rows(out)
    assert len(rows) == 20
    assert set(UPSTREAM) <= set(rows[0]) and {"lang", "difficulty", "config"} <= set(rows[0])
    for r in rows:
        assert set(r["image"]) == {"bytes", "path"}
        vi = np.asarray(Image.open(io.BytesIO(r["image"]["bytes"])))
        st = np.asarray(Image.open(io.BytesIO(r["stacked_image"]["bytes"])))
        only = Image.open(io.BytesIO(r["only_it_image"]["bytes"]))
        assert Image.open(io.BytesIO(r["stacked_image"]["bytes"])).format == "PNG"
        assert vi.shape[1] == 300 and np.array_equal(st[: vi.shape[0]], vi)
        n_lines = (st.shape[0] - vi.shape[0] - 2) // 22
        assert st.shape[0] == vi.shape[0] + 22 * n_lines + 2 and 1 <= n_lines <= 5
        assert only.size == (st.shape[1], st.shape[0])
        small = np.asarray(Image.open(io.BytesIO(r["only_it_image_small"]["bytes"])))
        assert small.shape == (22 * n_lines + 1, 300, 3) and np.array_equal(small, st[vi.shape[0] : -1])
        assert r["crossed_text"] and all(s in r["caption"] for s in r["crossed_text"])
        assert json.loads(r["config"])["line_height"] == 22
    maker = SampleMaker(_config())
    by_id = {p.index: p for p in read_pairs(InputSpec(str(pairs)))}
    for r in rows[:5]:  # the encoded images are exactly the rendered arrays
        sample = maker.render(by_id[r["question_id"]])
        only = np.asarray(Image.open(io.BytesIO(r["only_it_image"]["bytes"])))
        st = np.asarray(Image.open(io.BytesIO(r["stacked_image"]["bytes"])))
        assert np.array_equal(only, sample.only_it()) and np.array_equal(st, sample.stacked())
        assert sample.crossed_text == r["crossed_text"]
    qids = [r["question_id"] for r in rows]
    assert qids == sorted(qids) and len(set(qids)) == 20
    from vcr_wiki._io import sha256_file

    for shard in m["shards"]:
        assert sha256_file(out / shard["file"]) == shard["sha256"]
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "path: data/test-*.parquet" in card and "num_examples: 20" in card
    assert json.loads((out / "manifest.json").read_text())["rows_out"] == 20


def test_rows_in_batches_equal_rows_one_by_one(pairs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``rows`` tokenizes the kept captions of a batch together (as with spaCy's ``nlp.pipe``) and gives
    the rows and drop reasons of ``row``, in order, in batches that mix kept and dropped pairs."""
    import vcr_wiki.builder.sample as sample

    monkeypatch.setattr(sample, "BATCH", 5)
    listed = list(read_pairs(InputSpec(str(pairs))))
    maker = SampleMaker(_config())
    single = [maker.row(p) for p in listed]
    batches: list[int] = []

    def batch_fn(texts: list[str]) -> list:
        batches.append(len(texts))
        return [maker.tokenizer.sentences(t) for t in texts]

    maker.tokenizer = dataclasses.replace(maker.tokenizer, batch_fn=batch_fn)
    assert maker.rows(listed) == single
    assert len(batches) == 6 and max(batches) == 5 and sum(batches) < len(listed)  # drops skip the tokenizer
    assert sum(isinstance(r, str) for r in single) == 7


def test_resume_after_a_killed_build_gives_the_same_dataset(pairs: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    build_dataset(pairs, clean, _config(nlp="regex"), progress=False)
    killed = tmp_path / "killed"
    script = textwrap.dedent(
        f"""
        import os
        from vcr_wiki.builder.builder import build_dataset
        from vcr_wiki.builder.sample import BuildConfig, SampleMaker
        real = SampleMaker.rows
        def rows(self, pairs):
            if any(pair.index == 19 for pair in pairs):
                os._exit(9)  # like SIGKILL: no cleanup, a half-written shard stays behind
            return real(self, pairs)
        SampleMaker.rows = rows
        build_dataset({str(pairs)!r}, {str(killed)!r},
                      BuildConfig(shard_size=8, censor=("forbiddenword",), nlp="regex"), progress=False)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    staged = killed / "_state" / "data"
    assert len(list(staged.glob("*.parquet"))) == 2
    assert list(staged.glob(".*.tmp-*"))  # the half-written shard
    assert not (killed / "manifest.json").exists() and not (killed / "data").exists()
    first = {p.name: p.stat().st_mtime_ns for p in staged.glob("*.parquet")}
    m = build_dataset(pairs, killed, _config(nlp="regex"), resume=True, progress=False)
    assert m["complete"] and not (killed / "_state").exists()
    assert all((killed / "data" / n).stat().st_mtime_ns == t for n, t in first.items())  # kept, not rebuilt
    assert not list((killed / "data").glob(".*.tmp-*"))
    assert (killed / "manifest.json").read_bytes() == (clean / "manifest.json").read_bytes()
    clean_m = json.loads((clean / "manifest.json").read_text())
    assert [s["sha256"] for s in m["shards"]] == [s["sha256"] for s in clean_m["shards"]]
    with pytest.raises(ValueError, match="another configuration"):
        build_dataset(pairs, killed, _config(seed=1), resume=True, progress=False)


def test_two_workers_give_the_same_shards(pairs: Path, tmp_path: Path) -> None:
    config = _config(difficulty="hard", nlp="regex")  # spawned workers skip spaCy's 5 CPU-s import
    one = build_dataset(pairs, tmp_path / "one", config, progress=False)
    two = build_dataset(pairs, tmp_path / "two", config, workers=2, progress=False)
    assert [s["sha256"] for s in one["shards"]] == [s["sha256"] for s in two["shards"]]
    assert one["dropped"] == two["dropped"]


def test_shard_ranges_then_resume_completes(pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "ranges"
    m = build_dataset(pairs, out, _config(), shards="0:2", progress=False)
    assert not m["complete"] and m["shards_done"] == 2
    assert not (out / "manifest.json").exists() and len(list((out / "_state" / "shards").iterdir())) == 2
    m = build_dataset(pairs, out, _config(), shards="2:", resume=True, progress=False)
    assert m["complete"] and m["rows_out"] == 20
    assert list(parse_shard_range("1:3", 10)) == [1, 2]
    with pytest.raises(ValueError, match="START:END"):
        parse_shard_range("3", 10)


def test_cli_build_interface(pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    rc = main(["build", "--input", str(pairs), "--out", str(out), "--lang", "en", "--difficulty", "hard",
               "--seed", "3", "--no-progress"])  # fmt: skip
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rows_out"] == 21 and summary["complete"]  # nothing censored without --censor
    rows = _rows(out)
    assert {r["difficulty"] for r in rows} == {"hard"} and json.loads(rows[0]["config"])["seed"] == 3
    rc = main(["build", "--input", str(tmp_path / "nope.jsonl"), "--out", str(out)])
    assert rc == 2 and "nope.jsonl" in capsys.readouterr().err


def test_chinese_build(zh_font: str, tmp_path: Path) -> None:
    pairs = write_sample_pairs(tmp_path / "zh", "zh", limit=6)
    m = build_dataset(
        pairs, tmp_path / "out", BuildConfig(lang="zh", difficulty="hard", nlp="char"), progress=False
    )
    assert m["rows_out"] == 6
    for r in _rows(tmp_path / "out"):
        assert all(len(s) == 5 and s in r["caption"] for s in r["crossed_text"])


def test_default_build_loads_as_upstream_and_lmms_eval_read_it(pairs: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "hf"
    build_dataset(pairs, out, _config(), progress=False)  # the default split: "test", as consumers read
    ds = datasets.load_dataset("parquet", data_files=str(out / "data" / "*.parquet"), split="train",
                               cache_dir=str(tmp_path / "cache"))  # fmt: skip
    assert len(ds) == 20
    assert isinstance(ds.features["stacked_image"], datasets.Image)
    row = ds[0]
    assert row["stacked_image"].size[0] == 300 and isinstance(row["crossed_text"], list)
    card_loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache2"))  # reads the card's YAML
    assert list(card_loaded) == ["test"] and len(card_loaded["test"]) == 20
    # upstream's inference.py reads, for every sample by index, these columns (our own copy of its access)
    dataset = card_loaded["test"]
    for image_id in range(len(dataset)):
        images = [dataset[image_id][c] for c in ("stacked_image", "only_it_image", "only_it_image_small")]
        assert all(im.mode == "RGB" for im in images) and isinstance(dataset[image_id]["caption"], str)
    # lmms-eval's vcr_wiki task: doc_to_visual and process_results
    for doc in dataset:
        assert doc["stacked_image"].convert("RGB").size[0] == 300
        assert isinstance(doc["question_id"], int) and isinstance(doc["caption"], str)
        assert all(isinstance(t, str) for t in doc["crossed_text"])
