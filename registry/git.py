"""Every Git access of modelreg, through GitPython.

History is read in one `git log` pass over the first-parent history of models/ (name-status,
rename detection off), never one process per commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from registry.errors import ModelregError

# Separators that cannot occur in the fields they separate.
_RECORD = "\x1e"
_FIELD = "\x1f"
_FORMAT = _FIELD.join(["%H", "%P", "%an", "%ae", "%cI"]) + _RECORD


class GitError(ModelregError):
    """A Git operation failed; the message names the command's complaint."""


@dataclass(frozen=True)
class Change:
    status: str  # A, M, D or T
    path: str


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    timestamp: str  # committer date, strict ISO 8601 with offset

    @property
    def time(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.timestamp)


@dataclass(frozen=True)
class LogEntry:
    commit: Commit
    changes: tuple[Change, ...]


def _repo(root: Path) -> object:
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


@functools.cache
def _toplevel(root: Path) -> Path | None:
    repo = _repo(root)
    if repo is None:
        return None
    return Path(repo.working_tree_dir)  # type: ignore[attr-defined]


def is_repository(root: Path) -> bool:
    return _toplevel(root.resolve()) is not None


def _git(root: Path, *args: str) -> bytes:
    import git

    repo = _repo(root)
    if repo is None:
        raise GitError(f"{root} is not inside a Git repository")
    try:
        output: bytes = repo.git.execute(  # type: ignore[attr-defined]
            ["git", *args], stdout_as_string=False, with_extended_output=False
        )
    except git.GitCommandError as exc:
        detail = exc.stderr.strip() if isinstance(exc.stderr, str) else str(exc)
        raise GitError(f"git {' '.join(args[:2])} failed: {detail}") from exc
    return output


def _decode(raw: bytes) -> str:
    # Author names are bytes in Git; a non-UTF-8 name must not break the log.
    return raw.decode("utf-8", errors="replace")


def _parse_commit(header: str) -> Commit:
    sha, parents, author, email, timestamp = header.split(_FIELD)
    return Commit(sha, tuple(parents.split()), author, email, timestamp)


def head(root: Path) -> Commit | None:
    """The commit checked out, or None outside a repository or before the first commit."""
    if not is_repository(root):
        return None
    try:
        raw = _git(root, "log", "-1", f"--format={_FORMAT}", "HEAD")
    except GitError:
        return None  # no commit yet
    return _parse_commit(_decode(raw).strip().rstrip(_RECORD))


def log(root: Path, pathspec: str = "models", rev: str = "HEAD") -> list[LogEntry]:
    """First-parent history of `pathspec`, oldest first, with each commit's changed paths."""
    raw = _git(
        root,
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--no-renames",
        "--name-status",
        "--reverse",
        "-z",
        f"--format={_FORMAT}",
        rev,
        "--",
        pathspec,
    )
    return parse_log(_decode(raw))


def parse_log(text: str) -> list[LogEntry]:
    """Parse `git log -z --name-status` output written with this module's format.

    Tokens are NUL-separated: a commit header, then (status, path) pairs. A path is always read as
    the token after a status, so no file name can be mistaken for a header.
    """
    tokens = text.split("\x00")
    entries: list[LogEntry] = []
    current: Commit | None = None
    changes: list[Change] = []
    index = 0
    while index < len(tokens):
        token = tokens[index].lstrip("\n")
        if not token:
            index += 1
        elif current is not None and len(token) <= 4 and index + 1 < len(tokens):
            changes.append(Change(token[0], tokens[index + 1]))
            index += 2
        else:
            if current is not None:
                entries.append(LogEntry(current, tuple(changes)))
            current, changes = _parse_commit(token.rstrip(_RECORD)), []
            index += 1
    if current is not None:
        entries.append(LogEntry(current, tuple(changes)))
    return entries


def show(root: Path, rev: str, path: str) -> bytes | None:
    """The bytes of `path` at `rev`, or None when it does not exist there."""
    try:
        return _git(root, "show", f"{rev}:{path}")
    except GitError:
        return None


def relative_to_toplevel(root: Path) -> str:
    """`root` relative to the repository's top level ('' when they are the same)."""
    top = _toplevel(root.resolve())
    if top is None:
        return ""
    relative = os.path.relpath(root.resolve(), top)
    return "" if relative == "." else relative
