"""How a run works, not what it checks: the cache, parallel jobs, and a shard of the registry."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Shard:
    """Part `index` of `count` (from 1): a version belongs to the part its id's SHA-256 picks,
    so the parts are disjoint, their union is the whole registry, and adding a version moves
    no other."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`I/N`; ValueError, with what to write instead, for any other text."""
        index, _, count = text.partition("/")
        if not (index.isdigit() and count.isdigit()) or not 1 <= int(index) <= int(count):
            raise ValueError(f"{text!r}: write I/N with 1 <= I <= N, e.g. 2/4")
        return cls(int(index), int(count))

    def holds(self, version_id: str) -> bool:
        named = version_id.encode("utf-8", "surrogateescape")  # a folder's bytes, UTF-8 or not
        number = int.from_bytes(hashlib.sha256(named).digest()[:8], "big")
        return number % self.count == self.index - 1


@dataclass(frozen=True, slots=True)
class RunOptions:
    cache: bool = True  # off: --no-cache
    cache_dir: Path | None = None  # --cache-dir: the cache root (default: the user's cache folder)
    jobs: int = 1  # processes that validate or render at the same time
    shard: Shard | None = None


def parse_jobs(text: str) -> int:
    """A number of processes; 0 means one per core. ValueError for any other text."""
    if not text.isdigit():
        raise ValueError(f"{text!r}: give a number of processes (0: one per core)")
    return int(text) or (os.cpu_count() or 1)
