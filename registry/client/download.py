"""Downloading a resolved version into a folder: every file streamed through its size and SHA-256
(chunk by chunk when the registry publishes chunk digests), staged, its signature verified, then
moved into place all at once; a failed fetch leaves nothing in the target. A cut chunked download
keeps its verified chunks in the user cache folder (`downloads/<sha256>.part`, outside the
target) and the next run resumes from them."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from registry.client.chunks import ChunkError, ChunkPlan, fetch_chunked, plan_from
from registry.client.signature import pinned_publication, verify_signature
from registry.client.stream import stream_to
from registry.client.types import Fetched, FetchOptions, Resolved
from registry.infra.hashing import Progress
from registry.infra.transport import FetchError, Transport
from registry.infra.urlnames import url_file_name

PARTIAL_FOLDER = "downloads"  # in the user cache folder: cut downloads to resume, by SHA-256
FREE_SPACE_MARGIN = 64 << 20  # left free beside what a fetch writes


def fetch_version(
    transport: Transport,
    index: dict[str, Any],
    resolved: Resolved,
    to: Path,
    options: FetchOptions,
    progress: Progress | None,
) -> Fetched:
    policy = options.signature
    record = resolved.record
    refuse_unusable(record, options.allow_deprecated)
    signed = bool(record["signature"].get("present"))
    if policy.required and not signed:
        raise FetchError(f"{resolved.id} is not signed, and a signature is required")
    files = _files(record["artifact"])
    pinned = None
    if policy.log_head is not None:
        pinned = pinned_publication(transport, resolved, policy.log_head)
    _check_room(resolved.id, to, sum(entry["size"] for entry, _ in files), options.max_size)
    plans = _chunk_plans(transport, resolved)
    created = not to.exists()
    to.mkdir(parents=True, exist_ok=True)
    # Everything lands in a staging folder first: the signature covers the folder.
    staging = Path(tempfile.mkdtemp(prefix=".modelreg-fetch-", dir=to))
    try:
        for entry, relative in files:
            _fetch_file(
                transport, resolved, entry, relative, _inside(staging, relative), plans, progress
            )
        signer, claims = None, False
        if signed and not policy.skip:
            signer, claims = verify_signature(transport, index, resolved, staging, policy, pinned)
        written = _place(staging, to, [relative for _, relative in files])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                to.rmdir()  # only when nothing else is in it
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return Fetched(resolved.id, tuple(written), record["artifact"]["sha256"], signer, claims)


def _fetch_file(
    transport: Transport,
    resolved: Resolved,
    entry: dict[str, Any],
    relative: str,
    target: Path,
    plans: dict[str, ChunkPlan],
    progress: Progress | None,
) -> None:
    url = _source(entry, resolved.url)
    sha256, size = entry["sha256"], entry["size"]
    plan = plans.get(relative)
    if plan is None or not entry.get("merkle_root"):
        try:
            stream_to(transport, url, target, sha256, size, progress)
        except FetchError as exc:
            raise FetchError(f"{relative}: {exc}") from None
        return
    from registry.infra.cacheplace import cache_root

    partial = cache_root() / PARTIAL_FOLDER / f"{sha256}.part"  # a name only a digest makes
    try:
        plan.check(sha256, size, str(entry["merkle_root"]))
        fetch_chunked(url, partial, plan, progress, transport.open)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(partial, target)
    except (ChunkError, FetchError) as exc:
        raise FetchError(f"{resolved.id}: {relative}: {exc}") from None


def _chunk_plans(transport: Transport, resolved: Resolved) -> dict[str, ChunkPlan]:
    """The chunk digests of each file (chunks.json), when the registry publishes them."""
    link = resolved.record["links"].get("chunks")
    if not link:
        return {}
    document = transport.document(urllib.parse.urljoin(resolved.url, link), "chunks.json")
    try:
        return {f["path"]: plan_from(f, document["chunk_size"]) for f in document["files"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise FetchError(f"{resolved.id}: chunks.json is malformed ({exc})") from None


def _files(artifact: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(entry, path in the target) of every file; two files with one name are refused (the
    second would silently replace the first)."""
    name = artifact["path"] or url_file_name(artifact["url"] or "")
    files = [(artifact, name)] + [(e, e["path"]) for e in artifact["external_data"]]
    seen: set[str] = set()
    for _, relative in files:
        key = Path(relative).as_posix().casefold()
        if key in seen:
            raise FetchError(
                f"the record names the file {relative!r} twice (artifact and external data): "
                "the registry is broken or hostile"
            )
        seen.add(key)
    return files


def _check_room(id: str, to: Path, total: int, max_size: int | None) -> None:
    """Refuse before downloading what could not fit, or what the consumer does not want."""
    if max_size is not None and total > max_size:
        raise FetchError(
            f"{id} declares {total} bytes, over --max-size {max_size}; nothing was downloaded"
        )
    existing = next((p for p in (to, *to.resolve().parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(existing).free
    if total + FREE_SPACE_MARGIN > free:
        raise FetchError(
            f"{id} declares {total} bytes and {existing} has {free} free; nothing was downloaded"
        )


def _place(staging: Path, to: Path, relatives: list[str]) -> list[Path]:
    """Move every verified file into `to`: all of them, or none (those moved are taken back)."""
    placed: list[tuple[Path, Path | None]] = []
    try:
        for relative in relatives:
            target = _inside(to, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            backup = None
            if target.is_dir():
                raise FetchError(f"cannot write into {to}: {relative} there is a folder")
            if target.exists():
                backup = _inside(staging, f".previous/{relative}")
                backup.parent.mkdir(parents=True, exist_ok=True)
                target.replace(backup)
            _inside(staging, relative).replace(target)
            placed.append((target, backup))
    except BaseException:
        for target, backup in reversed(placed):
            if backup is not None:
                backup.replace(target)
            else:
                target.unlink(missing_ok=True)
        raise
    return [target for target, _ in placed]


def _inside(folder: Path, relative: str) -> Path:
    """`folder/relative`, refusing a record that would write outside `folder`."""
    target = (folder / relative).resolve()
    if folder.resolve() not in target.parents:
        raise FetchError(f"the record names the file {relative!r}, outside the target folder")
    return target


def _source(entry: dict[str, Any], record_url: str) -> str:
    """The site's own copy (relative to the record) when it serves one, else the download URL."""
    if entry.get("href"):
        return urllib.parse.urljoin(record_url, str(entry["href"]))
    if entry.get("url"):
        return str(entry["url"])
    raise FetchError("the record gives no location for the artifact")


def refuse_unusable(record: dict[str, Any], allow_deprecated: bool) -> None:
    status = record["status"]
    if status == "blocked":
        reasons = "; ".join(record["governance"].get("reasons", [])) or "governance"
        raise FetchError(f"{record['id']} is blocked ({reasons}); it must not be used")
    if status == "deprecated" and not allow_deprecated:
        deprecation = record["manifest"].get("deprecation") or {}
        hint = (
            f"; use {deprecation['redirect_to']} instead" if deprecation.get("redirect_to") else ""
        )
        raise FetchError(
            f"{record['id']} is deprecated ({deprecation.get('reason', 'no reason given')}){hint}"
            ", or pass --allow-deprecated to fetch it anyway"
        )
