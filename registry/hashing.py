"""Streaming SHA-256 and size of files, in constant memory whatever their size."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# 1 MiB reads: large enough that the per-call cost vanishes next to OpenSSL's hashing, small enough
# to stay in the CPU caches.
READ_SIZE = 1 << 20


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    size: int


def hash_file(path: Path, progress: Callable[[int], None] | None = None) -> FileDigest:
    digest = hashlib.sha256()
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    size = 0
    with path.open("rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
            size += count
            if progress is not None:
                progress(count)
    return FileDigest(digest.hexdigest(), size)
