"""What every test here shares: where the server is, the golden data, and
comparisons of float32 answers."""

import glob
import json
import os
import struct

GRPC_TARGET = os.environ.get("LINESERVE_GRPC", "127.0.0.1:8500")
HTTP_PORT = int(os.environ.get("LINESERVE_HTTP_PORT", "8000"))
HTTP_MAX_BODY = int(os.environ.get("LINESERVE_HTTP_MAX_BODY", str(16 << 20)))
GOLDEN = os.environ.get("LINESERVE_GOLDEN", "")
QUALITY = "quality_inspection"
EFFICIENCY = "efficiency_prediction"


def images():
    """(path, encoded bytes) of the golden images, sorted by name."""
    out = []
    for path in sorted(glob.glob(os.path.join(GOLDEN, "images", "*.png"))):
        with open(path, "rb") as f:
            out.append((path, f.read()))
    return out


def golden_answers(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return [json.loads(line) for line in f]


def f32(x):
    """The float32 a value stands for, as bytes (compare bit for bit)."""
    return struct.pack("<f", x)


def length_prefixed(items):
    """BYTES elements, each behind its 4-byte little-endian length."""
    return b"".join(struct.pack("<I", len(b)) + b for b in items)


def split_length_prefixed(raw):
    items, at = [], 0
    while at < len(raw):
        (n,) = struct.unpack_from("<I", raw, at)
        items.append(raw[at + 4:at + 4 + n])
        at += 4 + n
    return items


class GoldenClient:
    """Mixin for unittest.TestCase classes: a domain-API client and the
    golden images, rows and the efficiency model's features, once per class."""

    @classmethod
    def setUpClass(cls):
        import lineserve  # the installed package, imported where it is used

        cls.client = lineserve.Client(GRPC_TARGET, timeout=30)
        cls.images = images()
        cls.rows = lineserve.read_rows(os.path.join(GOLDEN, "rows.csv"))
        cls.features = cls.client.features(EFFICIENCY)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
