"""The fast PNG writer is lossless and valid, also when two files share a compressed block."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from vcr_wiki.png import assemble_png, compress_rows, encode_png


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.format == "PNG" and im.mode == "RGB"
        return np.asarray(im)


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 13, 3), (120, 300, 3)])
def test_roundtrip(shape: tuple[int, int, int]) -> None:
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(_decode(encode_png(a)), a)


def test_shared_block_in_two_files() -> None:
    rng = np.random.default_rng(1)
    top = rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)
    bottom = np.full((9, 40, 3), 255, np.uint8)
    block = compress_rows(top)
    alone = assemble_png([block])
    both = assemble_png([block, compress_rows(bottom)])
    assert np.array_equal(_decode(alone), top)
    assert np.array_equal(_decode(both), np.concatenate([top, bottom]))
    # the IDAT stream is a complete zlib stream with a valid checksum
    idat = both[both.index(b"IDAT") + 4 : both.index(b"IEND") - 8]
    zlib.decompress(idat)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="width"):
        assemble_png(
            [compress_rows(np.zeros((2, 2, 3), np.uint8)), compress_rows(np.zeros((2, 3, 3), np.uint8))]
        )
