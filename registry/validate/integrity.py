"""Integrity: each file a manifest names exists in its folder with the declared size and hash."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from registry.findings import Finding, error
from registry.formats import LFS_POINTER_PREFIX
from registry.infra.hashing import ChunkedDigest, hash_file_chunked
from registry.load.manifest import Manifest
from registry.load.pathrules import open_problem, path_problem


@dataclass(frozen=True)
class CheckedFile:
    """A file that exists, is a regular file inside the version folder, and was hashed."""

    path: Path
    digest: ChunkedDigest


# How a file is hashed: registry.cache.Cache.digest skips files hashed before and unchanged.
Digester = Callable[[Path], ChunkedDigest]


def check_file(
    folder: Path,
    relative: str,
    sha256: str,
    size: int,
    manifest: Manifest,
    display: str,
    field_path: tuple[str | int, ...],
    digester: Digester = hash_file_chunked,
) -> tuple[CheckedFile | None, list[Finding]]:
    position = manifest.field_position(*field_path)
    label = f"{'.'.join(map(str, field_path))} `{relative}`"
    if path_problem(relative):
        return None, []  # already reported by the semantic checks
    problem = open_problem(folder, relative)
    if problem:
        return None, [error(problem[0], f"{label} {problem[1]}", display, position)]
    target = folder / relative
    try:
        with target.open("rb") as handle:
            head = handle.read(len(LFS_POINTER_PREFIX))
        digest = digester(target)
    except OSError as exc:
        return None, [
            error(
                "integrity.unreadable",
                f"{label} cannot be read ({exc.strerror})",
                display,
                position,
            )
        ]
    if head == LFS_POINTER_PREFIX:
        return None, _lfs_findings(target, sha256, size, label, manifest, display, field_path)
    findings = []
    if digest.size != size:
        findings.append(
            error(
                "integrity.size-mismatch",
                f"{label} is {digest.size} bytes, the manifest says {size}; "
                f"set size: {digest.size} if this file is the one to publish",
                display,
                manifest.field_position(*field_path[:-1], "size"),
            )
        )
    if digest.sha256 != sha256:
        findings.append(
            error(
                "integrity.sha256-mismatch",
                f"{label} has SHA-256 {digest.sha256}, the manifest says {sha256}; "
                "set sha256 to the file's hash if this file is the one to publish",
                display,
                manifest.field_position(*field_path[:-1], "sha256"),
            )
        )
    return CheckedFile(target, digest), findings


@dataclass(frozen=True)
class LfsPointer:
    oid: str  # SHA-256 of the content, hex
    size: int


# https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md: a pointer is under 1024 bytes,
# UTF-8 lines `key value` sorted by key, `version` first; the oid is `sha256:<64 hex>`.
_LFS_POINTER_MAX = 1024
_LFS_LINE = re.compile(r"^([a-z0-9.-]+) (.+)$")


def read_lfs_pointer(path: Path) -> LfsPointer | None:
    """The oid and size a Git LFS pointer file states, or None if it is not a valid pointer."""
    with path.open("rb") as handle:
        data = handle.read(_LFS_POINTER_MAX + 1)
    if len(data) > _LFS_POINTER_MAX or not data.endswith(b"\n"):
        return None
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None
    pairs = [line.partition(" ")[::2] for line in lines if _LFS_LINE.match(line)]
    if len(pairs) != len(lines) or not pairs:
        return None
    fields = dict(pairs)
    keys = [key for key, _ in pairs]
    if keys[0] != "version" or keys[1:] != sorted(keys[1:]) or len(fields) != len(keys):
        return None
    oid, size = fields.get("oid", ""), fields.get("size", "")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", oid) or not re.fullmatch(r"0|[1-9][0-9]*", size):
        return None
    return LfsPointer(oid.removeprefix("sha256:"), int(size))


def _lfs_findings(
    target: Path,
    sha256: str,
    size: int,
    label: str,
    manifest: Manifest,
    display: str,
    field_path: tuple[str | int, ...],
) -> list[Finding]:
    """A pointer instead of the model: its oid and size are checked against the manifest
    without the bytes; the format check still needs them."""
    pull = "run `git lfs pull` (in CI: check out with lfs: true) and validate again"
    pointer = read_lfs_pointer(target)
    position = manifest.field_position(*field_path)
    if pointer is None:
        return [
            error(
                "integrity.lfs-pointer",
                f"{label} starts like a Git LFS pointer but is not a valid one (spec v1: "
                f"sorted `key value` lines, oid sha256:<hex>, size); {pull}",
                display,
                position,
            )
        ]
    found = [
        error(
            "integrity.lfs-mismatch",
            f"{label} is a Git LFS pointer to {what} {stated}, the manifest says {declared}: "
            "the pointer names other bytes than the manifest; fix whichever is wrong",
            display,
            manifest.field_position(*field_path[:-1], key),
        )
        for key, what, stated, declared in (
            ("sha256", "oid sha256", pointer.oid, sha256),
            ("size", "size", pointer.size, size),
        )
        if stated != declared
    ]
    if found:
        return found
    return [
        error(
            "integrity.lfs-pointer",
            f"{label} is a Git LFS pointer whose oid and size match the manifest, not the model "
            f"file: the format check needs the bytes; {pull}",
            display,
            position,
        )
    ]


def check_integrity(
    manifest: Manifest,
    display: str,
    digester: Digester = hash_file_chunked,
    digests: dict[str, ChunkedDigest] | None = None,
) -> tuple[CheckedFile | None, list[Finding]]:
    """Check the artifact and its external-data files; return the artifact when it is present.
    `digests` receives the digest of every file that could be read (by relative path)."""
    folder = manifest.folder
    art = manifest.artifact
    findings: list[Finding] = []
    if art.path is None:
        return None, findings  # named by URL: registry.remotecheck downloads and checks it
    artifact, found = check_file(
        folder, art.path, art.sha256, art.size, manifest, display, ("artifact", "path"), digester
    )
    findings.extend(found)
    if artifact is not None and digests is not None:
        digests[art.path] = artifact.digest
    for index, extra in enumerate(art.external_data):
        checked, found = check_file(
            folder,
            extra.path,
            extra.sha256,
            extra.size,
            manifest,
            display,
            ("artifact", "external_data", index, "path"),
            digester,
        )
        findings.extend(found)
        if checked is not None and digests is not None:
            digests[extra.path] = checked.digest
    return artifact, findings
