"""One exception root; each subclass carries a message that says what to do next.

The CLI catches ModelregError (exit 1) and, by the one rule below (`environment_failure`), an
OSError the machine caused: a full disk, a permission, a read-only, missing or occupied path (exit
1, a message naming the path). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator


class ModelregError(Exception):
    """A failed operation the user can fix; the message says how."""


class UsageError(ModelregError):
    """The command line asks for something impossible (exit code 2)."""


class ConfigError(ModelregError):
    """registry.yaml is missing a value or holds an invalid one."""


class LayoutError(ModelregError):
    """A path is not where the registry layout expects it."""


class FormatError(ModelregError):
    """A model file cannot be read as the format it claims or appears to be.

    `code` is the stable finding code (e.g. `format.invalid`).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class EnvironmentFailure(ModelregError):
    """The machine refused an operation (a full disk, a permission, a read-only or missing
    path): nothing is wrong with modelreg or its input; the message says what and where."""


# What each OSError of the environment asks the user to do; any other errno is a bug's.
_ADVICE = {
    errno.ENOSPC: "free some space, or choose another place",
    errno.EDQUOT: "free some space, or choose another place",
    errno.EFBIG: "the file system refuses a file that large; choose another place",
    errno.EACCES: "check the permissions there, or choose another place",
    errno.EPERM: "check the permissions there, or choose another place",
    errno.EROFS: "that file system is read-only; choose another place",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a file is where a folder should be; move it or choose another path",
    errno.EISDIR: "a folder is where a file should be; move it or choose another path",
    errno.EEXIST: "something is already there; move it or choose another path",
    errno.ENOTEMPTY: "the folder is not empty; move its content or choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.ELOOP: "the path loops through symbolic links; check the path",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n) or use fewer --jobs",
    errno.ENFILE: "too many open files on this machine; try again later",
    errno.EIO: "the storage reports an input/output error; check the disk",
    errno.EBUSY: "it is in use; try again once it is free",
    errno.ETXTBSY: "it is in use; try again once it is free",
}


def is_environmental(exc: BaseException) -> bool:
    """Whether `exc` is an OSError the machine caused (see _ADVICE), not a bug."""
    return isinstance(exc, OSError) and exc.errno in _ADVICE


def environment_failure(exc: OSError, doing: str = "") -> EnvironmentFailure:
    """THE rule for an OSError of the environment: an error saying what failed (`doing`, when
    the caller knows, e.g. "cannot write into site/"), on which path, why, and what to do."""
    paths = " and ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or str(exc)
    advice = _ADVICE.get(exc.errno or 0)
    text = ": ".join(part for part in (doing, paths, reason) if part)
    return EnvironmentFailure(f"{text}; {advice}" if advice else text)


@contextlib.contextmanager
def environment_errors(doing: str) -> Iterator[None]:
    """Say what was being done when the machine refuses it: an OSError of the environment in
    the block becomes environment_failure(exc, doing); any other OSError stays a bug."""
    try:
        yield
    except OSError as exc:
        if not is_environmental(exc):
            raise
        raise environment_failure(exc, doing) from exc
