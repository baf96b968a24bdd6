"""One file into the store, its bytes verified before the object becomes visible.

The file is hashed as it is read, from the same bytes that are sent. A file up to
MULTIPART_THRESHOLD is one PUT carrying its SHA-256: it is compared with the record first, and
S3 refuses a body that does not hash to it. A larger file is a multipart upload: each part
carries its own SHA-256 (`ChecksumAlgorithm=SHA256`, checked by S3 on arrival), the whole
file's SHA-256 is computed from the same reads, and the upload is completed only when it equals
the record's; otherwise it is aborted. An incomplete multipart upload is invisible, so nothing
unverified is ever readable at a content-addressed key, and no temporary key needs a copy
(which S3 limits to 5 GB in one request).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

from registry.infra.merkle import CHUNK_SIZE
from registry.store.plan import StoreError, StoreFile
from registry.store.s3 import OBJECT_HEADERS, Bucket, b64, failures

MULTIPART_THRESHOLD = 64 << 20
# Parts of the Merkle chunk size (so a part's SHA-256 is its chunk's in chunks.json), larger
# only for files beyond S3's 10,000 parts.
PART_SIZE = CHUNK_SIZE
MAX_PARTS = 10_000
Progress = Callable[[int], None]


def part_size(size: int) -> int:
    needed = -(-size // MAX_PARTS)
    return max(PART_SIZE, -(-needed // PART_SIZE) * PART_SIZE)


def _changed(file: StoreFile, size: int, sha256: str) -> StoreError:
    return StoreError(
        f"{file.source} is now {size} bytes with SHA-256 {sha256}, but its record declares "
        f"{file.size} bytes, SHA-256 {file.sha256}: the file changed since it was validated; "
        "nothing was uploaded"
    )


def upload(bucket: Bucket, file: StoreFile, threads: int, progress: Progress) -> bool:
    """Upload `file` to its key; False when the key appeared meanwhile (nothing written)."""
    with file.path.open("rb") as handle:
        if file.size <= MULTIPART_THRESHOLD:
            return _put(bucket, file, handle, progress)
        return _multipart(bucket, file, handle, threads, progress)


def _put(bucket: Bucket, file: StoreFile, handle: BinaryIO, progress: Progress) -> bool:
    data = handle.read(file.size + 1)
    digest = hashlib.sha256(data).digest()
    if len(data) != file.size or digest.hex() != file.sha256:
        raise _changed(file, len(data), digest.hex())
    written = bucket.put(file.sha256, data, digest)
    progress(file.size)
    return written


def _multipart(
    bucket: Bucket, file: StoreFile, handle: BinaryIO, threads: int, progress: Progress
) -> bool:
    store, client = bucket.store, bucket.client
    key = store.key(file.sha256)
    with failures(f"starting the upload of {bucket.where(file.sha256)}"):
        upload_id = client.create_multipart_upload(
            Bucket=store.bucket,
            Key=key,
            ChecksumAlgorithm="SHA256",
            Metadata={"sha256": file.sha256},
            **OBJECT_HEADERS,
        )["UploadId"]
    try:
        parts = _send_parts(bucket, file, handle, upload_id, threads, progress)
        arguments = {
            "Bucket": store.bucket,
            "Key": key,
            "UploadId": upload_id,
            "MultipartUpload": {"Parts": parts},
        }
        with failures(f"completing the upload of {bucket.where(file.sha256)}"):
            if bucket.unless_exists(client.complete_multipart_upload, arguments):
                return True
    except BaseException:
        with contextlib.suppress(Exception):
            bucket.abort(key, upload_id)  # best effort: the next publish aborts what is left
        raise
    bucket.abort(key, upload_id)
    return False


def _send_parts(
    bucket: Bucket,
    file: StoreFile,
    handle: BinaryIO,
    upload_id: str,
    threads: int,
    progress: Progress,
) -> list[dict[str, Any]]:
    """Every part, `threads` at a time (as many parts in memory), each hashed as it is read
    into the whole file's SHA-256, which must equal the record's before anything completes."""
    whole = hashlib.sha256()
    size, done = part_size(file.size), 0
    parts: list[dict[str, Any]] = []
    pending: deque[Future[tuple[dict[str, Any], int]]] = deque()
    with ThreadPoolExecutor(threads) as pool:
        try:
            for number in range(1, -(-file.size // size) + 1):
                data = handle.read(size)
                whole.update(data)
                done += len(data)
                if len(data) != min(size, file.size - (number - 1) * size):
                    break  # shorter than the record: reported below
                pending.append(pool.submit(_send_part, bucket, file, upload_id, number, data))
                while len(pending) >= threads:
                    parts.append(_finished(pending.popleft(), progress))
            while pending:
                parts.append(_finished(pending.popleft(), progress))
        finally:
            for future in pending:
                future.cancel()
    extra = handle.read(1)
    whole.update(extra)
    if done + len(extra) != file.size or whole.hexdigest() != file.sha256:
        raise _changed(file, done + len(extra), whole.hexdigest())
    return parts


def _finished(future: Future[tuple[dict[str, Any], int]], progress: Progress) -> dict[str, Any]:
    part, sent = future.result()
    progress(sent)
    return part


def _send_part(
    bucket: Bucket, file: StoreFile, upload_id: str, number: int, data: bytes
) -> tuple[dict[str, Any], int]:
    """One part with its SHA-256 (hashed on this worker thread: hashlib releases the GIL)."""
    checksum = b64(hashlib.sha256(data).digest())
    with failures(f"uploading part {number} of {bucket.where(file.sha256)}"):
        sent = bucket.client.upload_part(
            Bucket=bucket.store.bucket,
            Key=bucket.store.key(file.sha256),
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum,
        )
    return {"PartNumber": number, "ETag": sent["ETag"], "ChecksumSHA256": checksum}, len(data)
