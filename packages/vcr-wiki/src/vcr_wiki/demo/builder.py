"""The builder half of ``vcr-wiki demo``: small VCR datasets from the shipped sample data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vcr_wiki.builder.builder import build_dataset
from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.builder.show import show_samples
from vcr_wiki.demo.sample_data import write_sample_pairs
from vcr_wiki.fonts import FontNotFoundError, find_zh_font


def run_builder_demo(
    out: str | os.PathLike[str], seed: int = 0, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Build en easy/hard (and zh easy/hard when a CJK font exists) from the sample data into ``out``.

    Returns ``{"builds": {"en-easy": {...}, ...}, "notes": [...]}``; ``say`` gets one line per stage.
    """
    out = Path(out)
    builds: dict[str, Any] = {}
    notes: list[str] = []
    langs = ["en"]
    try:
        find_zh_font()
        problem = ""
    except FontNotFoundError as exc:
        problem = str(exc)
    if problem:
        notes.append(f"zh skipped: {problem}")
        say(f"[build] Chinese skipped: {problem}")
    else:
        langs.append("zh")
    for lang in langs:
        pairs = write_sample_pairs(out / "samples" / lang, lang)
        for difficulty in ("easy", "hard"):
            say(f"[build] {lang} {difficulty}: rendering {pairs.parent.name} sample captions ...")
            config = BuildConfig(
                lang=lang, difficulty=difficulty, seed=seed, split="test", shard_size=16, nlp=_offline(lang)
            )
            manifest = build_dataset(
                pairs, out / f"vcr-{lang}-{difficulty}", config, progress=False, overwrite=True
            )
            builds[f"{lang}-{difficulty}"] = {
                "rows_in": manifest["rows_in"],
                "rows_out": manifest["rows_out"],
                "dropped": manifest["dropped"],
                "spans_per_sample": round(manifest["spans_per_sample"], 2),
            }
        show_samples(
            pairs, out / "show" / lang, BuildConfig(lang=lang, seed=seed, nlp=_offline(lang)), count=3
        )
    return {"builds": builds, "notes": notes}


def _offline(lang: str) -> str:
    """The demo's tokenizer: offline and the same on every machine (no spaCy model lookup)."""
    return "regex" if lang == "en" else "char"
