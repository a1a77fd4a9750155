"""A downstream script using vcr-wiki's quickstart, type-checked against the installed package."""

from __future__ import annotations

import pyarrow.parquet as pq

from vcr_wiki import BuildConfig, build_dataset, score_sample
from vcr_wiki.demo.sample_data import write_sample_pairs


def build_and_score(folder: str) -> list[bool]:
    """Build an English easy dataset from the shipped samples; exact match per blank of the first row."""
    pairs = write_sample_pairs(f"{folder}/samples", "en")
    manifest = build_dataset(
        pairs,
        f"{folder}/vcr-en-easy",
        BuildConfig(lang="en", difficulty="easy", seed=42, split="test"),
        overwrite=True,
        progress=False,
    )
    print(manifest["rows_out"], manifest["spans_per_sample"])
    row = pq.read_table(f"{folder}/vcr-en-easy/data").slice(0, 1).to_pylist()[0]
    scores = score_sample("The covered texts: " + " ".join(row["crossed_text"]), row["crossed_text"], "en")
    return [bool(s.exact_match) for s in scores]
