"""The spare site: the site of the build before last, kept beside the output (`.site.spare` for
`site`) so that the next build updates it in place and swaps it in, touching only what changed.

The cache says which trees are ours and what each holds (by the folder's device and inode, which
renames keep). A spare is marked as being changed before a build touches it; one found so
marked (a build failed or was stopped while updating it) is removed and a fresh folder used. A
folder of that name that the cache does not know is never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import secrets
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from registry.build.site.writer import Entry, entry, unpacked
from registry.infra.cache import Cache
from registry.infra.console import log

KIND = "tree"
PART_KIND = "tree-files"
# Files a part of a tree's record holds. The record of a 100,000-version site names about 900,000
# files: as one cache entry, its JSON text and the encoder's pieces of it were the build's
# largest allocation, at its very end (about 500 MB).
PART = 10_000


def spare_path(out: Path) -> Path:
    out = out.resolve()
    return out.with_name(f".{out.name}.spare")


def tree_id(folder: Path) -> str:
    found = folder.stat()
    return f"{found.st_dev}:{found.st_ino}"


def claim(cache: Cache, spare: Path) -> dict[str, Entry] | None:
    """What the spare site holds, when it can be updated in place (it is ours and intact), after
    marking it as being changed; None when there is none to update."""
    if not cache.enabled or not spare.is_dir() or spare.is_symlink():
        return None
    key = tree_id(spare)
    found = cache.get(KIND, key)
    if found is None:
        return None  # not ours
    cache.put(KIND, key, {"changing": True})
    cache.flush()  # on disk before the first change
    files = _recorded(cache, key, found)
    if files is None:
        shutil.rmtree(spare)
    return files


def _recorded(cache: Cache, key: str, found: dict[str, Any]) -> dict[str, Entry] | None:
    """The files `record` wrote for tree `key`; None when the record is not whole (a build
    stopped while changing the tree, a part missing)."""
    if "parts" not in found or "record" not in found:
        return None
    files: dict[str, Entry] = {}
    try:
        for number in range(found["parts"]):
            part = cache.get(PART_KIND, f"{key}:{found['record']}:{number}")
            if part is None:
                return None
            for relative, (sha, size, inode) in part.items():
                files[relative] = entry(sha, size, inode)
    except (AttributeError, ValueError, TypeError, struct.error):
        return None  # not a record this code wrote
    return files if len(files) == found["count"] else None


def usable(cache: Cache, spare: Path) -> bool:
    """Whether the old site may be kept at `spare` (nothing of someone else's is there)."""
    return cache.enabled and not spare.exists()


def record(cache: Cache, tree: Path, files: dict[str, Entry]) -> None:
    """What `tree` holds, in parts of PART files, then the entry that names them (a build
    stopped before it leaves the tree marked as being changed)."""
    key = tree_id(tree)
    # Parts are named after this record: never read with another one's (an older record of a
    # folder that got the same inode, a write stopped half-way).
    name = secrets.token_hex(8)
    remaining = iter(files.items())
    parts = 0
    while part := {relative: unpacked(e) for relative, e in itertools.islice(remaining, PART)}:
        cache.put(PART_KIND, f"{key}:{name}:{parts}", part)
        cache.flush()  # saved, its text leaves memory
        parts += 1
    cache.put(KIND, key, {"record": name, "parts": parts, "count": len(files)})
    cache.flush()


@contextlib.contextmanager
def one_build_at_a_time(cache: Cache) -> Iterator[bool]:
    """Builds of one registry that use the cache take turns: two builds into the same output
    would otherwise update, and swap, the same spare tree. Yields whether the lock is held."""
    handle = None
    if cache.enabled:
        with contextlib.suppress(OSError):  # no lock where the cache cannot be written
            cache.folder.mkdir(exist_ok=True)
            handle = (cache.folder / "build.lock").open("a")
    try:
        if handle is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log("build", "waiting for another build of this registry to finish")
                fcntl.flock(handle, fcntl.LOCK_EX)
        yield handle is not None
    finally:
        if handle is not None:
            handle.close()  # releases the lock
