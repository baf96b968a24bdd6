"""A rebuild with nothing changed does no work: the last build's inputs, recorded in the cache.

A build reads the registry's committed files, the few files its settings name, and its own code;
its output is the folder it wrote. The last successful build is what a build would write again
when: the commit checked out is the same, and the history as deep (a shallow clone publishes a
partial log); Git says the work tree holds exactly that commit (no tracked file changed or
staged, submodules included, nothing untracked or ignored under models/ or docs/, where the
build reads every file) and its index file was not rewritten since (`git lfs pull` rewrites it:
pointers and their content look alike to `git status`); the trust roots, which may sit outside
Git, hash as they did; the code and the options are the same; and every entry of the output
folder stands as that build left it (inode, size, mode, times). Then the build says so and
stops, before any per-version work. Anything else, or no record, is a full build, itself cached
per version.

Checks that depend on the clock only pass with time (a date in the future stops being in the
future), so a build that succeeded before succeeds now; a build that succeeded by leaving
versions out (--allow-invalid) is not recorded, since those may pass now. The record is written
while the build still holds its turn, so it describes this build's site and not one a
concurrent build swapped in after it. The record is a cache entry: it lives
outside the repository and carries the cache's HMAC, so a pull request cannot plant one.
Not seen: files hidden from `git status` by the local index (assume-unchanged, skip-worktree),
which only the owner of the checkout can set.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.infra.background import in_background
from registry.infra.cache import Cache
from registry.infra.cachekey import key_of

KIND = "build-unchanged"
# Where the build reads every file there is, tracked or not.
_READ_PATHS = ("models", "docs")
_SETTINGS = ("registry.yaml", "mkdocs.yml")


@dataclass(frozen=True, slots=True)
class Unchanged:
    versions: int
    excluded: tuple[str, ...]
    docs: bool


def _git(root: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "--literal-pathspecs", *args],
            cwd=root,
            capture_output=True,
            check=False,
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _status_is_clean(root: Path, prefix: str) -> bool:
    """No tracked file differs from HEAD under the registry, and nothing untracked or ignored
    sits where the build reads every file (models/, docs/, the settings files)."""
    output = _git(
        root,
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--ignored=matching",
        "--ignore-submodules=none",  # a submodule's own changes count too
        "--",
        ".",
    )
    if output is None:
        return False
    entries = output.split(b"\0")
    index = 0
    while index < len(entries):
        entry = entries[index].decode("utf-8", "surrogateescape")
        index += 1
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if code not in ("??", "!!"):
            return False  # a tracked change (renames and copies included)
        relative = path[len(prefix) :] if path.startswith(prefix) else path
        if relative in _SETTINGS or relative.split("/", 1)[0] in _READ_PATHS:
            return False
    return True


def _inputs(root: Path, out: Path, options: dict[str, Any]) -> str | None:
    """The key of this build's inputs, or None when they cannot be stated from Git."""
    found = _git(
        root, "rev-parse", "--show-prefix", "--is-shallow-repository", "--git-path", "index", "HEAD"
    )
    if found is None:
        return None
    lines = found.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) == 3:
        lines.insert(0, "")  # at the top of the work tree the prefix is an empty line, or none
    prefix, shallow, index, commit = lines[-4:]
    if not _status_is_clean(root, prefix):
        return None
    # The index's own status: `git lfs pull` and a changed submodule rewrite it while
    # `git status` stays clean (the files Git filters look the same to it before and after).
    try:
        stamp = (root / index).stat()
    except OSError:
        return None
    state = [shallow, stamp.st_ino, stamp.st_size, stamp.st_mtime_ns, stamp.st_ctime_ns]
    return key_of(KIND, commit, str(root.resolve()), str(out), sorted(options.items()), state)


def _out_state(out: Path, stop: threading.Event | None = None) -> str | None:
    """A digest of how every entry of the output folder stands (inode, size, mode, times): a
    file edited in place, even through a hard link into the cache, changes its times. None
    when it cannot be read, or when `stop` is set before the walk ends."""
    digest = hashlib.sha256()
    pending = [str(out)]
    try:
        top = out.lstat()
        digest.update(repr((top.st_dev, top.st_ino, top.st_mtime_ns, top.st_ctime_ns)).encode())
        while pending:
            folder = pending.pop()
            lines = []
            # Names, then lstat: cheaper here than DirEntry objects (pathlib more so).
            for name in sorted(os.listdir(folder)):  # noqa: PTH208
                if stop is not None and stop.is_set():  # in a folder too: one may be large
                    return None
                path = f"{folder}/{name}"
                found = os.lstat(path)
                lines.append(
                    f"{path}\0{found.st_ino} {found.st_mode} {found.st_size} "
                    f"{found.st_mtime_ns} {found.st_ctime_ns}\n"
                )
                if stat.S_ISDIR(found.st_mode):
                    pending.append(path)
            digest.update("".join(lines).encode("utf-8", "surrogateescape"))
    except OSError:
        return None
    return digest.hexdigest()


def _digests(root: Path, names: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = hashlib.sha256((root / name).read_bytes()).hexdigest()
        except OSError:
            found[name] = None
    return found


class BuildRecord:
    """The inputs of one build, stated before it starts; `unchanged` compares them with the
    last successful build, `remember` records them once this build succeeded."""

    def __init__(self, root: Path, out: Path, options: dict[str, Any], cache: Cache) -> None:
        self.root, self.out, self.options, self.cache = root, out, options, cache
        self._stop = threading.Event()
        self._walked: Callable[[], str | None] | None = None
        self.key = None
        if cache.enabled:
            # The output folder is walked while Git reads the work tree: the two are system
            # calls of two processes, on two cores (the walk alone was 0.5 s of 0.7 s at
            # 10,000 versions).
            self._walked = in_background(lambda: _out_state(out, self._stop), "modelreg-walk")
            self.key = self._key()

    def _key(self) -> str | None:
        return _inputs(self.root, self.out, self.options)

    def unchanged(self) -> Unchanged | None:
        recorded = None if self.key is None else self.cache.get(KIND, self.key)
        if not isinstance(recorded, dict) or self._walked is None:
            self._stop.set()  # a build follows: the walk would only take a core from it
            return None
        if recorded["out"] != self._walked():
            return None
        depends = recorded["depends"]
        if _digests(self.root, sorted(depends)) != depends:
            return None
        result = recorded["result"]
        return Unchanged(result["versions"], tuple(result["excluded"]), result["docs"])

    def remember(self, result: Unchanged, read_files: list[str]) -> None:
        """After a successful build that read `read_files` beside the commit (the trust
        roots), if its inputs did not move while it ran. Not a build that left versions out
        (--allow-invalid): what failed may pass later (a report dated in the future) and
        must then be published, so such a registry is built each time."""
        if self.key is None or result.excluded or self._key() != self.key:
            return
        state = _out_state(self.out)
        if state is None:
            return
        value = {
            "out": state,
            "depends": _digests(self.root, sorted(read_files)),
            "result": {
                "versions": result.versions,
                "excluded": list(result.excluded),
                "docs": result.docs,
            },
        }
        self.cache.put(KIND, self.key, value)
        self.cache.flush()
