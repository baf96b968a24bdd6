"""Integrity: each file a manifest names exists in its folder with the declared size and hash.

The files of a version are opened once (OpenedFiles): hashed through that descriptor, inspected
through it (the sandbox receives it), and checked afterwards to be unchanged. See OpenedFile for
why what was hashed is what was inspected.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from registry.findings import Finding, error
from registry.formats import LFS_POINTER_PREFIX
from registry.infra.hashing import ChunkedDigest, hash_descriptor_chunked, hash_file_chunked
from registry.load.manifest import Manifest
from registry.load.pathrules import open_problem, path_problem


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A file that exists, is a regular file inside the version folder, and was hashed."""

    path: Path
    digest: ChunkedDigest


# How a file is hashed: registry.cache.Cache.digest skips files hashed before and unchanged.
Digester = Callable[[Path], ChunkedDigest]


def _identity(status: os.stat_result) -> tuple[int, ...]:
    return (
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )


@dataclass
class OpenedFile:
    """One file of a version, opened once for reading: hashed through this descriptor, and
    inspected through it (the sandbox child reads /proc/self/fd/N of the same open file), so a
    path replaced between the two cannot be what is inspected. `change` then compares the open
    file's status (size, mtime, ctime: a writer cannot set ctime back) with the one at the open,
    and requires the path to still name this file, for the stages that read it later (the build
    publishes it). Not seen: a write in place that keeps the size within the file system's
    timestamp tick of the open; nothing writes to a checkout while CI validates it, and what a
    pull request controls is the files' content, not a process beside the run."""

    path: Path
    fd: int
    before: os.stat_result

    @classmethod
    def open(cls, path: Path) -> OpenedFile:
        """Open `path` (not a link, a regular file); OSError if it cannot be read."""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            return cls(path, fd, status)
        except BaseException:
            os.close(fd)
            raise

    def change(self) -> str | None:
        """What happened to the file since it was opened, or None if nothing did."""
        if _identity(os.fstat(self.fd)) != _identity(self.before):
            return "changed while it was validated"
        try:
            now = self.path.lstat()
        except OSError:
            return "was removed while it was validated"
        if (now.st_dev, now.st_ino) != (self.before.st_dev, self.before.st_ino):
            return "was replaced by another file while it was validated"
        return None

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class OpenedFiles:
    """The files of one version folder, each opened once (by relative path), until closed."""

    folder: Path
    chunks: bool = True  # hash each file's chunks too (what a build publishes)
    files: dict[str, OpenedFile] = field(default_factory=dict)

    def __enter__(self) -> OpenedFiles:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self, relative: str) -> OpenedFile:
        if relative not in self.files:
            self.files[relative] = OpenedFile.open(self.folder / relative)
        return self.files[relative]

    def changes(self, manifest: Manifest, display: str) -> list[Finding]:
        """An error for each file that did not stay what was hashed and inspected."""
        found = [(relative, f.change()) for relative, f in sorted(self.files.items())]
        return [
            error(
                "integrity.unstable",
                f"artifact file `{relative}` {what}: what was hashed may not be what was "
                "inspected; validate again once nothing writes to the version's files",
                display,
                manifest.field_position("artifact"),
            )
            for relative, what in found
            if what is not None
        ]

    def close(self) -> None:
        files, self.files = self.files, {}
        for opened in files.values():
            opened.close()


def check_file(
    folder: Path,
    relative: str,
    sha256: str,
    size: int,
    manifest: Manifest,
    display: str,
    field_path: tuple[str | int, ...],
    digester: Digester | None = hash_file_chunked,
    files: OpenedFiles | None = None,
) -> tuple[CheckedFile | None, list[Finding]]:
    """`files`: read the file through its descriptor there (hashed through it unless a
    `digester` is given, a cache's, that knows unchanged files by their status)."""
    position = manifest.field_position(*field_path)
    label = f"{'.'.join(map(str, field_path))} `{relative}`"
    if path_problem(relative):
        return None, []  # already reported by the semantic checks
    problem = open_problem(folder, relative)
    if problem:
        return None, [error(problem[0], f"{label} {problem[1]}", display, position)]
    target = folder / relative
    try:
        head, digest = _read(target, relative, digester, files)
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


def _read(
    target: Path, relative: str, digester: Digester | None, files: OpenedFiles | None
) -> tuple[bytes, ChunkedDigest]:
    """The file's first bytes (is it a Git LFS pointer?) and its digest."""
    if files is None:
        with target.open("rb") as handle:
            head = handle.read(len(LFS_POINTER_PREFIX))
        return head, (digester or hash_file_chunked)(target)
    opened = files.open(relative)
    head = os.pread(opened.fd, len(LFS_POINTER_PREFIX), 0)
    if digester is not None:
        return head, digester(target)
    return head, hash_descriptor_chunked(opened.fd, chunks=files.chunks)


@dataclass(frozen=True, slots=True)
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
    digester: Digester | None = hash_file_chunked,
    digests: dict[str, ChunkedDigest] | None = None,
    files: OpenedFiles | None = None,
) -> tuple[CheckedFile | None, list[Finding]]:
    """Check the artifact and its external-data files; return the artifact when it is present.
    `digests` receives the digest of every file that could be read (by relative path); `files`:
    read each through its descriptor there (see check_file)."""
    folder = manifest.folder
    art = manifest.artifact
    findings: list[Finding] = []
    if art.path is None:
        return None, findings  # named by URL: registry.remotecheck downloads and checks it
    artifact, found = check_file(
        folder,
        art.path,
        art.sha256,
        art.size,
        manifest,
        display,
        ("artifact", "path"),
        digester,
        files,
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
            files,
        )
        findings.extend(found)
        if checked is not None and digests is not None:
            digests[extra.path] = checked.digest
    return artifact, findings
