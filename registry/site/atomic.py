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


def replace_folder(staged: Path, target: Path) -> None:
    """Put `staged` in place of `target`; the old content is removed afterwards."""
    if not target.exists():
        staged.rename(target)
        return
    if _exchange(staged, target):
        shutil.rmtree(staged)  # now holds the previous content
        return
    previous = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    target.rename(previous)
    staged.rename(target)
    shutil.rmtree(previous)


@contextlib.contextmanager
def staging(target: Path) -> Iterator[Path]:
    """A fresh folder beside `target`; swapped in on success, deleted on any failure."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
    staged.mkdir()
    try:
        yield staged
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    replace_folder(staged, target)
