"""Writing site files into the staging folder, from the cache when their inputs are unchanged.

A site file is either written (the registry-wide documents, new at every build), stored by its
content (`stored`: the bytes are known, the cache saves writing a copy), `cached`: keyed by the
inputs it is rendered from, so an unchanged version's SBOMs and pages are neither rendered nor
validated again, or part of a `bundle`: all the files of a version, found by one key. Files from
the cache are hard links to .modelreg-cache/objects/ (read-only): treat a built site as
read-only, and post-process a copy of it.

The staging folder may be the site of the build before last, kept as a spare (see build_site):
then `previous` lists what it holds, a file that is already right is left as it is, and `finish`
removes what this build did not produce. A large registry's rebuild then touches only what
changed, instead of creating and deleting tens of thousands of folders and files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from registry.build.paths import DOCS as DOCS_DIR
from registry.infra.cache import Cache, is_digest
from registry.infra.cachekey import key_of

# A file of a site tree: the SHA-256 of an object (32 bytes), then its size and inode, packed
# (a 100,000-version site has about 900,000 files, and the build holds an entry for each: 110
# bytes less each than a tuple of a hex string and two ints); empty for a file written directly
# (not from the object store), which is never kept from one build to the next.
Entry = bytes
_WRITTEN: Entry = b""
_SIZE_AND_INODE = struct.Struct("<QQ")


def entry(sha: str, size: int, inode: int) -> Entry:
    """A file's entry (an empty `sha`: written directly); ValueError when `sha` is not a
    SHA-256 in hex."""
    if not sha:
        return _WRITTEN
    digest = bytes.fromhex(sha)
    if len(digest) != 32:
        raise ValueError(f"not a SHA-256: {sha!r}")
    # int(): a manifest may write a size as 204448.0 (JSON Schema's integer admits it, and the
    # file-size check compares values), which struct refuses.
    return digest + _SIZE_AND_INODE.pack(int(size), inode)


def unpacked(found: Entry) -> tuple[str, int, int]:
    """(SHA-256 in hex, size, inode) of an entry; ("", 0, 0) for a file written directly."""
    if not found:
        return "", 0, 0
    size, inode = _SIZE_AND_INODE.unpack_from(found, 32)
    return found[:32].hex(), size, inode


class Bundle:
    """The files one bundle wrote: (site path, SHA-256, size)."""

    def __init__(self, writer: SiteWriter) -> None:
        self.writer = writer
        self.entries: list[tuple[str, str, int]] = []
        self.complete = True

    def add(self, relative: str, sha: str) -> None:
        digest, size, _ = unpacked(self.writer.produced.get(relative, _WRITTEN))
        if not sha or digest != sha:
            self.complete = False  # not in the object store: cannot be linked next time
            return
        self.entries.append((relative, sha, size))


def dumps(data: Any) -> str:
    """JSON as the site publishes it: sorted keys, compact (json's C encoder: indenting would
    take the pure-Python one, several times slower over thousands of documents), a final
    newline."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


