"""Where a registry's cache lives, and the key that proves its entries were written here.

A cache inside the repository is something a pull request can write: a forged result there once
made CI accept a model that runs code. So the cache lives outside the working tree (the user's
cache folder, `$XDG_CACHE_HOME/modelreg/<repository>/`, or `--cache-dir` / `MODELREG_CACHE_DIR`),
a cache folder inside the repository is never used, and every entry carries an HMAC made with a
random key that exists only in this cache root (`secret.key`, mode 0600): an entry copied from
elsewhere or forged from public values is a miss, never a result.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import subprocess
from pathlib import Path

ENVIRONMENT = "MODELREG_CACHE_DIR"
KEY_NAME = "secret.key"
KEY_BYTES = 32


class CacheUnavailable(Exception):
    """This cache must not be used; the message says why (the run goes on without it)."""


def cache_root(override: Path | None = None) -> Path:
    """--cache-dir, else $MODELREG_CACHE_DIR, else the platform's user cache folder."""
    if override is not None:
        return override
    configured = os.environ.get(ENVIRONMENT)
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "modelreg"


def repository_folder(root: Path, override: Path | None = None) -> Path:
    """The cache folder of the registry at `root`: one per checkout, named after its path."""
    resolved = root.resolve()
    digest = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:16]
    return cache_root(override) / f"{resolved.name[:40] or 'root'}-{digest}"


def _work_tree(root: Path) -> Path:
    """The Git work tree holding `root` (the registry may be a sub-folder), else `root`."""
    try:
        found = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return root.resolve()
    # The folder's bytes, UTF-8 or not, without git's one line break (a name may end in more).
    top = os.fsdecode(found.stdout.removesuffix(b"\n"))
    return Path(top).resolve() if found.returncode == 0 and top else root.resolve()


def _enclosing_trees(root: Path) -> set[Path]:
    """The folders above `root` (itself included) that hold a `.git`, up to the first that is a
    repository of its own: a linked worktree or a submodule has a `.git` file, and the work
    tree holding it is what a pull request writes too. Read from the file system, so neither
    the environment (GIT_DIR, GIT_CEILING_DIRECTORIES) nor a git that refuses the folder
    (dubious ownership) can hide one."""
    found = set()
    for folder in (root, *root.parents):
        marker = folder / ".git"
        if os.path.lexists(marker):
            found.add(folder)
            if marker.is_dir() and not marker.is_symlink():
                break
    return found


def check_location(folder: Path, root: Path) -> None:
    """Refuse a cache folder that the repository holds: a pull request could write it."""
    try:
        resolved, top = folder.resolve(), root.resolve()
    except RuntimeError as exc:  # a loop of links (Python 3.11 raises it, not OSError)
        raise CacheUnavailable(f"{folder} cannot be resolved: {exc}") from None
    for tree in {top, _work_tree(root), *_enclosing_trees(top)}:
        if resolved == tree or resolved.is_relative_to(tree):
            raise CacheUnavailable(
                f"{folder} is inside the repository ({tree}), where a pull request could write "
                "it; caches are never read from there: use the default (outside the working "
                f"tree), or --cache-dir / {ENVIRONMENT} with a folder outside it"
            )


def load_key(cache_root_folder: Path) -> bytes:
    """This cache root's secret key, made on first use; refused unless it is private to us."""
    path = cache_root_folder / KEY_NAME
    cache_root_folder.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        found = os.fstat(handle.fileno())
        if (
            not stat.S_ISREG(found.st_mode)
            or found.st_mode & 0o077
            or found.st_uid != os.getuid()
            or found.st_size != KEY_BYTES
        ):
            raise CacheUnavailable(
                f"{path} is not a private {KEY_BYTES}-byte file of this user (mode 0600); "
                "remove it and the next run makes a new one"
            )
        return handle.read()


class Signer:
    """HMAC-SHA256 of a row's fields with the cache's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, *fields: object) -> str:
        message = json.dumps(fields, separators=(",", ":"), default=str).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def valid(self, mac: object, *fields: object) -> bool:
        return isinstance(mac, str) and hmac.compare_digest(mac, self.sign(*fields))
