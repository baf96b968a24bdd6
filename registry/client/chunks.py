"""Downloading a file chunk by chunk against its Merkle chunk digests (chunks.json).

Each chunk is verified as it arrives; a corrupted chunk is fetched again on its own (an HTTP
range request) instead of restarting, and when it stays corrupted nothing is kept; an interrupted
download leaves the verified chunks in a partial file that the next attempt resumes from (after
checking them again). The whole file's SHA-256 is still checked at the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from registry.errors import ModelregError
from registry.infra.hashing import READ_SIZE, Progress
from registry.infra.merkle import merkle_root
from registry.infra.transport import read_up_to

SHA256 = re.compile(r"[0-9a-f]{64}")
RETRIES = 3  # attempts to fetch one corrupted chunk again


class ChunkError(ModelregError):
    """The download failed; the message says whether running it again resumes it."""


class CorruptChunk(ChunkError):
    """The server keeps sending a chunk that does not verify: resuming would not help."""


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    sha256: str
    size: int
    chunk_size: int
    chunks: tuple[str, ...]

    def span(self, index: int) -> tuple[int, int]:
        """First byte and length of chunk `index`."""
        start = index * self.chunk_size
        return start, min(self.chunk_size, self.size - start)

    def check(self, sha256: str, size: int, root: str) -> None:
        """That this plan is the one of the file the record describes: the same SHA-256 and
        size, as many chunks as the size makes, and the record's Merkle root over them."""
        expected = max(1, -(-self.size // self.chunk_size))
        if (
            (self.sha256, self.size) != (sha256, size)
            or len(self.chunks) != expected
            or merkle_root(self.chunks) != root
        ):
            raise ChunkError(
                "chunks.json does not match the record (SHA-256, size or Merkle root): the "
                "registry's chunks.json is corrupted or was replaced"
            )


# Opens `url` from byte `start` (to `end`, inclusive): the stream and the offset it really starts
# at (0 when the server ignores the range). The client's transport, which decides where it may go.
Opener = Callable[[str, int, "int | None"], tuple[Any, int]]


def _verified_prefix(partial: Path, plan: ChunkPlan, whole: Any) -> int:
    """How many chunks at the start of `partial` are intact (fed to `whole`, the file's
    SHA-256); the file is cut after them."""
    if not partial.is_file():
        return 0
    good = 0
    with partial.open("r+b") as handle:
        for index in range(len(plan.chunks)):
            _, length = plan.span(index)
            data = handle.read(length)
            if len(data) != length or hashlib.sha256(data).hexdigest() != plan.chunks[index]:
                break
            whole.update(data)
            good += 1
        handle.truncate(plan.span(good)[0] if good < len(plan.chunks) else plan.size)
    return good


def fetch_chunked(
    url: str, partial: Path, plan: ChunkPlan, progress: Progress | None, opener: Opener
) -> int:
    """Complete `partial` from `url`, verifying each chunk; the number of chunks fetched
    again after a mismatch. Raises ChunkError (the partial file is kept for a resume)."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    with _alone(partial):
        return _complete(url, partial, plan, progress, opener)


@contextlib.contextmanager
def _alone(partial: Path) -> Iterator[None]:
    """One fetch at a time completes a partial file: a second one into the same folder fails
    instead of writing into it too."""
    lock = partial.with_name(partial.name + ".lock")
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ChunkError(
                "another fetch is downloading the same file; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)


def _complete(
    url: str, partial: Path, plan: ChunkPlan, progress: Progress | None, opener: Opener
) -> int:
    whole = hashlib.sha256()  # of the kept chunks, then of each verified chunk as it is written
    first = _verified_prefix(partial, plan, whole)
    if progress is not None:
        progress(plan.span(first)[0] if first < len(plan.chunks) else plan.size)
    refetched = 0
    try:
        with partial.open("ab") as out, _Sink(out, whole) as sink:
            if first < len(plan.chunks):
                refetched = _stream(url, sink, plan, first, progress, opener)
    except CorruptChunk:
        partial.unlink()  # an interruption keeps the verified chunks; a corrupt server does not
        raise
    except ChunkError:
        if partial.stat().st_size == 0:
            partial.unlink()  # nothing to resume from
        raise
    if whole.hexdigest() != plan.sha256:
        partial.unlink()
        raise ChunkError(
            f"{url}: every chunk verified but the file's SHA-256 is {whole.hexdigest()}, not "
            f"{plan.sha256}: the registry's chunks.json and record disagree; nothing was kept"
        )
    return refetched


class _Sink:
    """Writes verified chunks (and feeds the file's SHA-256) on a second thread, so that the
    disk and the whole-file digest keep pace with the network instead of taking turns with it
    (file writes and hashlib release the GIL). At most two chunks wait; leaving the block
    waits for every write, so the partial file holds whatever was verified."""

    def __init__(self, out: BinaryIO, whole: Any) -> None:
        self.out, self.whole = out, whole
        self.pool = ThreadPoolExecutor(1)
        self.pending: deque[Future[None]] = deque()

    def __enter__(self) -> _Sink:
        return self

    def write(self, data: bytes) -> None:
        while len(self.pending) >= 2:
            self.pending.popleft().result()
        self.pending.append(self.pool.submit(self._keep, data))

    def _keep(self, data: bytes) -> None:
        self.out.write(data)
        self.out.flush()  # a cut run keeps what was verified
        self.whole.update(data)

    def __exit__(self, *exc: object) -> None:
        try:
            while self.pending:
                self.pending.popleft().result()
        finally:
            self.pool.shutdown()


def _receive(stream: BinaryIO, length: int, url: str, where: str) -> bytes:
    """Exactly `length` bytes; a cut connection is an error that running again resumes."""
    try:
        data = read_up_to(stream.read, length)
    except (OSError, http.client.HTTPException) as exc:
        raise ChunkError(
            f"{url}: the download was interrupted {where} ({exc}); run the same command to resume"
        ) from exc
    if len(data) != length:
        raise ChunkError(f"{url}: the download stopped {where}; run the same command to resume")
    return data


def _skip(stream: BinaryIO, count: int, url: str) -> None:
    """Read past `count` bytes a server sent although a range was asked (never kept)."""
    while count > 0:
        _receive(stream, min(READ_SIZE, count), url, "at the start")
        count -= min(READ_SIZE, count)


def _stream(
    url: str, out: _Sink, plan: ChunkPlan, first: int, progress: Progress | None, opener: Opener
) -> int:
    start = plan.span(first)[0]
    stream, offset = opener(url, start, None)
    refetched = 0
    with stream:
        _skip(stream, start - offset, url)  # a server that ignored the range
        for index in range(first, len(plan.chunks)):
            _, length = plan.span(index)
            where = f"after {index} of {len(plan.chunks)} chunks"
            data = _receive(stream, length, url, where)
            if hashlib.sha256(data).hexdigest() != plan.chunks[index]:
                data = _refetch(url, plan, index, opener)
                refetched += 1
            out.write(data)
            if progress is not None:
                progress(length)
    return refetched


def _refetch(url: str, plan: ChunkPlan, index: int, opener: Opener) -> bytes:
    """Chunk `index` alone, again, until it verifies (at most RETRIES times)."""
    start, length = plan.span(index)
    where = f"while fetching chunk {index} again"
    for _ in range(RETRIES):
        stream, offset = opener(url, start, start + length - 1)
        with stream:
            _skip(stream, start - offset, url)
            data = _receive(stream, length, url, where)
        if hashlib.sha256(data).hexdigest() == plan.chunks[index]:
            return data
    raise CorruptChunk(
        f"{url}: chunk {index} (bytes {start}-{start + length - 1}) does not match its SHA-256 "
        f"in chunks.json after {RETRIES} more attempts: the file on the server is corrupted; "
        "nothing was kept"
    )


def plan_from(entry: dict[str, Any], chunk_size: int) -> ChunkPlan:
    """The plan of one file of chunks.json; ValueError (or KeyError, TypeError) when the entry
    is not one."""
    chunks: Sequence[Any] = entry.get("chunks") or ()
    digests = (entry["sha256"], *chunks)
    if not all(isinstance(d, str) and SHA256.fullmatch(d) for d in digests):
        raise ValueError("a digest is not a SHA-256 in hexadecimal")
    return ChunkPlan(str(entry["sha256"]), int(entry["size"]), chunk_size, tuple(chunks))
