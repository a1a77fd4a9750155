"""A faster PNG decode with Pillow's own pixels: the image data inflated by ISA-L, then handed to Pillow.

Most of a PNG decode is zlib's inflate of the IDAT stream (about two thirds on the builder's inputs).
With the ``fast`` extra (``isal``), ``repack`` inflates that stream with ISA-L's inflate (about 3.5x
zlib's), stores the same filtered scanlines in one uncompressed (stored-block) IDAT and keeps every other
chunk byte for byte; Pillow then decodes the result as usual (unfiltering, palettes, transparency,
interlacing: all Pillow's), so the pixels are Pillow's by construction. Pillow stays the reference: any
PNG this does not handle (animated, malformed, no ISA-L) is decoded from the original bytes.
"""

from __future__ import annotations

import struct
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SKIP = frozenset({b"acTL", b"fcTL", b"fdAT"})  # animated PNG: left to Pillow as it is


_BLOCK = 0xFFFF  # the largest stored deflate block


def _isal() -> tuple[Any, Any, Any]:
    """ISA-L's inflate, CRC-32 and Adler-32, or Nones without the ``fast`` extra."""
    try:
        from isal import isal_zlib
    except ImportError:
        return None, None, None
    return isal_zlib.decompress, isal_zlib.crc32, isal_zlib.adler32


_INFLATE, _CRC32, _ADLER32 = _isal()


def available() -> bool:
    """Whether the ISA-L inflate is installed (``pip install "vcr-wiki[fast]"``)."""
    return _INFLATE is not None


def repack(data: bytes) -> bytes | None:
    """``data`` (a PNG) with its image data inflated and stored uncompressed, or None when it is not a
    plain PNG this handles (Pillow then decodes the original)."""
    if _INFLATE is None or _CRC32 is None or not data.startswith(PNG_SIGNATURE):
        return None
    head: list[bytes] = []
    tail: list[bytes] = []
    idat: list[bytes] = []
    pos, end = len(PNG_SIGNATURE), len(data)
    while pos + 12 <= end:
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        stop = pos + 12 + length
        if stop > end or kind in _SKIP:
            return None
        if kind == b"IDAT":
            if tail:  # IDAT chunks must be consecutive
                return None
            idat.append(data[pos + 8 : pos + 8 + length])
        else:
            (tail if idat else head).append(data[pos:stop])
        pos = stop
        if kind == b"IEND":
            break
    if not idat or not tail or tail[-1][4:8] != b"IEND":
        return None
    try:
        raw = _INFLATE(b"".join(idat))
    except Exception:  # a damaged stream: Pillow reports it from the original bytes
        return None
    return b"".join([PNG_SIGNATURE, *head, *_stored_idat(raw), *tail])


def _stored_idat(raw: bytes) -> list[bytes | memoryview]:
    """One IDAT chunk holding ``raw`` as a zlib stream of stored (uncompressed) deflate blocks, as pieces
    for one ``join`` (the data is copied once)."""
    assert _CRC32 is not None and _ADLER32 is not None
    view = memoryview(raw)
    pieces: list[bytes | memoryview] = [b"IDAT", b"\x78\x01"]  # zlib header: deflate, no dictionary
    starts = range(0, len(raw), _BLOCK) if raw else [0]
    for start in starts:
        block = view[start : start + _BLOCK]
        last = start + _BLOCK >= len(raw)
        pieces += [struct.pack("<BHH", last, len(block), 0xFFFF ^ len(block)), block]
    pieces.append(struct.pack(">I", _ADLER32(raw)))
    crc = 0
    for piece in pieces:
        crc = _CRC32(piece, crc)
    length = sum(len(p) for p in pieces) - 4
    return [struct.pack(">I", length), *pieces, struct.pack(">I", crc)]
