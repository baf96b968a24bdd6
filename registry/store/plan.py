"""What a publication uploads: one object per content, the keys the store lacks, and the keys
that hold something else than the record says (store.conflict), judged before any upload."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from registry.errors import ModelregError

CONFLICT_ADVICE = (
    "a content-addressed key must hold exactly the bytes its name says, so nothing was "
    "replaced; find out who wrote it (the bucket's access logs or object versions), delete it "
    "once understood, and publish again"
)


class StoreError(ModelregError):
    """The store refused an operation, or a file is not what validation saw."""


class StoreConflict(StoreError):
    """A key of the store holds other bytes than the record declares (store.conflict)."""


@dataclass(frozen=True, slots=True)
class StoreFile:
    """A file a published record points at: where it is in the repository and what it is."""

    path: Path
    sha256: str
    size: int
    source: str  # its name for people: models/<name>/<version>/<file>


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """What the store says of a key: its size and, when it says, its content's SHA-256."""

    size: int
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    upload: tuple[StoreFile, ...]  # keys the listing did not show: HEAD, then PUT
    present: tuple[StoreFile, ...]  # keys the listing showed with the record's size
    conflicts: tuple[str, ...]  # store.conflict messages


def unique(files: Iterable[StoreFile]) -> list[StoreFile]:
    """One file per content (versions sharing bytes share one key), in a stable order."""
    by_digest: dict[str, StoreFile] = {}
    for file in files:
        kept = by_digest.setdefault(file.sha256, file)
        if kept.size != file.size:
            raise StoreError(
                f"{kept.source} and {file.source} declare the SHA-256 {file.sha256} with the "
                f"sizes {kept.size} and {file.size}: one manifest is wrong; validate the registry"
            )
    return sorted(by_digest.values(), key=lambda f: f.sha256)


def conflict(file: StoreFile, remote: RemoteObject, where: str) -> str | None:
    """The store.conflict message when the object at `where` is not `file`'s content; None
    when it agrees with the record as far as the store tells."""
    if remote.size == file.size and remote.sha256 in (None, file.sha256):
        return None
    held = f"{remote.size} bytes" + (f", SHA-256 {remote.sha256}" if remote.sha256 else "")
    return (
        f"store.conflict: {where} holds {held}, but {file.source} is {file.size} bytes, "
        f"SHA-256 {file.sha256}; {CONFLICT_ADVICE}"
    )


def plan_uploads(
    files: Iterable[StoreFile],
    listing: Mapping[str, int] | None,
    key: Callable[[str], str],
    where: Callable[[str], str],
) -> Plan:
    """Split `files` by what the listing (key -> size; None when the store refused to list)
    shows: the listing is one request per 1,000 keys, so an unchanged registry costs no more."""
    upload, present, conflicts = [], [], []
    for file in unique(files):
        size = None if listing is None else listing.get(key(file.sha256))
        if size is None:
            upload.append(file)
            continue
        found = conflict(file, RemoteObject(size), where(file.sha256))
        if found:
            conflicts.append(found)
        else:
            present.append(file)
    return Plan(tuple(upload), tuple(present), tuple(conflicts))
