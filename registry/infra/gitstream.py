"""The processes that read history for the event log while git writes it (`history_start`,
`HistoryStream`, `BlobStream`): each starts with a process of its own at once, without
GitPython, whose import would cost as much as git's whole walk of 10,000 commits."""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.infra.git import (
    _FORMAT,
    _RECORD,
    Change,
    Commit,
    GitError,
    LogEntry,
    _change,
    _decode,
    _decode_paths,
    _parse_commit,
)

_PIPE_SIZE = 1 << 20
# Git's messages in English (what GitPython sets too); whole buffers, not a write per commit.
_STREAM_ENV = {"GIT_FLUSH": "0", "LANGUAGE": "C", "LC_ALL": "C"}


class _Drain(threading.Thread):
    """Reads one output of a process to its end on a thread of its own: the process never waits
    for its reader, so it runs on while Python works, and two pipes can never deadlock."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.fd = stream.fileno() if stream is not None else -1
        self.chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.done = False  # the end was taken by `get`

    def run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # Linux only; the default works
            fcntl.fcntl(self.fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        try:
            while chunk := os.read(self.fd, _PIPE_SIZE):
                self.chunks.put(chunk)
                if len(chunk) < _PIPE_SIZE // 4:
                    # Let the pipe fill: git writes an object or a buffer at a time, and
                    # waking up for each costs both processes more than the reading does.
                    time.sleep(0.002)
        except OSError:
            pass  # closed: the reader gave up (see _Process.close)
        finally:
            self.chunks.put(b"")

    def get(self, wait: bool) -> bytes | None:
        """The next chunk; b"" at the end; None when none is there yet and `wait` is False."""
        if self.done:
            return b""
        try:
            chunk = self.chunks.get(block=wait)
        except queue.Empty:
            return None
        self.done = not chunk
        return chunk


class _Process:
    """A git process whose output and complaints threads read while it runs: no pipe can fill
    and stop it."""

    def __init__(
        self, top: Path, args: Sequence[str], stdin: Any = None, read: bool = True
    ) -> None:
        """`read`: False leaves the output to another process (given it as its `stdin`)."""
        self.args = list(args)
        try:
            self.proc = subprocess.Popen(
                ["git", "--literal-pathspecs", *args],
                cwd=top,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, **_STREAM_ENV},
            )
        except OSError as exc:
            raise GitError(f"git {' '.join(args[:2])} failed: {exc}") from exc
        self.stdin = self.proc.stdin
        self.out = _Drain(self.proc.stdout if read else None)
        self.err = _Drain(self.proc.stderr)
        if read:
            self.out.start()
        self.err.start()

    def complaint(self) -> str:
        self.err.join(timeout=10)
        chunks = []
        while chunk := self.err.get(wait=False):
            chunks.append(chunk)
        return _decode(b"".join(chunks)[: 64 * 1024]).strip()

    def finish(self) -> None:
        """Wait for the end; a GitError with git's complaint when it failed."""
        if self.stdin is not None and not self.stdin.closed:
            self.stdin.close()
        status = self.proc.wait()
        if self.out.is_alive():
            self.out.join()
        if status != 0:
            raise GitError(f"git {' '.join(self.args[:2])} failed: {self.complaint()}")

    def close(self) -> None:
        """Stop the process if it still runs (after an error), reap it, release its pipes."""
        if self.stdin is not None:
            with contextlib.suppress(OSError):
                self.stdin.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        # The process is gone, so its output is at its end: the thread ends before the pipe is
        # closed under it.
        for drain in (self.out, self.err):
            if drain.is_alive():
                drain.join(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@dataclass(frozen=True, slots=True)
class HistoryStart:
    """Where history is read from: the top level, the registry's prefix in Git paths (see
    `models_prefix`), whether the clone is shallow, and the commit `rev` names (None: no commit)."""

    top: Path
    prefix: str
    shallow: bool
    head: str | None


def history_start(root: Path, rev: str = "HEAD") -> HistoryStart | None:
    """What `is_repository`, `models_prefix`, `is_shallow` and `resolve` tell, from one
    `git rev-parse`; None outside a repository."""
    try:
        done = subprocess.run(
            [
                "git",
                "rev-parse",
                "--is-shallow-repository",
                "--show-cdup",
                "--show-prefix",
                "--verify",
                "-q",
                "--end-of-options",
                f"{rev}^{{commit}}",
            ],
            cwd=root,
            capture_output=True,
            env={**os.environ, **_STREAM_ENV},
            check=False,
        )
    except OSError:  # no such folder
        return None
    if done.returncode not in (0, 1):
        detail = _decode(done.stderr).strip()
        if "not a git repository" in detail:
            return None
        raise GitError(f"git rev-parse failed: {detail}")
    # Lines: shallow, the way up to the top, the prefix (which may hold a line break, so it is
    # what lies between), and the commit when `rev` names one (status 0).
    lines = os.fsdecode(done.stdout).split("\n")
    head = lines[-2] if done.returncode == 0 else None
    middle = lines[2:-2] if done.returncode == 0 else lines[2:-1]
    prefix = "\n".join(middle)
    return HistoryStart(
        (root / lines[1]).resolve(), _decode_paths(os.fsencode(prefix)), lines[0] == "true", head
    )


class HistoryStream:
    """What `log(top, pathspecs, head)` returns, oldest first, a batch of entries at a time as
    git writes them (`top` and `head` from `history_start`); git starts at once.

    `git log --reverse` walks the whole history before it writes anything. Here `git rev-list`
    lists the first-parent commits oldest first (a walk without diffs: a seventh of the time)
    and `git diff-tree --stdin` writes each one's changes against its first parent as it goes:
    the diff `log --first-parent --diff-merges=first-parent` shows, and the same commits (those
    that change a path of `pathspecs`). So the caller works while git does.
    """

    def __init__(self, top: Path, pathspecs: Sequence[str], head: str) -> None:
        self.top = top
        self.commits = _Process(top, ["rev-list", "--first-parent", "--reverse", head], read=False)
        try:
            # diff-tree reads the list straight from rev-list: no byte of it passes through here.
            self.diffs = _Process(
                top, [*_DIFF_TREE, "--", *pathspecs], stdin=self.commits.proc.stdout
            )
        except BaseException:
            self.commits.close()
            raise
        assert self.commits.proc.stdout is not None
        self.commits.proc.stdout.close()  # diff-tree holds it now

    def __enter__(self) -> HistoryStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batches(self) -> Iterator[list[LogEntry]]:
        """The entries, a batch each time git's output arrives; then git must have ended well."""
        parser = _HistoryParser(self.top)
        rest = b""
        while chunk := self.diffs.out.get(wait=True):
            end = chunk.rfind(b"\x00")
            if end < 0:
                rest += chunk
                continue
            # Cut at a NUL, never inside a UTF-8 sequence, so decoding by pieces reads each
            # token as decoding the whole output would.
            text = _decode_paths(rest + chunk[: end + 1])
            rest = chunk[end + 1 :]
            yield parser.feed(text.split("\x00")[:-1])
        yield parser.feed([_decode_paths(rest)])
        yield parser.end()
        self.diffs.finish()
        self.commits.finish()

    def close(self) -> None:
        """Stop git if it still runs (the caller gave up), reap it, release its pipes."""
        self.diffs.close()
        self.commits.close()


_DIFF_TREE = (
    "diff-tree",
    "--stdin",
    "--root",  # the first commit: its files, as added
    "-m",
    "--first-parent",
    "-r",
    "--no-renames",
    "--raw",
    "--no-abbrev",
    "-z",
    f"--format={_FORMAT}",
)


class _HistoryParser:
    """`diff-tree --stdin -m -z` output, fed its NUL-separated tokens a piece at a time: a
    commit's header, then (raw change, path) pairs, the first change after a line break. A path
    is always the token after a raw change, so no file name can be mistaken for a header."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.current: Commit | None = None
        self.changes: list[Change] = []
        self.pending: str | None = None  # a raw change whose path is the next token

    def feed(self, tokens: list[str]) -> list[LogEntry]:
        done: list[LogEntry] = []
        for raw in tokens:
            if self.pending is not None:
                self.changes.append(_change(self.pending, raw))
                self.pending = None
                continue
            token = raw.lstrip("\n")
            if token.startswith(":"):
                self.pending = token
            elif token:
                if self.current is not None:
                    done.append(LogEntry(self.current, tuple(self.changes)))
                self.current, self.changes = self._commit(token.rstrip(_RECORD)), []
        return done

    def end(self) -> list[LogEntry]:
        if self.pending is not None:
            raise GitError("git diff-tree ended inside a change")
        if self.current is None:
            return []
        entry, self.current = LogEntry(self.current, tuple(self.changes)), None
        return [entry]

    def _commit(self, header: str) -> Commit:
        return _parse_commit(header, self.top)


class BlobStream:
    """One `git cat-file --batch` run asked for objects while it answers: `ask` names them,
    `send` passes the names asked so far to git, `answers` gives (name, contents, or None for a
    missing object) in the order asked, as far as git has answered, and `rest` every answer
    left once nothing more will be asked. Git buffers its answers (`--buffer`): they arrive a
    buffer at a time, the last ones when the asking ends. `asked` and `answered` count them."""

    def __init__(self, top: Path) -> None:
        self.process = _Process(top, ["cat-file", "--batch", "--buffer"], stdin=subprocess.PIPE)
        self.unsent: list[str] = []
        self.waiting: deque[str] = deque()
        self.buffer = b""  # the start of an answer not complete yet
        self.pieces: list[bytes] = []  # what arrived since, not parsed yet
        self.have = 0  # bytes in `pieces`
        self.need = 0  # bytes the next answer takes, when known
        self.asked = 0
        self.answered = 0

    def ask(self, name: str) -> None:
        if "\n" in name or not name:
            raise ValueError(f"not an object name: {name!r}")  # one name a line, or git misreads
        self.unsent.append(name)
        self.asked += 1

    def send(self) -> None:
        if self.unsent:
            assert self.process.stdin is not None
            try:
                asked = "\n".join(self.unsent) + "\n"
                self.process.stdin.write(asked.encode("utf-8", "surrogateescape"))
                self.process.stdin.flush()
            except BrokenPipeError:
                self.process.finish()  # git ended: its complaint
                raise GitError("git cat-file ended early") from None
            self.waiting.extend(self.unsent)
            self.unsent.clear()

    def answers(self) -> Iterator[tuple[str, bytes | None]]:
        """The answers that have arrived (without waiting for more)."""
        while chunk := self.process.out.get(wait=False):
            yield from self._take(chunk)

    def rest(self) -> Iterator[tuple[str, bytes | None]]:
        """Every answer still to come; then git must have ended well (a GitError if not)."""
        self.send()
        assert self.process.stdin is not None
        self.process.stdin.close()
        while self.waiting and (chunk := self.process.out.get(wait=True)):
            yield from self._take(chunk)
        if self.waiting:
            self.process.finish()  # its complaint, if it failed
            raise GitError(f"git cat-file ended before answering for {self.waiting[0]}")
        self.process.finish()

    def _take(self, chunk: bytes) -> Iterator[tuple[str, bytes | None]]:
        """The answers complete with `chunk`. A large object arrives in many chunks: they are
        joined once it is all there, not again with each one (which would be quadratic)."""
        self.pieces.append(chunk)
        self.have += len(chunk)
        if self.have < self.need:
            return
        data = b"".join(self.pieces)
        self.pieces.clear()
        yield from self._parse(data)
        if self.buffer:
            self.pieces.append(self.buffer)
        self.have = len(self.buffer)

    def _parse(self, data: bytes) -> Iterator[tuple[str, bytes | None]]:
        position = 0
        self.need = 0
        while self.waiting:
            header_end = data.find(b"\n", position)
            if header_end < 0:
                break
            header = data[position:header_end]
            if header.endswith((b" missing", b" ambiguous")):
                position = header_end + 1
                self.answered += 1
                yield self.waiting.popleft(), None
                continue
            end = header_end + 1 + _object_size(header)
            if len(data) < end + 1:
                self.need = end + 1 - position  # what the answer takes, from its header on
                break
            position = end + 1
            self.answered += 1
            yield self.waiting.popleft(), data[header_end + 1 : end]
        self.buffer = data[position:]

    def close(self) -> None:
        """Stop git if it still runs (after an error), and release its pipes."""
        self.process.close()


def _object_size(header: bytes) -> int:
    """The size in a `<name> <type> <size>` answer; a GitError for anything else (git and this
    reader out of step must stop the reading, not misread the rest)."""
    parts = header.split(b" ")
    if len(parts) != 3 or not parts[2].isdigit():
        raise GitError(f"git cat-file answered {header[:200]!r}")
    return int(parts[2])