class SiteWriter:
    def __init__(
        self, root: Path, cache: Cache | None = None, previous: Mapping[str, Entry] | None = None
    ) -> None:
        self.root = root
        self.cache = cache or Cache(root, enabled=False)
        self.previous = previous or {}  # read only: a forked writer shares the parent's
        self.produced: dict[str, Entry] = {}  # every file of this build (but docs/)
        self._base = str(root)
        self._folders: set[str] = set()

    def _target(self, relative: str) -> str:
        target = os.path.join(self._base, relative)
        folder = os.path.dirname(target)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        return target

    def _write(self, relative: str, data: bytes) -> None:
        target = self._target(relative)
        _remove(target)  # in a reused tree it may be a link into the cache
        with open(target, "wb") as handle:
            handle.write(data)
        self.produced[relative] = _WRITTEN

    def text(self, relative: str, content: str) -> None:
        self._write(relative, content.encode())

    def json(self, relative: str, data: Any) -> None:
        self.text(relative, dumps(data))

    def copy(self, source: Path, relative: str) -> None:
        target = self._target(relative)
        _remove(target)
        shutil.copyfile(source, target)
        self.produced[relative] = _WRITTEN

    def _link(self, relative: str, sha: str, size: int) -> bool:
        """Object `sha` at `relative`: left alone when the tree has it already."""
        if not is_digest(sha):
            return False  # not an object's name (the caller writes the file itself)
        target = self._target(relative)
        known = self.previous.get(relative)
        if known and known[:32] == bytes.fromhex(sha):
            try:
                found = os.lstat(target)
            except OSError:
                found = None
            if (
                found is not None
                and entry(sha, size, found.st_ino) == known
                and found.st_size == size
                and self.cache.intact(sha, found.st_mtime_ns)
            ):
                self.produced[relative] = known
                return True
        inode = self.cache.place(sha, size, target)
        if inode is None:
            return False
        self.produced[relative] = entry(sha, size, inode)
        return True

    def stored(self, relative: str, content: str | bytes) -> str:
        """Write `content` through the object store; the SHA-256 of its bytes."""
        data = content.encode() if isinstance(content, str) else content
        sha = self.cache.store(data)
        if sha is None or not self._link(relative, sha, len(data)):
            self._write(relative, data)
        return sha or ""

    def cached(self, relative: str, kind: str, material: Any, render: Callable[[], str]) -> str:
        """The file rendered from `material` by `render`, or its copy from an earlier build;
        the SHA-256 of its bytes."""
        key = key_of("output", kind, material)
        found = self.cache.get("output", key)
        if found is not None and self._link(relative, found["sha"], found["size"]):
            return str(found["sha"])
        data = render().encode()
        sha = self.stored(relative, data)
        if sha:
            self.cache.put("output", key, {"sha": sha, "size": len(data)})
        return sha

    def bundle(self, key: str, write: Callable[[Bundle], None]) -> None:
        """Files that only depend on `key`: linked from an earlier build with the same key, or
        written by `write` (which records each in the Bundle) and remembered."""
        found = self.cache.get("bundle", key) if key else None
        if found is not None and all(
            self._link(relative, sha, size) for relative, sha, size in found
        ):
            return
        files = Bundle(self)
        write(files)
        if key and files.complete:
            self.cache.put("bundle", key, files.entries)

    def artifact(self, source: Path, relative: str, sha256: str, size: int) -> None:
        """A model file (validated: its SHA-256 is known), kept once in the object store and
        linked into every build instead of copied again."""
        if not (self.cache.adopt(source, sha256) and self._link(relative, sha256, size)):
            self.copy(source, relative)

    def finish(self) -> dict[str, Entry]:
        """Remove what the reused tree held and this build did not produce, and the folders
        left empty; what the tree holds."""
        emptied = set()
        for relative in self.previous.keys() - self.produced.keys():
            _remove(os.path.join(self._base, relative))
            emptied.add(os.path.dirname(relative))
        for folder in sorted(emptied, key=len, reverse=True):
            while folder:
                try:
                    os.rmdir(os.path.join(self._base, folder))
                except OSError:
                    break  # not empty (or gone): its parents are not either
                folder = os.path.dirname(folder)
        return self.produced

    def clear_strays(self) -> None:
        """Before a reused tree is written into: remove every link (a write would follow it
        out of the tree) and every file its record does not list (added to the published
        site by hand). docs/ is built again whole."""
        self._prune(self._base, "")

    def _prune(self, directory: str, prefix: str) -> bool:
        """clear_strays under `directory`; whether it is now empty. (os.scandir and plain
        strings: this visits every file of a large site.)"""
        empty = True
        with os.scandir(directory) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if entry.is_symlink() or not (entry.is_dir() or relative in self.previous):
                    os.unlink(entry.path)
                elif entry.is_file() or relative == DOCS_DIR:
                    empty = False
                elif self._prune(entry.path, relative + "/"):
                    os.rmdir(entry.path)
                else:
                    empty = False
        return empty


def _remove(target: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)
