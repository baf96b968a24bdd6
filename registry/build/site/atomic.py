"""Atomic replacement of a folder: build beside it, then swap, so readers never see half a site."""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step with Linux renameat2(RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return bool(result == 0)


def replace_folder(staged: Path, target: Path, spare: Path | None = None) -> None:
    """Put `staged` in place of `target`. The old content is kept at `spare` when given (a later
    build updates it instead of writing a whole site), else removed."""
    if not target.exists():
        staged.rename(target)
        return
    if _exchange(staged, target):
        previous = staged  # now holds the old content
    else:
        previous = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
        target.rename(previous)
        staged.rename(target)
    if spare is None:
        shutil.rmtree(previous)
    elif previous != spare:
        if spare.exists():
            shutil.rmtree(spare)
        previous.rename(spare)


@contextlib.contextmanager
def staging(target: Path, reuse: Path | None = None, spare: Path | None = None) -> Iterator[Path]:
    """The folder to build into: `reuse` (a spare site updated in place) or a fresh one beside
    `target`. On success it takes the place of `target` (whose content goes to `spare`, or
    away); on a failure a fresh folder is deleted, and a reused one is left for the next build
    to set right or remove."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    if reuse is not None:
        staged = reuse
    else:
        staged = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
        staged.mkdir()
    try:
        yield staged
    except BaseException:
        if reuse is None:
            shutil.rmtree(staged, ignore_errors=True)
        raise
    replace_folder(staged, target, spare)


def remove_leftovers(target: Path) -> None:
    """Folders that stopped builds (Ctrl-C, a crash, a full disk) left beside `target`: a fresh
    staging folder or the old site being deleted. Only while no other build of `target` runs."""
    target = target.resolve()
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for path in target.parent.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
