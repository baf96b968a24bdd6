"""One file from the registry into place: its size and SHA-256 checked as it streams."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from registry.infra.hashing import READ_SIZE, Progress
from registry.infra.transport import FetchError, Transport


def stream_to(
    transport: Transport,
    url: str,
    target: Path,
    sha256: str,
    size: int,
    progress: Progress | None = None,
) -> None:
    """Stream `url` into `target` checking size and SHA-256; atomic; nothing on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    try:
        digest = hashlib.sha256()
        received = 0
        stream, _ = transport.open(url)
        with open(handle, "wb") as out, stream:  # noqa: PTH123 - a descriptor
            while chunk := stream.read(READ_SIZE):
                received += len(chunk)
                if received > size:
                    raise FetchError(f"{url} sends more than the {size} bytes the record declares")
                digest.update(chunk)
                out.write(chunk)
                if progress:
                    progress(len(chunk))
        if received != size:
            raise FetchError(f"{url} sent {received} bytes; the record declares {size}")
        if digest.hexdigest() != sha256:
            raise FetchError(
                f"{url} has SHA-256 {digest.hexdigest()}, the record declares "
                f"{sha256}: the file is corrupted or was replaced; nothing was kept"
            )
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
