"""Input tables: JSONL, CSV, Parquet (paths, bytes, Image structs), folders, WIT TSV; bad rows flagged."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vcr_wiki.builder.builder import scan_input
from vcr_wiki.builder.inputs import (
    ImageError,
    InputSpec,
    Pair,
    detect_format,
    load_image,
    read_pairs,
)


def _png(path: Path, w: int = 40, h: int = 30) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 200, 30)).save(buf, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def test_jsonl_with_bad_lines(tmp_path: Path) -> None:
    _png(tmp_path / "img" / "a.png")
    lines = [
        json.dumps({"image": "img/a.png", "caption": "one"}),
        "{not json",
        "",
        json.dumps({"caption": "no image"}),
        json.dumps(["a list"]),
        json.dumps({"image": "img/a.png", "caption": "two"}),
    ]
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n")
    pairs = list(read_pairs(InputSpec(str(tmp_path / "p.jsonl"))))
    assert [p.index for p in pairs] == [0, 1, 2, 3, 4]
    assert [p.error is None for p in pairs] == [True, False, False, False, True]
    assert scan_input(InputSpec(str(tmp_path / "p.jsonl")), strict=False, warn=lambda m: None) == 5
    assert load_image(pairs[0], None).shape == (30, 40, 3)


def test_csv_and_parquet_variants(tmp_path: Path) -> None:
    data = _png(tmp_path / "a.png")
    with (tmp_path / "p.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "caption"])
        w.writerow(["a.png", "a caption, with a comma"])
    [p] = read_pairs(InputSpec(str(tmp_path / "p.csv")))
    assert p.caption == "a caption, with a comma" and p.image_path == "a.png"
    struct = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table(
        {
            "img": pa.array([{"bytes": data, "path": None}, {"bytes": None, "path": "a.png"}], struct),
            "text": ["x", "y"],
        }
    )
    pq.write_table(table, tmp_path / "s.parquet")
    pairs = list(
        read_pairs(InputSpec(str(tmp_path / "s.parquet"), image_column="img", caption_column="text"))
    )
    assert pairs[0].image_bytes == data and pairs[1].image_path == "a.png"
    assert all(load_image(p, 20).shape == (15, 20, 3) for p in pairs)
    pq.write_table(pa.table({"image": [data], "caption": ["z"]}), tmp_path / "b.parquet")
    [b] = read_pairs(InputSpec(str(tmp_path / "b.parquet")))
    assert b.image_bytes == data
    with pytest.raises(ValueError, match="no column 'nope'"):
        list(read_pairs(InputSpec(str(tmp_path / "b.parquet"), image_column="nope")))


def test_folder_layouts(tmp_path: Path) -> None:
    _png(tmp_path / "f1" / "a.png")
    (tmp_path / "f1" / "metadata.jsonl").write_text(json.dumps({"file_name": "a.png", "caption": "c"}) + "\n")
    [p] = read_pairs(InputSpec(str(tmp_path / "f1")))
    assert p.image_path == "a.png" and Path(p.base) == tmp_path / "f1"
    _png(tmp_path / "f2" / "b.png")
    (tmp_path / "f2" / "captions.tsv").write_text("b.png\ta caption\nno-tab-line\n")
    pairs = list(read_pairs(InputSpec(str(tmp_path / "f2"))))
    assert pairs[0].caption == "a caption" and pairs[1].error is not None
    (tmp_path / "f3").mkdir()
    with pytest.raises(FileNotFoundError, match="captions file"):
        list(read_pairs(InputSpec(str(tmp_path / "f3"))))


def test_wit_tsv(tmp_path: Path) -> None:
    _png(tmp_path / "Bridge_(1).png")
    header = ["language", "page_url", "image_url", "page_title", "caption_reference_description"]
    rows = [
        ["en", "u", "https://upload.wikimedia.org/x/Bridge_%281%29.png", "t", "A bridge over the river"],
        ["fr", "u", "https://upload.wikimedia.org/x/Pont.png", "t", "Un pont"],
    ]
    with gzip.open(tmp_path / "wit.tsv.gz", "wt", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(header)
        w.writerows(rows)
    spec = InputSpec(str(tmp_path / "wit.tsv.gz"), language="en")
    assert detect_format(spec.path) == "wit"
    a, b = read_pairs(spec)
    assert a.image_path == "Bridge_(1).png" and a.caption == "A bridge over the river"
    assert b.error == "other_language"
    assert load_image(a, 300).shape[1] == 300


def test_load_image_errors_are_image_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(ImageError, match=r"bad\.png"):
        load_image(Pair(0, "c", "bad.png", base=str(tmp_path)), 300)
    with pytest.raises(ImageError, match=r"missing\.png"):
        load_image(Pair(0, "c", "missing.png", base=str(tmp_path)), 300)
    good = io.BytesIO()
    Image.new("RGB", (64, 48), (9, 99, 199)).save(good, "JPEG")
    for name, data in [
        ("empty.jpg", b""),
        ("cut.jpg", good.getvalue()[:200]),
        ("noise.jpg", bytes(range(256)) * 8),
    ]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageError):
            load_image(Pair(0, "c", name, base=str(tmp_path)), 300)
    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = 1000  # 64x48 = 3072 pixels: over the limit
        with pytest.raises(ImageError, match=r"decompression bomb|exceeds limit"):
            load_image(Pair(0, "c", image_bytes=good.getvalue()), None)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    rgba.save(tmp_path / "t.png")
    arr = load_image(Pair(0, "c", "t.png", base=str(tmp_path)), None)
    assert (arr == 255).all()  # transparent becomes white
    assert np.asarray(arr).dtype == np.uint8


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="--format"):
        detect_format("pairs.xyz")
