"""The manifest (counts and checksums) and the dataset card (README.md with YAML front matter)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from vcr_wiki import __version__
from vcr_wiki.builder.sample import DROP_REASONS
from vcr_wiki.builder.schema import HF_FEATURES

_LANG_NAMES = {"en": "English", "zh": "Chinese"}


def make_manifest(build_state: dict[str, Any], shards: list[dict[str, Any]], n_shards: int) -> dict[str, Any]:
    """The manifest of a build from its state and its finished shard records (deterministic: no times)."""
    dropped: Counter[str] = Counter()
    for s in shards:
        dropped.update(s["dropped"])
    cfg = build_state["config"]
    rows_out = sum(s["rows_out"] for s in shards)
    return {
        "builder": "vcr-wiki",
        "vcr_wiki_version": __version__,
        "config": cfg,
        "censor": build_state["censor"],
        "input": build_state["input"],
        "split": cfg["split"],
        "complete": len(shards) == n_shards,
        "n_shards": n_shards,
        "shards_done": len(shards),
        "rows_in": sum(s["rows_in"] for s in shards),
        "rows_out": rows_out,
        "spans_per_sample": round(sum(s["spans"] for s in shards) / max(1, rows_out), 3),
        "dropped": {k: dropped[k] for k in DROP_REASONS if dropped[k]},
        "columns": list(HF_FEATURES),
        "shards": shards,
    }


def _yaml_features() -> list[str]:
    lines = []
    for name, feat in HF_FEATURES.items():
        lines.append(f"  - name: {name}")
        if feat["_type"] == "Image":
            lines.append("    dtype: image")
        elif feat["_type"] == "Sequence":
            lines.append("    sequence: string")
        else:
            lines.append(f"    dtype: {feat['dtype']}")
    return lines


def dataset_card(manifest: dict[str, Any]) -> str:
    """The README.md dataset card of a build, with Hugging Face YAML front matter."""
    cfg = manifest["config"]
    split, lang, diff = manifest["split"], cfg["lang"], cfg["difficulty"]
    size = manifest["rows_out"]
    nbytes = sum(s["bytes"] for s in manifest["shards"])
    cat = (
        "n<1K"
        if size < 1_000
        else "1K<n<10K"
        if size < 10_000
        else "10K<n<100K"
        if size < 100_000
        else "100K<n<1M"
        if size < 1_000_000
        else "1M<n<10M"
    )
    front = [
        "---",
        "license: cc-by-sa-4.0",
        f"language:\n- {lang}",
        "task_categories:\n- visual-question-answering\n- image-to-text",
        f"pretty_name: VCR-wiki {lang} {diff} (built with vcr-wiki {manifest['vcr_wiki_version']})",
        f"size_categories:\n- {cat}",
        "configs:",
        "- config_name: default",
        "  data_files:",
        f"  - split: {split}",
        f"    path: data/{split}-*.parquet",
        "dataset_info:",
        "  features:",
        *_yaml_features(),
        "  splits:",
        f"  - name: {split}",
        f"    num_bytes: {nbytes}",
        f"    num_examples: {size}",
        f"  download_size: {nbytes}",
        f"  dataset_size: {nbytes}",
        "---",
    ]
    drops = ", ".join(f"{k} {v}" for k, v in manifest["dropped"].items()) or "none"
    body = f"""
# VCR-wiki, {_LANG_NAMES[lang]}, {diff}

Visual Caption Restoration (VCR; Zhang et al., ICLR 2025, arXiv 2406.06462): each sample is an image
with its caption rendered below it, where {cfg["n"]}-word n-grams of the caption are partly hidden by a
white band covering {cfg["band"][0]:.2f}-{cfg["band"][1]:.2f} of the line height. The task is to restore
the hidden text (`crossed_text`) from the visible pixels and the image.

Built offline by `vcr-wiki` {manifest["vcr_wiki_version"]} from `{manifest["input"]["path"]}`.
{"" if manifest["complete"] else "**Incomplete build:** " + f"{manifest['shards_done']} of {manifest['n_shards']} shards are finished."}

| | |
|---|---|
| split | {split} |
| samples | {size} (of {manifest["rows_in"]} input rows) |
| dropped | {drops} |
| hidden n-grams per sample | {manifest["spans_per_sample"]} |
| shards | {manifest["shards_done"]} of {manifest["n_shards"]} |
| font | {cfg["font"]} {cfg["font_size"]} px, line height {cfg["line_height"]} px |
| image width | {cfg["width"] or "as given"} px, max height {cfg["max_height"] or "none"} px |
| tokenizer | {cfg["tokenizer"]} |
| seed | {cfg["seed"]} |

## Columns

- `question_id` (int64): the row's index in the input table.
- `image` (image): the visual image (VI), resized to the build width.
- `caption` (string): the caption as rendered (the first {cfg["max_lines"]} wrapped lines).
- `stacked_image` (image): VI on top of the masked text image, size (W, H + lh*L + 2).
- `only_it_image` (image): the masked text image alone, centred on a white canvas of the stacked size.
- `only_it_image_small` (image): the masked text image alone, at its own size (W, lh*L + 1).
- `crossed_text` (list of strings): the hidden n-grams, in the order chosen (sentence by sentence).
- `lang`, `difficulty`, `config` (JSON): the settings of this build.

Images are PNG bytes in the `datasets` Image layout (`{{"bytes": ..., "path": ...}}`).
Load with `datasets.load_dataset("parquet", data_files="data/*.parquet")` or `pandas.read_parquet("data")`.
`manifest.json` lists every shard with its row counts and SHA-256.

## License

The license of the data follows its sources (Wikipedia/WIT captions and images are CC BY-SA 4.0).
The rendering font is Liberation Sans (SIL OFL 1.1) unless `config.font` says otherwise.
"""
    return "\n".join(front) + "\n" + body
