"""Every Git access of modelreg, through GitPython (the one runner: a command costs what a
subprocess costs, 1.25 ms either way, and importing it 47 ms once per process), except the
processes that read history for the event log while git writes it (registry.infra.gitstream).

History is read in one pass over the first-parent history of models/ (raw changes, rename
detection off), never one process per commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from registry.errors import ModelregError
from registry.infra.background import in_background

_T = TypeVar("_T")

# Separators that cannot occur in the fields they separate.
_RECORD = "\x1e"
_FIELD = "\x1f"
_FORMAT = _FIELD.join(["%H", "%P", "%an", "%ae", "%cI"]) + _RECORD


class GitError(ModelregError):
    """A Git operation failed; the message names the command's complaint."""


# Answers already read in this snapshot (see `snapshot`), or None outside one.
_SNAPSHOT: dict[tuple[str, ...], Any] | None = None


@contextlib.contextmanager
def snapshot() -> Iterator[None]:
    """Within the block, a question asked again (a revision, a diff against the working tree)
    gets the answer read the first time: for a command that reads the repository and changes
    nothing in it, such as validate, where several checks ask the same. Each `git diff` costs
    a walk of the whole working tree."""
    global _SNAPSHOT
    outer = _SNAPSHOT
    _SNAPSHOT = {} if outer is None else outer
    try:
        yield
    finally:
        _SNAPSHOT = outer


def _remembered(key: tuple[str, ...], read: Any) -> Any:
    if _SNAPSHOT is None:
        return read()
    if key not in _SNAPSHOT:
        _SNAPSHOT[key] = read()
    return _SNAPSHOT[key]


@dataclass(frozen=True, slots=True)
class Change:
    status: str  # A, M, D or T
    path: str
    old_mode: str = "000000"
    new_mode: str = "000000"
    old_blob: str = ""
    new_blob: str = ""


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    timestamp: str  # committer date, strict ISO 8601 with offset

    @property
    def time(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.timestamp)


@dataclass(frozen=True, slots=True)
class LogEntry:
    commit: Commit
    changes: tuple[Change, ...]


_REPOS: dict[Path, Any] = {}


def _repo(root: Path) -> Any:
    """The repository holding `root`, or None. Found repositories are kept; a miss is not, since
    `git init` may come later in the same process."""
    import git

    if root in _REPOS:
        return _REPOS[root]
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    _REPOS[root] = repo
    return repo


def _toplevel(root: Path) -> Path | None:
    repo = _repo(root)
    if repo is None:
        return None
    return Path(repo.working_tree_dir)


def is_repository(root: Path) -> bool:
    return _toplevel(root.resolve()) is not None


def _git(root: Path, *args: str, istream: Any = None) -> bytes:
    import git

    repo = _repo(root)
    if repo is None:
        raise GitError(f"{root} is not inside a Git repository")
    try:
        output: bytes = repo.git.execute(
            # Every path is a path: a folder named `:(top)x` or `x*` must not be read as magic.
            ["git", "--literal-pathspecs", *args],
            stdout_as_string=False,
            with_extended_output=False,
            istream=istream,
        )
    except git.GitCommandError as exc:
        detail = exc.stderr.strip() if isinstance(exc.stderr, str) else str(exc)
        raise GitError(f"git {' '.join(args[:2])} failed: {detail}") from exc
    return output


def _git_input(root: Path, data: bytes, *args: str) -> bytes:
    """git with `data` on its standard input (GitPython passes a file to the process)."""
    import tempfile  # here: the event log's processes start before it would be imported

    with tempfile.TemporaryFile() as given:
        given.write(data)
        given.seek(0)
        return _git(root, *args, istream=given)


def _decode(raw: bytes) -> str:
    # Author names are bytes in Git; a non-UTF-8 name must not break the log.
    return raw.decode("utf-8", errors="replace")


def _decode_paths(raw: bytes) -> str:
    """Git output that holds paths. A byte that is not UTF-8 is kept as a lone surrogate, as
    Python reads file names (os.fsdecode): two names that differ only there stay two names (with
    "replace" both would read as U+FFFD) and each names its own file."""
    return raw.decode("utf-8", errors="surrogateescape")


