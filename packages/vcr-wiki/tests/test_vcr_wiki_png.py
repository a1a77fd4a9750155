"""The fast PNG writer is lossless and valid, also when two files share a compressed block."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from vcr_wiki.builder.png import assemble_png, compress_rows, encode_png, resolve_deflate


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.format == "PNG" and im.mode == "RGB"
        return np.asarray(im)


def _backends() -> list[str]:
    return ["zlib", "isal"] if resolve_deflate("auto") == "isal" else ["zlib"]


@pytest.mark.parametrize("backend", _backends())
@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 13, 3), (120, 300, 3)])
def test_roundtrip(shape: tuple[int, int, int], backend: str) -> None:
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(_decode(encode_png(a, backend)), a)


@pytest.mark.parametrize("backend", _backends())
def test_shared_block_in_two_files(backend: str) -> None:
    rng = np.random.default_rng(1)
    top = rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)
    bottom = np.full((9, 40, 3), 255, np.uint8)
    block = compress_rows(top, backend)
    alone = assemble_png([block])
    both = assemble_png([block, compress_rows(bottom, backend)])
    assert np.array_equal(_decode(alone), top)
    assert np.array_equal(_decode(both), np.concatenate([top, bottom]))
    # the IDAT stream is a complete zlib stream with a valid checksum
    idat = both[both.index(b"IDAT") + 4 : both.index(b"IEND") - 8]
    zlib.decompress(idat)


def test_backend_names() -> None:
    assert resolve_deflate("zlib") == "zlib"
    with pytest.raises(ValueError, match="'lzma'"):
        resolve_deflate("lzma")


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="width"):
        assemble_png(
            [compress_rows(np.zeros((2, 2, 3), np.uint8)), compress_rows(np.zeros((2, 3, 3), np.uint8))]
        )


def test_adler32_combine_matches_zlib() -> None:
    from vcr_wiki.builder.png import adler32_combine

    rng = np.random.default_rng(3)
    for n1, n2 in [(0, 5), (5, 0), (1, 1), (70000, 130000), (3, 65521 * 2 + 7)]:
        a = rng.integers(0, 256, n1, dtype=np.uint8).tobytes()
        b = rng.integers(0, 256, n2, dtype=np.uint8).tobytes()
        assert adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


def test_text_only_from_shared_blocks_equals_the_array() -> None:
    from vcr_wiki.builder.png import compress_gray_rows, white_rows

    tei = np.random.default_rng(4).integers(0, 256, (23, 31), dtype=np.uint8)
    data = assemble_png([white_rows(31, 5), compress_gray_rows(tei), white_rows(31, 0), white_rows(31, 6)])
    expected = np.full((34, 31, 3), 255, np.uint8)
    expected[5:28] = tei[:, :, None]
    assert np.array_equal(_decode(data), expected)
