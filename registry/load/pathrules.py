"""Rules for paths written in manifests and model files: relative, inside their folder, plain."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

from registry.infra.text import first_unsafe

# Suffixes a browser renders or runs (or sniffs as such): a contributor's file never carries one.
RISKY_SUFFIXES = frozenset(
    [
        ".html",
        ".htm",
        ".xhtml",
        ".xht",
        ".shtml",
        ".mht",
        ".mhtml",
        ".svg",
        ".svgz",
        ".xml",
        ".xsl",
        ".xslt",
        ".js",
        ".mjs",
        ".cjs",
        ".css",
        ".pdf",
        ".swf",
        ".wasm",
        ".hta",
        ".php",
        ".asp",
        ".aspx",
        ".jsp",
        ".cgi",
        ".appcache",
        ".webmanifest",
    ]
)


def path_problem(value: str) -> tuple[str, str] | None:
    """(code, reason) when `value` is not a plain relative path inside its folder, written in
    its one canonical form (what a web server, a file system and Git all read the same way)."""
    if "\\" in value:
        return "path.backslash", "uses a backslash; use `/`"
    if "\x00" in value:
        return "path.invalid", "contains a NUL byte"
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        return "path.absolute", "is absolute; give a path relative to the manifest's folder"
    if ".." in PurePosixPath(value).parts:
        return "path.parent-reference", "contains `..`; the file must be inside the version folder"
    if value in ("", ".") or value.endswith("/"):
        return "path.invalid", "does not name a file"
    if normalized(value) != value:
        return "path.invalid", f"is not written canonically; write `{normalized(value)}`"
    if "%" in value or first_unsafe(value) is not None or "\n" in value or "\t" in value:
        return "path.invalid", "holds `%` (URL encoding) or a control character; name it plainly"
    if any(part != part.strip() or part.endswith(".") for part in value.split("/")):
        return "path.invalid", "has a name that ends with `.` or a space, or starts with a space"
    return None


def risky_name(value: str) -> bool:
    """Whether a browser would render or run a file of this name (`.html`, `.svg`, ...)."""
    return PurePosixPath(value.lower()).suffix in RISKY_SUFFIXES


def normalized(value: str) -> str:
    """`./a//b` -> `a/b`: the form paths are compared in."""
    return PurePosixPath(value).as_posix()


def open_problem(folder: Path, relative: str) -> tuple[str, str] | None:
    """(code, reason) when `folder/relative` is missing, a link, not a regular file or unreadable.

    Every component is checked with lstat, so a symlinked folder on the way is refused too.
    """
    current = folder
    try:
        for part in PurePosixPath(relative).parts:
            current = current / part
            mode = os.lstat(current).st_mode
            if stat.S_ISLNK(mode):
                return "security.symlink", "is a symbolic link; commit the file itself"
        info = os.lstat(current)
    except FileNotFoundError:
        return "integrity.missing-file", "does not exist; add the file or fix the path"
    except OSError as exc:
        return "integrity.missing-file", f"cannot be opened ({exc.strerror}); fix the path"
    if not stat.S_ISREG(info.st_mode):
        return "integrity.not-a-file", "is not a regular file"
    if info.st_nlink > 1:
        return "security.hardlink", "has several hard links; commit a plain copy of the file"
    return None