def _replaced(text: str) -> str:
    """A commit's author or e-mail read with `_decode_paths`, as `_decode` reads it."""
    return (
        text
        if text.isascii()
        else text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    )


def _parse_commit(header: str, root: Path) -> Commit:
    fields = header.split(_FIELD)
    if len(fields) == 5:
        sha, parents, author, email, timestamp = fields
        return Commit(sha, tuple(parents.split()), _replaced(author), _replaced(email), timestamp)
    # The separator inside an author's name or e-mail (a crafted commit): read both alone.
    sha, parents, timestamp = fields[0], fields[1], fields[-1]
    author, email = (_commit_field(root, sha, part) for part in ("%an", "%ae"))
    return Commit(sha, tuple(parents.split()), author, email, timestamp)


def _commit_field(top: Path, sha: str, placeholder: str) -> str:
    done = subprocess.run(
        ["git", "show", "-s", f"--format={placeholder}", sha, "--"],
        cwd=top,
        capture_output=True,
        env={**os.environ, "LANGUAGE": "C", "LC_ALL": "C"},
        check=False,
    )
    if done.returncode != 0:
        raise GitError(f"git show failed: {_decode(done.stderr).strip()}")
    return _decode(done.stdout).removesuffix("\n")


def head(root: Path) -> Commit | None:
    """The commit checked out, or None outside a repository or before the first commit."""
    if not is_repository(root):
        return None
    try:
        raw = _git(root, "log", "-1", f"--format={_FORMAT}", "HEAD")
    except GitError:
        return None  # no commit yet
    return _parse_commit(_decode(raw).strip().rstrip(_RECORD), root)


def log(root: Path, pathspec: str | Sequence[str] = "models", rev: str = "HEAD") -> list[LogEntry]:
    """First-parent history of `pathspec` (one or several), oldest first, with each commit's
    changed files."""
    pathspecs = [pathspec] if isinstance(pathspec, str) else list(pathspec)
    raw = _git(
        root,
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--no-renames",
        "--raw",
        "--no-abbrev",
        "--reverse",
        "-z",
        f"--format={_FORMAT}",
        rev,
        "--",
        *pathspecs,
    )
    return parse_log(_decode_paths(raw), root)


def _change(raw: str, path: str) -> Change:
    # ":<old mode> <new mode> <old blob> <new blob> <status>"
    old_mode, new_mode, old_blob, new_blob, status = raw.lstrip(":").split(" ")
    return Change(status[0], path, old_mode, new_mode, old_blob, new_blob)


def parse_log(text: str, root: Path) -> list[LogEntry]:
    """Parse `git log -z --raw` output written with this module's format.

    Tokens are NUL-separated: a commit header, then (raw change, path) pairs. A path is always
    read as the token after a raw change, so no file name can be mistaken for a header.
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
        elif current is not None and token.startswith(":") and index + 1 < len(tokens):
            changes.append(_change(token, tokens[index + 1]))
            index += 2
        else:
            if current is not None:
                entries.append(LogEntry(current, tuple(changes)))
            current, changes = _parse_commit(token.rstrip(_RECORD), root), []
            index += 1
    if current is not None:
        entries.append(LogEntry(current, tuple(changes)))
    return entries


def read_blobs(root: Path, names: Sequence[str]) -> dict[str, bytes | None]:
    """Many objects through one `git cat-file --batch` run; None for a missing one."""
    # Names are `rev:path`: a path keeps the bytes it was read with (_decode_paths).
    asked = "\n".join(names).encode("utf-8", "surrogateescape") + b"\n"
    raw = _git_input(root, asked, "cat-file", "--batch")
    found: dict[str, bytes | None] = {}
    position = 0
    for name in names:
        # GitPython strips the output's last newline: a last "<name> missing" has none.
        header_end = raw.find(b"\n", position)
        header_end = len(raw) if header_end < 0 else header_end
        header = raw[position:header_end].decode()
        position = header_end + 1
        if header.endswith(" missing") or header.endswith(" ambiguous"):
            found[name] = None
            continue
        size = int(header.rsplit(" ", 1)[1])
        found[name] = raw[position : position + size]
        position += size + 1
    return found


class BlobReader:
    """Blob contents read in batches: the shas a caller will need, in order, one process a batch.

    `planned` lists the blobs in the order they will be read; unplanned reads still work, one
    process each.
    """

    def __init__(self, root: Path, planned: Sequence[str] = (), batch: int = 4000) -> None:
        self.root = root
        self.planned = list(planned)
        self.batch = batch
        self.next = 0
        self.cache: dict[str, bytes | None] = {}

    def read(self, sha: str) -> bytes:
        data = self._get(sha)
        if data is None:
            raise GitError(f"object {sha} is missing from the repository")
        return data

    def read_path(self, rev: str, path: str) -> bytes | None:
        """The blob at `rev:path`, or None when there is none."""
        return self._get(f"{rev}:{path}")

    def _get(self, name: str) -> bytes | None:
        while name not in self.cache and self.next < len(self.planned):
            chunk = self.planned[self.next : self.next + self.batch]
            self.next += self.batch
            self.cache.update(read_blobs(self.root, chunk))
        if name in self.cache:
            return self.cache.pop(name)
        return read_blobs(self.root, [name])[name]

    def close(self) -> None:
        self.cache.clear()


# Reading history while git writes it (the event log). These processes are started with
# subprocess, not through GitPython: importing GitPython costs 50 to 190 ms, as much as git's whole
# walk of 10,000 commits, and these need nothing of it (docs/performance.md, "Event log").


def is_shallow(root: Path) -> bool:
    return _decode(_git(root, "rev-parse", "--is-shallow-repository")).strip() == "true"


def resolve(root: Path, rev: str) -> str:
    """The commit `rev` names; a GitError with git's message when it names none."""
    return str(_remembered(("resolve", str(root), rev), lambda: _commit_of(root, rev)))


