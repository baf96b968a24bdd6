"""Streaming SHA-256 of files in constant memory, one file or many, with the chunk digests of the
registry's Merkle tree (registry.merkle) computed from the same read."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from registry.infra.merkle import CHUNK_SIZE, merkle_root

# 1 MiB reads: large enough that the per-call cost vanishes next to OpenSSL's hashing, small enough
# to stay in the CPU caches.
READ_SIZE = 1 << 20
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class FileDigest:
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class ChunkedDigest(FileDigest):
    chunks: tuple[str, ...]  # SHA-256 of each CHUNK_SIZE chunk, in order (empty: not asked for)

    @property
    def root(self) -> str:
        return merkle_root(self.chunks)


def hash_file(path: Path, progress: Progress | None = None) -> FileDigest:
    """SHA-256 of the file: the digest runs on a second thread while this one reads the next
    piece, so the copy out of the page cache is not added to the hashing time."""
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as handle:
        size = _pipelined(handle, READ_SIZE, digest.update, None, progress)
    return FileDigest(digest.hexdigest(), size)


def hash_files(
    paths: Sequence[Path], jobs: int = 1, progress: Progress | None = None
) -> list[FileDigest]:
    """Many files on `jobs` threads: hashlib releases the GIL while it hashes, so the threads
    run on separate cores."""
    if jobs <= 1 or len(paths) <= 1:
        return [hash_file(path, progress) for path in paths]
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda path: hash_file(path, progress), paths))


def _fill(handle: BinaryIO, buffer: bytearray) -> int:
    """Read until `buffer` is full or the file ends; the number of bytes read."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer):
        count = handle.readinto(view[filled:])  # type: ignore[attr-defined]
        if not count:
            break
        filled += count
    return filled


def hash_file_chunked(path: Path, progress: Progress | None = None) -> ChunkedDigest:
    """SHA-256 of the file and of each chunk, from one read. A file of one chunk has one digest
    for both; a larger one has its whole-file digest computed on a second thread (a second
    core) while this one reads and hashes the chunks."""
    with path.open("rb", buffering=0) as handle:
        return _hash_open_chunked(handle, progress)


def hash_descriptor_chunked(
    fd: int, progress: Progress | None = None, chunks: bool = True
) -> ChunkedDigest:
    """hash_file_chunked of a file its caller holds open (`fd`, left open), from its start: the
    very file that was opened, whatever its path names meanwhile. `chunks` off: the whole-file
    digest only (chunks is then empty), for a run that publishes nothing."""
    with os.fdopen(os.dup(fd), "rb", buffering=0) as handle:
        handle.seek(0)
        if chunks:
            return _hash_open_chunked(handle, progress)
        digest = hashlib.sha256()
        size = _pipelined(handle, READ_SIZE, digest.update, None, progress)
        return ChunkedDigest(digest.hexdigest(), size, ())


def _hash_open_chunked(handle: BinaryIO, progress: Progress | None) -> ChunkedDigest:
    """A file of one chunk has one digest for both; a larger one takes the pipelined path."""
    size = os.fstat(handle.fileno()).st_size
    if size <= CHUNK_SIZE:
        data = handle.read(CHUNK_SIZE + 1)
        if len(data) <= CHUNK_SIZE:
            if progress is not None:
                progress(len(data))
            digest = hashlib.sha256(data).hexdigest()
            return ChunkedDigest(digest, len(data), (digest,))
        handle.seek(0)  # it grew while being read: take the general path
    return _hash_chunks(handle, progress)


def _hash_chunks(handle: BinaryIO, progress: Progress | None) -> ChunkedDigest:
    whole = hashlib.sha256()
    chunks: list[str] = []
    size = _pipelined(
        handle,
        CHUNK_SIZE,
        whole.update,
        lambda view: chunks.append(hashlib.sha256(view).hexdigest()),
        progress,
    )
    return ChunkedDigest(whole.hexdigest(), size, tuple(chunks))


def _pipelined(
    handle: BinaryIO,
    piece: int,
    on_thread: Callable[[memoryview], object],
    here: Callable[[memoryview], object] | None,
    progress: Progress | None,
) -> int:
    """Read the file in `piece`-byte pieces into two alternating buffers; `on_thread` consumes
    each piece on a second thread (hashlib releases the GIL: a second core) while this thread
    runs `here` on it and reads the next. Returns the number of bytes read."""
    buffers = [bytearray(piece), bytearray(piece)]
    pending: list[Future[object] | None] = [None, None]
    size = 0
    with ThreadPoolExecutor(1) as pool:
        for index in itertools.count():
            slot = index % 2
            previous = pending[slot]
            if previous is not None:
                previous.result()  # the buffer is free once the thread consumed it
            count = _fill(handle, buffers[slot])
            if count == 0 and index > 0:
                break
            view = memoryview(buffers[slot])[:count]
            pending[slot] = pool.submit(on_thread, view)
            if here is not None:
                here(view)
            size += count
            if progress is not None:
                progress(count)
            if count < piece:
                break
        for future in pending:
            if future is not None:
                future.result()
    return size
