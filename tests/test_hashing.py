"""Streaming SHA-256: correct, and in constant memory whatever the file size."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

from registry.infra.hashing import hash_file


def test_hash_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = os.urandom(3 * 1024 * 1024 + 17)
    path.write_bytes(data)
    digest = hash_file(path)
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.size == len(data)


def test_hash_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sparse"
    with path.open("wb") as handle:
        handle.truncate(256 * 1024 * 1024)  # 256 MiB of zeros without writing them
    tracemalloc.start()
    digest = hash_file(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert digest.size == 256 * 1024 * 1024
    assert peak < 4 * 1024 * 1024, peak


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert hash_file(path).sha256 == hashlib.sha256(b"").hexdigest()