def _commit_of(root: Path, rev: str) -> str:
    """`rev`'s object, then the commit it peels to (a tag's): `^{commit}` appended to `rev`
    itself would be read as part of the text of a `:/<text>` search."""
    named = _decode(_git(root, "rev-parse", "--verify", "--end-of-options", rev)).strip()
    peeled = _git(root, "rev-parse", "--verify", "--end-of-options", f"{named}^{{commit}}")
    return _decode(peeled).strip()


def diff_against(root: Path, rev: str, pathspec: str) -> list[Change]:
    """Changes from `rev` to the working tree (tracked files), plus untracked files as added."""
    key = ("diff", str(root), rev, pathspec)
    return list(_remembered(key, lambda: _diff_against(root, rev, pathspec)))


def diff_between(root: Path, old: str, new: str, pathspec: str) -> list[Change]:
    """Changes from commit `old` to commit `new`: Git compares the two trees, never the work
    tree (no file is looked at)."""
    key = ("diff-between", str(root), old, new, pathspec)
    return list(_remembered(key, lambda: _raw_diff(root, old, new, "--", pathspec)))


def _raw_diff(root: Path, *args: str) -> list[Change]:
    raw = _decode_paths(_git(root, "diff", "--no-renames", "--raw", "--no-abbrev", "-z", *args))
    tokens = raw.split("\x00")
    return [
        _change(tokens[i], tokens[i + 1])
        for i in range(0, len(tokens) - 1, 2)
        if tokens[i].startswith(":")
    ]


def _with_untracked(
    root: Path, pathspec: str, listing: Callable[[], _T]
) -> tuple[_T, list[tuple[str, str]]]:
    """`listing()` and the untracked files under `pathspec` as (mode, path), a symlink 120000.
    Both walk the work tree (a diff stats every tracked file, the untracked listing reads every
    folder: 0.5 and 1.5 s at 100,000 versions), so they run as two git processes at once."""
    listed = _untracked(root, pathspec)
    try:
        first = listing()
    except BaseException:
        with contextlib.suppress(Exception):
            listed()  # no git left running behind the error
        raise
    untracked = _decode_paths(listed())
    top = _toplevel(root.resolve())
    return first, [
        ("120000" if top is not None and (top / path).is_symlink() else "100644", path)
        for path in untracked.split("\x00")
        if path
    ]


