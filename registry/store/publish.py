"""A publication: the incomplete uploads a cut run left are aborted, the prefix is listed once
(one request per 1,000 keys), keys holding other bytes are refused before anything is sent
(store.conflict), then each key the listing did not show is asked for (HEAD) and uploaded
verified. A key is never overwritten; versions sharing bytes share one key.

One publisher at a time per prefix (the publish workflow's concurrency group): the incomplete
uploads found at the start are another run's leftovers, never a live upload's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from registry.infra.console import Progress, log
from registry.load.storeconfig import S3Store
from registry.store.plan import (
    RemoteObject,
    StoreConflict,
    StoreError,
    StoreFile,
    conflict,
    plan_uploads,
)
from registry.store.s3 import Bucket
from registry.store.upload import PART_SIZE, upload

UPLOAD_THREADS = 8  # connections at once: parts of one large file, or small files
Advance = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class PublishResult:
    location: str
    uploaded: tuple[StoreFile, ...]
    present: int  # files the store held already
    aborted: int  # incomplete multipart uploads of an earlier run, aborted
    requests: Mapping[str, int] = field(default_factory=dict)  # by S3 operation

    @property
    def uploaded_bytes(self) -> int:
        return sum(f.size for f in self.uploaded)


@dataclass(frozen=True, slots=True)
class _Outcome:
    file: StoreFile
    uploaded: bool = False
    conflict: str | None = None


def publish(
    store: S3Store,
    files: Iterable[StoreFile],
    verify_existing: bool = False,
    threads: int = UPLOAD_THREADS,
    bucket: Bucket | None = None,
) -> PublishResult:
    """Upload what `store` lacks of `files`. `verify_existing` also asks for each key the
    listing showed (one HEAD each, a download where the store keeps no SHA-256)."""
    bucket = bucket or Bucket(store, threads)
    aborted = _abort_incomplete(bucket)
    plan = plan_uploads(files, bucket.listing(), store.key, bucket.where)
    conflicts, missing = list(plan.conflicts), list(plan.upload)
    if verify_existing:
        _verify_present(bucket, plan.present, conflicts, missing)
    _refuse(conflicts)
    outcomes = _upload_missing(bucket, missing, threads, verify_existing)
    _refuse([o.conflict for o in outcomes if o.conflict])
    uploaded = tuple(o.file for o in outcomes if o.uploaded)
    present = len(plan.present) + len(plan.upload) - len(uploaded)
    result = PublishResult(store.location, uploaded, present, aborted, dict(bucket.requests))
    log(
        "store.published",
        f"{store.location}: uploaded {len(uploaded)} file(s), {result.uploaded_bytes / 1e6:.1f} MB;"
        f" {present} already there; {sum(bucket.requests.values())} request(s)",
        uploaded=len(uploaded),
        present=present,
        aborted=aborted,
        requests=dict(bucket.requests),
    )
    return result


def _refuse(conflicts: list[str]) -> None:
    if conflicts:
        raise StoreConflict("\n".join(conflicts))


def _abort_incomplete(bucket: Bucket) -> int:
    """Abort the multipart uploads a cut run left (they cost storage and are never visible)."""
    leftovers = bucket.incomplete_uploads()
    for key, upload_id in leftovers:
        bucket.abort(key, upload_id)
        log("store.aborted", f"aborted an incomplete upload of {key}", detail=True, key=key)
    if leftovers:
        log("store.aborted", f"aborted {len(leftovers)} incomplete upload(s) of an earlier run")
    return len(leftovers)


def _verify_present(
    bucket: Bucket, present: Iterable[StoreFile], conflicts: list[str], missing: list[StoreFile]
) -> None:
    """--verify-existing: each key the listing showed, asked for; adds to `conflicts`, and to
    `missing` what was deleted since the listing."""
    for file in present:
        found = _existing(bucket, file, True)
        if found is None:
            missing.append(file)
        elif found.conflict:
            conflicts.append(found.conflict)


def _existing(bucket: Bucket, file: StoreFile, verify: bool) -> _Outcome | None:
    """What the store holds at `file`'s key, asked now: None when nothing, else the same
    content or a conflict (`verify`: a key without a SHA-256 of its own is downloaded)."""
    remote = bucket.head(file.sha256)
    if remote is None:
        return None
    if verify and remote.sha256 is None and remote.size == file.size:
        remote = RemoteObject(remote.size, bucket.content_sha256(file.sha256))
    return _Outcome(file, conflict=conflict(file, remote, bucket.where(file.sha256)))


def _send(
    bucket: Bucket, file: StoreFile, threads: int, verify: bool, advance: Advance
) -> _Outcome:
    """HEAD, then PUT when absent; a key written by someone else meanwhile is judged again."""
    found = _existing(bucket, file, verify)
    if found is not None:
        return found
    if upload(bucket, file, threads, advance):
        return _Outcome(file, uploaded=True)
    advance(-file.size)  # not written: those bytes do not count
    found = _existing(bucket, file, verify)
    if found is None:
        raise StoreError(
            f"{bucket.where(file.sha256)}: the store refused the upload as existing but holds "
            "nothing there; publish again"
        )
    return found


def _upload_missing(
    bucket: Bucket, files: list[StoreFile], threads: int, verify: bool
) -> list[_Outcome]:
    """Small files several at a time; larger ones one by one, their parts several at a time
    (so at most `threads` parts or small files are in memory)."""
    if not files:
        return []
    small = [f for f in files if f.size <= PART_SIZE]
    large = [f for f in files if f.size > PART_SIZE]
    lock = threading.Lock()
    with Progress("uploading", sum(f.size for f in files), "bytes") as bar:

        def advance(amount: int) -> None:
            with lock:  # several upload threads advance one bar
                bar.update(amount)

        with ThreadPoolExecutor(threads) as pool:
            outcomes = list(pool.map(lambda f: _send(bucket, f, 1, verify, advance), small))
        outcomes += [_send(bucket, f, threads, verify, advance) for f in large]
    return outcomes
