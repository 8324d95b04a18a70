"""Small real image files for MediaCover answers, without an imaging library.

A cover is a tiny valid baseline JPEG (10x15 px, one colour, made once with Pillow and kept
here as bytes) with a JPEG comment segment (``FF FE``) saying which cover it is, so every id,
cover type, size and version gets different, deterministic bytes that any decoder reads.
Clear logos are ``.png`` in Radarr/Sonarr (R ``MediaCoverService.GetExtension``): a 1x1 PNG
with a ``tEXt`` chunk for the same purpose.
"""
from __future__ import annotations

import struct
import zlib

_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb0043001b12141714111b1716171e1c1b2028422b282525"
    "28513a3d3042605565645f555d5b6a7899816a7190735b5d85b586909ea3abadab6780bcc9baa6c799a8aba4ff"
    "db0043011c1e1e2823284e2b2b4ea46e5d6ea4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4"
    "a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4ffc0001108000f000a03012200021101031101ffc400"
    "1500010100000000000000000000000000000005ffc40014100100000000000000000000000000000000ffc400"
    "14010100000000000000000000000000000003ffc40014110100000000000000000000000000000000ffda000c"
    "03010002110311003f009c0182ffd9")
_APP0_END = 20  # SOI (2 bytes) + the JFIF APP0 segment (2 + 16)


def jpeg(comment: str) -> bytes:
    """The base JPEG with a comment segment right after the JFIF header."""
    text = comment.encode("utf-8")[:60000]
    return _JPEG[:_APP0_END] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + _JPEG[_APP0_END:]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(comment: str) -> bytes:
    """A 1x1 transparent PNG with a ``tEXt`` Comment chunk."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    text = b"Comment\x00" + comment.encode("latin-1", "replace")
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"tEXt", text)
            + _chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00", 9)) + _chunk(b"IEND", b""))


def jpeg_segments(data: bytes) -> list[int]:
    """Marker bytes of a JPEG up to the scan, ending with 0xD9 if it ends with EOI (for checks)."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI")
    markers, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        markers.append(marker)
        i += 2 + length
        if marker == 0xDA:
            break
    if data[-2:] == b"\xff\xd9":
        markers.append(0xD9)
    return markers
