#!/usr/bin/env python3
"""Writes a blank frame (flat grey 64x64 8-bit PNG) to the path given: an
image the server answers but flags with image_quality BLANK, so
lineserve_image_quality_issues_total has a sample. Standard library only."""
import struct
import sys
import zlib


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


WIDTH = HEIGHT = 64
rows = b"".join(b"\x00" + b"\x80" * WIDTH for _ in range(HEIGHT))
png = (b"\x89PNG\r\n\x1a\n" +
       chunk(b"IHDR", struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0, 0, 0, 0)) +
       chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
with open(sys.argv[1], "wb") as out:
    out.write(png)
