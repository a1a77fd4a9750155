"""Readers of local image-caption tables and the image filters of the builder.

Formats: JSONL, CSV, Parquet (image as a path, raw bytes, or the ``datasets`` Image struct
``{"bytes", "path"}``), a folder of images with a captions file (``metadata.jsonl``/``metadata.csv`` with
``file_name`` as in Hugging Face imagefolder, or ``captions.tsv``/``captions.txt`` with
``file<TAB>caption`` lines), and the WIT TSV layout (``.tsv`` or ``.tsv.gz``; images looked up locally).

Every row gets an index (its position in the table, which becomes ``question_id``); a row that cannot be
read is yielded with an ``error`` so that the build counts it instead of crashing.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import stat
import sys
import urllib.parse
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vcr_wiki.builder.png_inflate import repack

FORMATS = ("jsonl", "csv", "parquet", "folder", "wit")
WIT_CAPTION = "caption_reference_description"
_FOLDER_FILES = ("metadata.jsonl", "metadata.csv", "captions.tsv", "captions.txt")
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


@dataclass(frozen=True)
class Pair:
    """One row of an input table: a caption and an image given by path or bytes (or an error)."""

    index: int
    caption: str | None
    image_path: str | None = None
    image_bytes: bytes | None = None
    base: str = "."
    error: str | None = None
    root: str | None = None  # image paths must resolve inside this folder (None: anywhere)


@dataclass(frozen=True)
class InputSpec:
    """Where and how to read the pairs."""

    path: str
    format: str | None = None
    image_column: str = "image"
    caption_column: str = "caption"
    image_root: str | None = None
    language: str | None = None  # WIT only: keep rows of this language
    allow_outside_paths: bool = False  # image paths may leave the input folder (absolute, "..", links)

    def root(self, base: str) -> str | None:
        """The folder image paths are confined to, or None when ``allow_outside_paths``."""
        return None if self.allow_outside_paths else base


def detect_format(path: str | os.PathLike[str]) -> str:
    """The input format implied by the path (folder, extension)."""
    p = Path(path)
    if p.is_dir():
        return "folder"
    name = p.name.lower()
    for suffix, fmt in (
        (".jsonl", "jsonl"),
        (".json", "jsonl"),
        (".csv", "csv"),
        (".parquet", "parquet"),
        (".tsv", "wit"),
        (".tsv.gz", "wit"),
    ):
        if name.endswith(suffix):
            return fmt
    raise ValueError(f"cannot tell the format of {str(p)!r}; pass --format one of {FORMATS}")


def _bad_text(lineno: int) -> str:
    return f"bad_encoding: line {lineno} is not valid UTF-8"


def _jsonl(path: Path, spec: InputSpec) -> Iterator[Pair]:
    base = str(spec.image_root or path.parent)
    index = 0
    with path.open("r", encoding="utf-8", errors="surrogateescape") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if _UNDECODABLE.search(line):
                yield Pair(index, None, base=base, error=_bad_text(lineno))
                index += 1
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                yield Pair(index, None, base=base, error=f"bad_row: line {lineno}: {exc}")
            else:
                yield _from_mapping(index, row, spec, base)
            index += 1


def _from_mapping(index: int, row: dict[str, Any], spec: InputSpec, base: str) -> Pair:
    caption = row.get(spec.caption_column)
    image = row.get(spec.image_column)
    if isinstance(image, dict):
        data, image = image.get("bytes"), image.get("path")
        if isinstance(data, (bytes, bytearray)):
            return Pair(index, _text(caption), image_bytes=bytes(data), base=base)
    if not isinstance(image, str) or not image:
        return Pair(index, _text(caption), base=base, error=f"bad_row: no {spec.image_column!r} path")
    return Pair(index, _text(caption), image_path=image, base=base, root=spec.root(base))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _csv(path: Path, spec: InputSpec, delimiter: str = ",") -> Iterator[Pair]:
    base = str(spec.image_root or path.parent)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open("r", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        for index, row in enumerate(reader):
            if any(isinstance(v, str) and _UNDECODABLE.search(v) for v in row.values()):
                yield Pair(index, None, base=base, error=_bad_text(reader.line_num))
            else:
                yield _from_mapping(index, row, spec, base)


def _parquet(path: Path, spec: InputSpec) -> Iterator[Pair]:
    import pyarrow.parquet as pq

    base = str(spec.image_root or path.parent)
    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    for col in (spec.image_column, spec.caption_column):
        if col not in names:
            raise ValueError(f"{path}: no column {col!r} (columns: {names})")
    index = 0
    for batch in pf.iter_batches(batch_size=256, columns=[spec.image_column, spec.caption_column]):
        images = batch.column(0).to_pylist()
        captions = batch.column(1).to_pylist()
        for image, caption in zip(images, captions, strict=False):
            if isinstance(image, (bytes, bytearray)):
                yield Pair(index, _text(caption), image_bytes=bytes(image), base=base)
            else:
                flat = InputSpec(str(path), allow_outside_paths=spec.allow_outside_paths)
                yield _from_mapping(index, {"image": image, "caption": caption}, flat, base)
            index += 1


def _folder(path: Path, spec: InputSpec) -> Iterator[Pair]:
    found = [path / f for f in _FOLDER_FILES if (path / f).is_file()]
    if not found:
        raise FileNotFoundError(f"folder {str(path)!r} has no captions file; expected one of {_FOLDER_FILES}")
    listing = found[0]
    sub = InputSpec(
        str(listing),
        image_column="file_name",
        caption_column=spec.caption_column,
        allow_outside_paths=spec.allow_outside_paths,
    )
    if listing.name == "metadata.jsonl":
        yield from _jsonl(listing, sub)
    elif listing.name == "metadata.csv":
        yield from _csv(listing, sub)
    else:
        with listing.open("r", encoding="utf-8", errors="surrogateescape") as fh:
            index = 0
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                name, tab, caption = line.rstrip("\n").partition("\t")
                if _UNDECODABLE.search(line):
                    yield Pair(index, None, base=str(path), error=_bad_text(lineno))
                elif not tab:
                    yield Pair(index, None, base=str(path), error=f"bad_row: line {lineno}: no tab")
                else:
                    yield Pair(index, caption, image_path=name, base=str(path), root=spec.root(str(path)))
                index += 1


def _wit(path: Path, spec: InputSpec) -> Iterator[Pair]:
    base = str(spec.image_root or path.parent)
    caption_col = spec.caption_column if spec.caption_column != "caption" else WIT_CAPTION
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with opener(path, "rt", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        for index, row in enumerate(reader):
            if any(isinstance(v, str) and _UNDECODABLE.search(v) for v in row.values()):
                yield Pair(index, None, base=base, error=_bad_text(reader.line_num))
                continue
            if spec.language and row.get("language") != spec.language:
                yield Pair(index, None, base=base, error="other_language")
                continue
            name = row.get("image_path") or ""
            if not name:
                url = row.get("image_url") or ""
                name = urllib.parse.unquote(url.rsplit("/", 1)[-1]) if url else ""
            if not name:
                yield Pair(index, None, base=base, error="bad_row: no image_url")
                continue
            yield Pair(index, row.get(caption_col) or "", image_path=name, base=base, root=spec.root(base))


def check_input(spec: InputSpec) -> None:
    """Refuse an input that is not a regular file or a folder, without opening it (ValueError, one line).

    A FIFO would block the build, and a pipe such as ``--input <(cat table)`` cannot be read twice (the
    build counts the rows, then reads them).
    """
    text = str(spec.path)
    if "\0" in text:
        raise ValueError(f"input {text!r} holds a NUL byte")
    try:
        mode = os.stat(text).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"input {text!r} does not exist") from None
    except OSError as exc:
        raise ValueError(f"input {text!r} cannot be read ({exc.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(
            f"input {text!r} is not a regular file or folder (a FIFO or a pipe such as <(...) cannot be "
            "read twice); save the table to a file first"
        )


def read_pairs(spec: InputSpec) -> Iterator[Pair]:
    """Stream the pairs of a table in order; unreadable rows come with ``error`` set."""
    check_input(spec)
    path = Path(spec.path)
    fmt = spec.format or detect_format(path)
    if fmt == "jsonl":
        return _jsonl(path, spec)
    if fmt == "csv":
        return _csv(path, spec)
    if fmt == "parquet":
        return _parquet(path, spec)
    if fmt == "folder":
        return _folder(path, spec)
    if fmt == "wit":
        return _wit(path, spec)
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")


class ImageError(ValueError):
    """An image that is missing, unreadable, outside the input folder or too large to decode safely."""

    def __init__(self, message: str, reason: str = "bad_image") -> None:
        super().__init__(message)
        self.reason = reason


def image_source(pair: Pair) -> Path:
    """The resolved path of a pair's image file; ImageError when it leaves the pair's root folder."""
    name = pair.image_path or ""
    if "\0" in name:
        raise ImageError(f"row {pair.index}: image path {name!r} holds a NUL byte")
    p = Path(name)
    try:
        path = (p if p.is_absolute() else Path(pair.base) / p).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        raise ImageError(f"row {pair.index}: cannot resolve image {name!r}: {exc}") from None
    if pair.root is not None and not path.is_relative_to(Path(pair.root).resolve()):
        raise ImageError(
            f"row {pair.index}: image {pair.image_path!r} is outside the input folder {pair.root!r} "
            "(pass --allow-outside-paths to allow it)",
            reason="outside_input",
        )
    return path


def read_image_bytes(pair: Pair) -> bytes:
    """The encoded bytes of a pair's image (inline, or a regular file inside the input folder)."""
    if pair.image_bytes is not None:
        return pair.image_bytes
    path = image_source(pair)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the build
    except OSError as exc:
        raise ImageError(f"row {pair.index}: cannot open image {pair.image_path!r}: {exc}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, a FIFO, a device
        os.close(fd)
        raise ImageError(f"row {pair.index}: image {pair.image_path!r} is not a regular file")
    with os.fdopen(fd, "rb") as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise ImageError(f"row {pair.index}: cannot read image {pair.image_path!r}: {exc}") from exc


def load_image(pair: Pair, width: int | None, data: bytes | None = None) -> np.ndarray:
    """The pair's image as a uint8 RGB array, resized to ``width`` (aspect kept) when given.

    ``data``: the image's bytes when already read (``read_image_bytes``). Large images are reduced while
    decoding (JPEG ``draft``, integer ``reduce``) to at most twice the target before the bicubic resize.
    Transparent images are composited on white. Pillow's decompression-bomb limit stays on. Every failure
    is raised as ``ImageError``.
    """
    try:
        raw = read_image_bytes(pair) if data is None else data
        source = io.BytesIO(repack(raw) or raw)  # PNG: ISA-L inflate, Pillow's pixels (png_inflate)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                if width and img.format == "JPEG" and img.width > 2 * width:
                    img.draft("RGB", (2 * width, max(1, 2 * img.height * width // img.width)))
                img.load()
                rgb = _to_rgb(img)
        return np.asarray(resize_to_width(rgb, width), dtype=np.uint8)
    except ImageError:
        raise
    except Exception as exc:  # any decoder failure on a malformed file is a data problem, never a crash
        raise ImageError(f"row {pair.index}: cannot use image {pair.image_path or '<bytes>'}: {exc}") from exc


def resize_to_width(rgb: Image.Image, width: int | None) -> Image.Image:
    """``rgb`` resized to ``width`` (aspect kept; bicubic), first reduced by an integer factor when it is
    at least four times wider; unchanged when ``width`` is None or already its width."""
    if not width or rgb.width == width:
        return rgb
    factor = rgb.width // (2 * width)
    if factor >= 2:
        rgb = rgb.reduce(factor)
    height = max(1, round(rgb.height * width / rgb.width))
    return rgb.resize((width, height), Image.Resampling.BICUBIC)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")
