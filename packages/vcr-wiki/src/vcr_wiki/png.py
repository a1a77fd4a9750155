"""A fast, lossless PNG writer for RGB arrays that reuses compressed row blocks.

Rows are filtered with the PNG "Sub" filter (row-local) and deflated with zlib's run-length strategy,
which is several times faster than Pillow's adaptive filtering + default deflate on photos at a similar
size. Because the filter is row-local and each block ends with a full flush, a block of rows compressed
once (the picture) can be shared by two PNG files (``image`` and ``stacked_image``).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZLIB_HEADER = b"\x78\x01"
_FINAL_EMPTY_BLOCK = b"\x03\x00"


@dataclass(frozen=True)
class RowBlock:
    """Filtered rows of an RGB image, deflated as a self-contained, byte-aligned raw-deflate piece."""

    width: int
    height: int
    raw: bytes
    deflated: bytes


def _filtered_rows(rows: np.ndarray) -> bytes:
    """Rows prefixed with filter type 1 (Sub): each byte minus the byte one pixel to the left."""
    if rows.ndim != 3 or rows.shape[2] != 3 or rows.dtype != np.uint8:
        raise ValueError(f"expected a uint8 array of shape (h, w, 3), got {rows.dtype} {rows.shape}")
    h, w, _ = rows.shape
    out = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    out[:, 0] = 1
    flat = rows.reshape(h, 3 * w)
    out[:, 1:4] = flat[:, :3]
    np.subtract(flat[:, 3:], flat[:, :-3], out=out[:, 4:])
    return out.tobytes()


def compress_rows(rows: np.ndarray, level: int = 1) -> RowBlock:
    """Filter and deflate a block of RGB rows (shape (h, w, 3), uint8)."""
    raw = _filtered_rows(np.ascontiguousarray(rows))
    comp = zlib.compressobj(level, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    data = comp.compress(raw) + comp.flush(zlib.Z_FULL_FLUSH)
    return RowBlock(rows.shape[1], rows.shape[0], raw, data)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def assemble_png(blocks: list[RowBlock]) -> bytes:
    """A PNG file (8-bit RGB) whose rows are the blocks' rows, top to bottom."""
    if not blocks:
        raise ValueError("a PNG needs at least one block of rows")
    width = blocks[0].width
    if any(b.width != width for b in blocks):
        raise ValueError(f"blocks differ in width: {[b.width for b in blocks]}")
    height = sum(b.height for b in blocks)
    adler = 1
    for b in blocks:
        adler = zlib.adler32(b.raw, adler)
    idat = b"".join(
        [_ZLIB_HEADER, *(b.deflated for b in blocks), _FINAL_EMPTY_BLOCK, struct.pack(">I", adler)]
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of one uint8 RGB array of shape (h, w, 3)."""
    return assemble_png([compress_rows(rgb)])
