"""The content-addressed cache (outside the working tree: registry.cacheplace says where, and
signs every row), so that work follows what changed, not the size of the registry.

- File digests (SHA-256 and Merkle chunk digests) by path, trusted only while the file's device,
  inode, size, mtime_ns and ctime_ns are all unchanged (a rename, a write, `touch`, a checkout all
  change one of them). An entry recorded less than RACY_NS after the file last changed is not
  kept: a write within the same clock tick could leave the stat unchanged (git's "racy" files).
- Values by key: a key is the SHA-256 of everything a result depends on, including the code
  itself and its libraries' versions (registry.infra.cachekey), so that a changed input finds
  another key; results that depend on the clock (a signature judged now) are not kept.
- Objects: site files by the SHA-256 of their bytes, read-only, hard-linked into the site. The
  index keeps each object's mtime_ns: a write through a link into the site (which file modes do
  not stop for root) changes it, and the object is then discarded instead of published again.

SQLite (in the standard library) holds the index: one file, atomic writes, safe across the
processes of `--jobs`. A damaged index is set aside and rebuilt, never trusted; a row whose HMAC
does not verify (copied from another machine, forged, edited) is a miss; a locked, read-only or
full cache, or one the repository holds, turns itself off for the run: the cache only ever saves
work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from registry.errors import ModelregError
from registry.infra.cachekey import key_of as key_of  # re-exported: validate.resultcache
from registry.infra.cacheplace import (
    CacheUnavailable,
    Signer,
    check_location,
    load_key,
    repository_folder,
)
from registry.infra.console import log
from registry.infra.hashing import ChunkedDigest, Progress, hash_file_chunked

INDEX_NAME = "index-2.sqlite3"  # 2: every row signed
RACY_NS = 2_000_000_000
LOCK_SECONDS = 30.0  # how long to wait for another run holding the index
Write = tuple[str, tuple[Any, ...]]  # (table, row)
_OBJECT = "\0object"  # an object's mtime among the recent writes
_DIGEST = re.compile(r"[0-9a-f]{64}")
# A new object's temporary file: created, never opened (O_EXCL follows no link).
_NEW_OBJECT = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_INSERT = {
    "files": "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "entries": "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
    "objects": "INSERT OR REPLACE INTO objects VALUES (?, ?, ?)",
}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER,
  ctime_ns INTEGER, sha256 TEXT, chunks TEXT, mac TEXT);
CREATE TABLE IF NOT EXISTS entries (
  kind TEXT, key TEXT, value TEXT, mac TEXT, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS objects (sha256 TEXT PRIMARY KEY, mtime_ns INTEGER, mac TEXT);
"""


