#!/usr/bin/env python3
"""Writes o200k_base.zlib: the o200k_base vocabulary (tiktoken's `<base64 token> <rank>` lines, 3.6 MB) as
each token's raw bytes behind a one-byte length, in rank order, zlib-compressed (about 1 MB).

Run with the path of tiktoken-rs's assets/o200k_base.tiktoken (in the cargo registry). The test
`providers::vocab::tests::same_vocabulary_as_tiktoken_rs` proves the result decodes to tiktoken-rs's own."""
import base64
import sys
import zlib
from pathlib import Path

source = Path(sys.argv[1]).read_text().splitlines()
out = bytearray()
for expected, line in enumerate(l for l in source if l):
    token, rank = line.split(" ")
    assert int(rank) == expected, f"ranks must run 0, 1, 2...: {line}"
    raw = base64.b64decode(token)
    assert 0 < len(raw) < 256
    out += bytes([len(raw)]) + raw
Path(__file__).with_name("o200k_base.zlib").write_bytes(zlib.compress(bytes(out), 9))
