#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Regenerates the python3-lzo test vectors used by tests/vectors.rs.

For each input NAME.bin, writes NAME.lzo1 (lzo.compress level 1, i.e.
liblzo2's lzo1x_1_compress) and NAME.lzo9 (level 9, lzo1x_999_compress),
both without python-lzo's 5-byte header. Run with Debian's python3 and
python3-lzo (liblzo2 2.10): /usr/bin/python3 gen_vectors.py
"""
import struct
import lzo


def lcg(n, seed):
    out = bytearray()
    x = seed
    while len(out) < n:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(x >> 56)
    return bytes(out)


inputs = {
    "text": b"".join(b"line %d: the quick brown fox jumps over %x lazy dogs\n" % (i, i * 7)
                     for i in range(160))[:8000],
    "records": b"".join(struct.pack("<IIHHQ", i, i * i, i & 0xff, 0xbeef, 1 << (i % 64))
                        for i in range(300)),
    "mixed": lcg(3000, 1) + b"\0" * 3000 + lcg(1000, 2) * 3,
    "short": b"hello, hello, hello!",
}

for name, data in inputs.items():
    with open(name + ".bin", "wb") as f:
        f.write(data)
    for level in (1, 9):
        with open("%s.lzo%d" % (name, level), "wb") as f:
            f.write(lzo.compress(data, level, False))
