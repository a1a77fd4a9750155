"""The datasets.Dataset.map path (num_proc=2)(num_proc=2) gives the same rows as the native builder."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from vcr_wiki.builder.builder import build_dataset
from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.demo.sample_data import write_sample_pairs


def test_dataset_map_num_proc_matches_native_build(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    from vcr_wiki.builder.datasets_map import build_with_datasets

    pairs = write_sample_pairs(tmp_path / "in", "en", limit=10)
    (tmp_path / "in" / "pairs.jsonl").open("a").write('{"image": "images/missing.png", "caption": "x y z"}\n')
    config = BuildConfig(difficulty="hard", seed=5)
    native = build_dataset(pairs, tmp_path / "native", config, progress=False)
    m = build_with_datasets(pairs, tmp_path / "hf", config, num_proc=2, num_shards=2, batch_size=4)
    assert m["rows_in"] == 11 and m["rows_out"] == native["rows_out"] == 10
    assert len(m["shards"]) == 2 and not (tmp_path / "hf" / "_hf_cache").exists()
    a = pq.read_table(tmp_path / "native" / "data").to_pylist()
    b = pq.read_table(tmp_path / "hf" / "data").to_pylist()
    assert [r["question_id"] for r in a] == [r["question_id"] for r in b]
    for ra, rb in zip(a, b, strict=False):
        for col in ("caption", "crossed_text", "config"):
            assert ra[col] == rb[col]
        for col in ("image", "stacked_image", "only_it_image"):
            assert ra[col]["bytes"] == rb[col]["bytes"]
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "hf" / "data" / "*.parquet"),
                               split="train", cache_dir=str(tmp_path / "cache"))  # fmt: skip
    assert isinstance(ds.features["only_it_image"], datasets.Image) and len(ds) == 10