class Cache:
    """The cache of one registry; `enabled=False` (--no-cache) computes everything again."""

    def __init__(
        self,
        root: Path,
        enabled: bool = True,
        deferred: bool = False,
        cache_dir: Path | None = None,
        folder: Path | None = None,
    ) -> None:
        """`deferred`: keep writes to hand them to another process (drain), which applies them:
        one writer to the index, so parallel workers never wait for each other's locks.
        `cache_dir`: the cache root (--cache-dir); `folder`: this registry's folder in it."""
        self.root = root
        self.folder = folder or repository_folder(root, cache_dir)
        self._objects = str(self.folder / "objects")
        self.enabled = enabled
        self.deferred = deferred
        self._db: sqlite3.Connection | None = None
        self._pending: list[Write] = []  # saved by flush(), or handed over by drain()
        self._recent: dict[tuple[str, str], Any] = {}  # what this process wrote, for its reads
        self._files: dict[str, tuple[Any, ...]] | None = None
        # Each object's mtime, by its digest's 32 bytes (a 100,000-version build stores about
        # 900,000 objects: 48 bytes less each than a key in hex).
        self._object_times: dict[bytes, int] | None = None
        self._folders: set[str] = set()  # folders of the object store made by this process
        self.hits = self.misses = 0
        self._signer: Signer | None = None
        if enabled:
            try:
                check_location(self.folder, root)
                self._signer = Signer(load_key(self.folder.parent))
            except (CacheUnavailable, OSError) as exc:
                self._give_up(exc)

    # -- the index -------------------------------------------------------------------------
    def worker(self) -> Cache:
        """The same cache for a parallel worker: its writes go back to this process."""
        return Cache(self.root, self.enabled, deferred=True, folder=self.folder)

    @property
    def signer(self) -> Signer:
        assert self._signer is not None, "an enabled cache has its key"
        return self._signer

    def _connect(self) -> sqlite3.Connection | None:
        if not self.enabled:
            return None
        if self._db is None:
            path = self.folder / INDEX_NAME
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._db = self._open(path)
            except (OSError, sqlite3.OperationalError) as exc:  # locked, read-only, full...
                self._give_up(exc)
                return None
            except sqlite3.DatabaseError as exc:
                log("cache", f"the cache index is damaged ({exc}); starting a new one")
                path.replace(path.with_suffix(f".damaged-{os.getpid()}"))
                self._db = self._open(path)
        return self._db

    def _give_up(self, exc: Exception) -> None:
        """The cache only saves work: when it cannot be used, the run goes on without."""
        log("cache", f"the cache {self.folder}/ is not used ({exc}); working without it")
        self.enabled = False
        self._pending.clear()

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=LOCK_SECONDS, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.execute("SELECT count(*) FROM entries").fetchone()  # fails on a damaged file
        return db

    def flush(self) -> None:
        """Save what was written so far, in one short transaction: a concurrent run waits for
        the index only that long."""
        db = self._connect()
        if db is None or not self._pending:
            return
        writes, self._pending = self._pending, []
        try:
            db.execute("BEGIN IMMEDIATE")
            for table, row in writes:
                db.execute(_INSERT[table], row)
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._give_up(exc)
        else:
            self._settle(writes)

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, write: Write) -> None:
        table, row = write
        if not _storable(row):
            return
        # The row without what it is found by (a value's kind and key, a path, a digest).
        self._recent[_recent_key(write)] = row[2:] if table == "entries" else row[1:]
        self._pending.append(write)
        if not self.deferred and len(self._pending) >= 1000:
            self.flush()

    def drain(self) -> list[Write]:
        """The writes kept in deferred mode, to be applied by the writing process."""
        writes, self._pending = self._pending, []
        self._settle(writes)
        return writes

    def _settle(self, writes: list[Write]) -> None:
        """Writes saved (or handed over) leave what this process remembers of its own: a large
        build writes hundreds of thousands of entries, and each one's text would stay in memory
        to the end. A value is read from the index again (a worker's, once the parent applied
        it; computed again until then, the same). A file or object row joins the index read
        once, if it was read; a worker keeps it otherwise (the index may not have it yet)."""
        for table, row in writes:
            if table == "objects" and self._object_times is not None:
                self._object_times[bytes.fromhex(row[0])] = row[1]
            elif table == "files" and self._files is not None:
                self._files[row[0]] = row[1:]
            elif table != "entries" and self.deferred:
                continue
            self._recent.pop(_recent_key((table, row)), None)

    def apply(self, writes: Iterable[Write]) -> None:
        """Writes drained from a worker, as if made here."""
        if self.enabled:
            for write in writes:
                self._write(write)

    # -- file digests ----------------------------------------------------------------------
    def digest(self, path: Path | str, progress: Progress | None = None) -> ChunkedDigest:
        """SHA-256 and chunk digests of `path`: from the index while its stat is unchanged."""
        db = self._connect()
        if db is None:
            return hash_file_chunked(Path(path), progress)
        name = os.path.abspath(path)
        before = os.stat(name)
        stat = (
            before.st_dev,
            before.st_ino,
            before.st_size,
            before.st_mtime_ns,
            before.st_ctime_ns,
        )
        row = self._recent.get(("file", name))
        if row is None:
            row = self._known_files(db).get(name)
        if row is not None and tuple(row[:5]) == stat and self.signer.valid(row[7], name, *row[:7]):
            self.hits += 1
            return ChunkedDigest(row[5], before.st_size, tuple(row[6].split(",")))
        self.misses += 1
        digest = hash_file_chunked(Path(name), progress)
        after = os.stat(name)
        settled = time.time_ns() - max(after.st_mtime_ns, after.st_ctime_ns) > RACY_NS
        if settled and (after.st_ino, after.st_size, after.st_mtime_ns) == stat[1:4]:
            fields = (name, *stat, digest.sha256, ",".join(digest.chunks))
            self._write(("files", (*fields, self.signer.sign(*fields))))
        return digest

    def _known_files(self, db: sqlite3.Connection) -> dict[str, tuple[Any, ...]]:
        """The whole file index, read once: one query instead of one per file."""
        if self._files is None:
            rows = db.execute(
                "SELECT path, dev, ino, size, mtime_ns, ctime_ns, sha256, chunks, mac FROM files"
            )
            self._files = {row[0]: tuple(row[1:]) for row in rows}
        return self._files

    # -- values ----------------------------------------------------------------------------
    def get(self, kind: str, key: str) -> Any | None:
        text = self.get_text(kind, key)
        return None if text is None else json.loads(text)

    def holds(self, kind: str, key: str) -> bool:
        """Whether an entry is there (not read, nor its MAC checked: get_text does both)."""
        db = self._connect()
        if db is None:
            return False
        if (kind, key) in self._recent:
            return True
        query = "SELECT 1 FROM entries WHERE kind = ? AND key = ?"
        return db.execute(query, (kind, key)).fetchone() is not None

    def get_text(self, kind: str, key: str) -> str | None:
        """The JSON text of an entry, MAC checked (a large one can then be decoded piece by
        piece)."""
        db = self._connect()
        if db is None:
            return None
        recent = self._recent.get((kind, key))
        if recent is not None:
            self.hits += 1
            held: str = recent[0]
            return held
        found = db.execute(
            "SELECT value, mac FROM entries WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        if found is None or not self.signer.valid(found[1], kind, key, found[0]):
            self.misses += 1  # absent, or not written by this cache: never a result
            return None
        self.hits += 1
        stored: str = found[0]
        return stored

    def put(self, kind: str, key: str, value: Any) -> None:
        if self.enabled:
            # Key order kept: it is content.
            self.put_text(kind, key, json.dumps(value, separators=(",", ":")))

    def put_text(self, kind: str, key: str, text: str) -> None:
        """An entry whose JSON text the caller wrote (as `put` would have)."""
        if self.enabled:
            self._write(("entries", (kind, key, text, self.signer.sign(kind, key, text))))

    # -- objects ---------------------------------------------------------------------------
    def object_path(self, sha256: str) -> Path:
        return Path(self._object(sha256))

    def _object(self, sha256: str) -> str:
        return f"{self._objects}/{sha256[:2]}/{sha256}"

    def has(self, sha256: str) -> bool:
        return os.path.isfile(self._object(sha256))

    def store(self, data: bytes) -> str | None:
        """Keep `data` as a read-only object; its SHA-256, or None when the cache is off (or
        cannot store it)."""
        if not self.enabled:
            return None
        sha = hashlib.sha256(data).hexdigest()
        if not self.known(sha):
            if not self.enabled:  # the index could not be read
                return None
            try:
                self._new_object(sha, lambda fd: _write_all(fd, data))
            except OSError as exc:
                self._give_up(exc)
                return None
        return sha

    def adopt(self, source: Path, sha256: str) -> bool:
        """Copy a validated file into the object store, checking on the way that its bytes still
        have that SHA-256 (it may have changed since); whether the store now holds it."""
        if not self.enabled:
            return False
        if self.known(sha256):
            return True
        if not self.enabled:  # the index could not be read
            return False

        def copy(fd: int) -> None:
            digest = hashlib.sha256()
            with source.open("rb") as reading:
                while data := reading.read(1 << 20):
                    digest.update(data)
                    _write_all(fd, data)
            if digest.hexdigest() != sha256:
                raise ModelregError(
                    f"{source} changed while the build ran (its SHA-256 is now "
                    f"{digest.hexdigest()}); run the build again"
                )

        try:
            self._new_object(sha256, copy)
        except OSError as exc:
            self._give_up(exc)
            return False
        return True

    def known(self, sha256: str) -> bool:
        """Whether object `sha256` is in the store and in the index (an object the index does
        not know, after the index was lost, is stored again). The index first: a new object
        costs no stat."""
        return self._stored_mtime(sha256) is not None and self.has(sha256)

    def _new_object(self, sha256: str, write: Callable[[int], None]) -> None:
        """Object `sha256` from what `write` writes into a new temporary file. The file is
        created, never opened (no link, FIFO or earlier file at its name is written through),
        made read-only and timed on its descriptor (a build stores eight files a version: no
        path lookups but the create and the rename), then renamed into place."""
        temporary = self._temporary(sha256)
        fd = _create(temporary)
        try:
            try:
                write(fd)
                os.fchmod(fd, 0o444)
                mtime_ns = os.fstat(fd).st_mtime_ns
            finally:
                os.close(fd)
            os.replace(temporary, self._object(sha256))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self._write(("objects", (sha256, mtime_ns, self.signer.sign(sha256, mtime_ns))))

    def _temporary(self, sha256: str) -> str:
        folder = f"{self._objects}/{sha256[:2]}"
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        return f"{folder}/.{sha256}.{os.getpid()}"

    def _stored_mtime(self, sha256: str) -> int | None:
        recent = self._recent.get((_OBJECT, sha256))
        if recent is not None:
            return int(recent[0])
        db = self._connect()
        if db is None:
            return None
        if self._object_times is None:  # read once, like the file index
            rows = db.execute("SELECT sha256, mtime_ns, mac FROM objects")
            self._object_times = {
                bytes.fromhex(sha): mtime
                for sha, mtime, mac in rows
                if self.signer.valid(mac, sha, mtime) and is_digest(sha)
            }
        return self._object_times.get(bytes.fromhex(sha256)) if is_digest(sha256) else None

    def intact(self, sha256: str, mtime_ns: int) -> bool:
        """Whether an object (or a link to it) with this mtime is as it was stored."""
        return self._stored_mtime(sha256) == mtime_ns

    def place(self, sha256: str, size: int, target: str) -> int | None:
        """Put object `sha256` at `target` (a hard link, or a copy across file systems); the
        inode now at `target`, or None when the object is missing or not known yet. An object
        changed since it was stored is removed (the caller writes the file itself)."""
        source = self._object(sha256)
        try:
            found = os.stat(source)
            stored = self._stored_mtime(sha256)
            if stored is None:
                return None  # stored by a parallel worker whose writes are not applied yet
            if (found.st_size, found.st_mtime_ns) != (size, stored):
                os.unlink(source)
                return None
            try:
                os.link(source, target)
            except FileExistsError:
                os.unlink(target)  # never write through a link into an object
                os.link(source, target)
            except OSError:  # another file system
                shutil.copyfile(source, target)
                return os.stat(target).st_ino
        except OSError:
            return None
        return found.st_ino


def is_digest(sha256: object) -> bool:
    """Whether `sha256` is a SHA-256 in lowercase hex (what objects are named by)."""
    return isinstance(sha256, str) and _DIGEST.fullmatch(sha256) is not None


def _recent_key(write: Write) -> tuple[str, str]:
    """Where `_recent` keeps a write: a file by its path, an object by its digest, a value by
    its kind and key."""
    table, row = write
    if table == "files":
        return ("file", row[0])
    if table == "objects":
        return (_OBJECT, row[0])
    return (row[0], row[1])


def _create(temporary: str) -> int:
    """A new file at `temporary`, open for writing. What is at that name (left by a run that
    died with this pid, or put there) is removed, never reused; a folder removed since this run
    made it (a cache being cleared) is made again."""
    try:
        return os.open(temporary, _NEW_OBJECT, 0o600)
    except FileExistsError:
        os.unlink(temporary)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(temporary), exist_ok=True)
    return os.open(temporary, _NEW_OBJECT, 0o600)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _storable(row: tuple[Any, ...]) -> bool:
    """Whether SQLite can hold the row's text. A path read from the file system may hold bytes
    that are not UTF-8 (Python keeps them as lone surrogates, which SQLite refuses): such a file
    is just not remembered (validation refuses its name anyway)."""
    for field in row:
        if isinstance(field, str) and not field.isascii():
            try:
                field.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True
