"""The ISA-L PNG inflate (``fast`` extra): Pillow's pixels for every kind of PNG, Pillow's errors otherwise."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from vcr_wiki.builder import png_inflate
from vcr_wiki.builder.inputs import ImageError, Pair, load_image

pytestmark = pytest.mark.skipif(not png_inflate.available(), reason="isal (the fast extra) is not installed")


def _png(im: Image.Image, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **params)
    return buf.getvalue()


def _pixels(data: bytes) -> tuple[str, tuple[int, int], bytes, dict]:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.mode, im.size, im.tobytes(), {k: v for k, v in im.info.items() if k != "dpi"}


def _noise(mode: str, size: tuple[int, int] = (173, 91)) -> Image.Image:
    rng = np.random.default_rng(0)
    smooth = np.linspace(0, 255, size[0] * size[1] * 4).reshape(size[1], size[0], 4)
    arr = (smooth + rng.integers(0, 40, smooth.shape)).clip(0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGBA").convert(mode)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _png(_noise("RGB")),
        lambda: _png(_noise("RGBA")),
        lambda: _png(_noise("L")),
        lambda: _png(_noise("LA")),
        lambda: _png(_noise("1")),
        lambda: _png(_noise("P")),
        lambda: _png(_noise("P"), transparency=3),
        lambda: _png(_noise("RGB").convert("I;16")),
        lambda: _png(_noise("RGB"), optimize=True),
        lambda: _png(_noise("RGB"), compress_level=0),
        lambda: _png(_noise("RGB", (1, 1))),
    ],
    ids=["rgb", "rgba", "l", "la", "1bit", "palette", "palette-trns", "16bit", "optimize", "stored", "1x1"],
)
def test_repacked_png_decodes_to_pillows_pixels(make) -> None:
    data = make()
    packed = png_inflate.repack(data)
    assert packed is not None and packed != data
    assert _pixels(packed) == _pixels(data)


def _split_idat(data: bytes, size: int) -> bytes:
    """The same PNG with its image data in IDAT chunks of ``size`` bytes (as encoders may write it)."""
    sig, pos, chunks, idat = data[:8], 8, [], b""
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks.append((kind, body))
        pos += 12 + length

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    parts = [chunk(k, b) for k, b in chunks[:-1]]
    parts += [chunk(b"IDAT", idat[i : i + size]) for i in range(0, len(idat), size)]
    return sig + b"".join(parts) + chunk(*chunks[-1])


def test_a_png_with_many_idat_chunks_keeps_its_pixels() -> None:
    data = _split_idat(_png(_noise("RGB")), 1000)
    assert data.count(b"IDAT") > 10
    assert _pixels(png_inflate.repack(data) or b"") == _pixels(data)


def test_damaged_or_unusual_files_are_left_to_pillow() -> None:
    data = _png(_noise("RGB"))
    assert png_inflate.repack(b"GIF89a....") is None
    assert png_inflate.repack(data[: len(data) // 2]) is None  # truncated
    damaged = bytearray(data)
    start = data.index(b"IDAT") + 20
    damaged[start : start + 50] = bytes(50)
    assert png_inflate.repack(bytes(damaged)) is None  # the stream does not inflate: Pillow reports it
    with pytest.raises(ImageError):
        load_image(Pair(0, "c", image_bytes=data[: len(data) // 2]), 300)


def test_load_image_gives_the_same_array_with_and_without_the_repack(monkeypatch: pytest.MonkeyPatch) -> None:
    import vcr_wiki.builder.inputs as inputs

    pictures = [_png(_noise(mode, (1000, 700))) for mode in ("RGB", "RGBA", "P")]
    fast = [load_image(Pair(0, "c", image_bytes=d), 300) for d in pictures]
    monkeypatch.setattr(inputs, "repack", lambda data: None)
    reference = [load_image(Pair(0, "c", image_bytes=d), 300) for d in pictures]
    assert all(np.array_equal(a, b) for a, b in zip(fast, reference, strict=True))