def _untracked(root: Path, pathspec: str) -> Callable[[], bytes]:
    """The listing of untracked files under `pathspec`, on its way (within a snapshot: the one
    `list_untracked_ahead` started, else a new one)."""
    return _remembered(  # type: ignore[no-any-return]
        ("untracked", str(root), pathspec),
        lambda: in_background(
            lambda: _git(root, "ls-files", "-z", "--others", "--exclude-standard", "--", pathspec),
            "modelreg-untracked",
        ),
    )


def list_untracked_ahead(root: Path) -> None:
    """Within a snapshot, start listing the untracked files under models/ now, for the checks of
    what changed. The listing reads every folder of the working tree (1.5 s at 100,000 versions,
    the longest step of a pull request's validation): started before validation's modules load
    and while Git diffs, it runs on the other core. Nothing outside a repository. A run that
    stops before it asks (a base that does not resolve) leaves the listing to end by itself: it
    only reads, and its output pipe closes when this process ends."""
    if _SNAPSHOT is not None and is_repository(root):
        _untracked(root, f"{models_prefix(root)}models")


def diff_tracked(root: Path, rev: str, pathspec: str) -> list[Change]:
    """Changes from `rev` to the working tree's tracked files: diff_against without the
    untracked files, known while those are still being listed."""
    key = ("diff-tracked", str(root), rev, pathspec)
    return list(_remembered(key, lambda: _raw_diff(root, rev, "--", pathspec)))


def _diff_against(root: Path, rev: str, pathspec: str) -> list[Change]:
    changes, untracked = _with_untracked(root, pathspec, lambda: diff_tracked(root, rev, pathspec))
    return changes + [Change("A", path, new_mode=mode) for mode, path in untracked]


def index_entries(root: Path, pathspec: str) -> list[tuple[str, str]]:
    """(mode, path) of every entry of the Git index under `pathspec`, plus untracked files.

    The index says what a commit will hold: a symlink (120000) or a submodule (160000) is
    visible there even where the working tree shows something else.
    """
    raw, untracked = _with_untracked(
        root, pathspec, lambda: _decode_paths(_git(root, "ls-files", "-s", "-z", "--", pathspec))
    )
    entries = []
    for record in raw.split("\x00"):
        if record:
            meta, _, path = record.partition("\t")
            entries.append((meta.split(" ")[0], path))
    return entries + untracked


def list_dir(root: Path, rev: str, path: str) -> list[str]:
    """Names of the entries of folder `path` at `rev` (one level)."""
    raw = _decode_paths(
        _git(root, "ls-tree", "--name-only", "-z", "--full-tree", rev, "--", path.rstrip("/") + "/")
    )
    return [entry.rsplit("/", 1)[-1] for entry in raw.split("\x00") if entry]


def path_existed(root: Path, rev: str, pathspec: str) -> bool:
    """Whether any commit in the history of `rev` touched `pathspec`."""
    return bool(_git(root, "log", "-1", "--format=%H", rev, "--", pathspec).strip())


def tracked_files(root: Path, rev: str, pathspec: str) -> set[str]:
    """Paths (from the top level) of the files committed at `rev` under `pathspec`."""
    raw = _decode_paths(
        _git(root, "ls-tree", "-r", "--name-only", "-z", "--full-tree", rev, "--", pathspec)
    )
    return {path for path in raw.split("\x00") if path}


def first_parent_commit(root: Path, path: str, rev: str = "HEAD") -> Commit | None:
    """The newest commit of the first-parent history of `rev` that changed `path` (from the top
    level): on a protected branch, the merge (or squash) the forge made, with the forge's time;
    None when no commit did, or outside a repository."""
    if not is_repository(root):
        return None
    try:
        raw = _git(root, "log", "--first-parent", "-1", f"--format={_FORMAT}", rev, "--", path)
    except GitError:
        return None  # no commit yet
    text = _decode(raw).strip().rstrip(_RECORD)
    return _parse_commit(text, root) if text else None


def relative_to_toplevel(root: Path) -> str:
    """`root` relative to the repository's top level ('' when they are the same)."""
    top = _toplevel(root.resolve())
    if top is None:
        return ""
    relative = os.path.relpath(root.resolve(), top)
    return "" if relative == "." else relative


def models_prefix(root: Path) -> str:
    """How paths of the registry's files start in Git output: `models/...` sits under it."""
    prefix = relative_to_toplevel(root)
    return f"{prefix}/" if prefix else ""
