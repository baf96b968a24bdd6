"""The Merkle tree over an artifact's fixed-size chunks (chunks.json), so that a download can be
verified chunk by chunk and a corrupted chunk fetched again alone.

Leaves are the plain SHA-256 of each CHUNK_SIZE chunk (the last one may be shorter; an empty file
has one empty chunk), so that a chunk checks against its digest with any SHA-256 tool. An inner
node is SHA-256(0x01 || left || right) over the binary digests. An odd node at the end of a
level moves up unchanged. The root of one chunk is that chunk's digest. Leaves carry no prefix
of their own, so the tree's shape is fixed by the file's size instead: a client checks that
there are ceil(size / chunk_size) chunks before it trusts the root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

CHUNK_SIZE = 8 << 20
NODE_PREFIX = b"\x01"


def merkle_root(chunks: Sequence[str]) -> str:
    """The root (hex) over chunk digests (hex)."""
    level = [bytes.fromhex(c) for c in chunks] or [hashlib.sha256(b"").digest()]
    while len(level) > 1:
        paired = [
            hashlib.sha256(NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()
