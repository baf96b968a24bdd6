"""Git history of models/ as event records, read while git writes it (docs/performance.md).

`git rev-list` and `git diff-tree` write the first-parent history oldest first, a commit at a
time; each manifest and report a commit adds is asked of one `git cat-file --batch` run at once,
parsed when it arrives, and the commit's events are derived as soon as its blobs are in: all of
it while git walks on. The rules of what a change means are in rules.py.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import ModelregError
from registry.infra import git, gitstream
from registry.load.layout import ALIASES_NAME, CONFIG_NAME

# The chain, the YAML loader and the rules are imported once git has started (in _derive): git
# walks while they load, and at 10,000 commits their imports are a fifth of the whole.
if TYPE_CHECKING:
    from registry.eventlog.chain import ChainedRecords, Chainer, Record
    from registry.eventlog.rules import Derivation


class ShallowHistory(ModelregError):
    """The clone lacks history, so the event log would be incomplete."""


@dataclass(frozen=True, slots=True)
class DerivedHistory:
    records: tuple[Record, ...]
    partial: bool  # derived from a shallow clone
    head: str | None  # the commit the history ends at


_MISSING = object()
_GITLINK = "160000"  # a submodule's entry: its object is a commit of another repository
_UNREADABLE = b"\0"  # no YAML: what a registry.yaml or aliases.yaml of that kind reads as


class _Contents:
    """The blobs of history the derivation reads, by object name: manifests and reports as data
    (None when unreadable), registry.yaml and aliases.yaml as bytes."""

    def __init__(self, prefix: str, reports_dir: str) -> None:
        self.config_path = f"{prefix}{CONFIG_NAME}"
        self.reports_dir = reports_dir
        self.prefix = prefix
        self.models = f"{prefix}models/"
        self.as_data: set[str] = set()
        self.as_bytes: set[str] = set()
        self.data: dict[str, Any] = {}
        self.bytes: dict[str, bytes | None] = {}
        self.gitlinks: set[str] = set()
        # Manifests repeat most of their lines from one commit to the next: each top-level
        # entry is read once. The data is shared between manifests: nothing here changes it,
        # and chain() copies what it publishes.
        from registry.load.yamlsafe.fast import EntryCache, load_yaml_data

        self.entries = EntryCache()
        self.load_data = load_yaml_data

    def wanted(self, change: git.Change) -> str | None:
        """The name of the blob to ask git for, when the derivation reads this change's (as
        `records` finds it) and it was not asked for in the same form before."""
        if change.status == "D":
            return None
        path = change.path
        if path == self.config_path:
            wanted = self.as_bytes
        elif path.startswith(self.models):
            parts = path[len(self.models) :].split("/", 2)
            if len(parts) == 3 and (
                parts[2] == "manifest.yaml" or parts[2].partition("/")[0] == self.reports_dir
            ):
                wanted = self.as_data
            elif len(parts) == 2 and parts[1] == ALIASES_NAME:
                wanted = self.as_bytes
            else:
                return None
        else:
            return None
        name = change.new_blob
        if change.new_mode == _GITLINK:  # a commit of another repository: nothing to read here
            self.gitlinks.add(name)
            return None
        if name in wanted:
            return None
        wanted.add(name)
        return name

    def take(self, name: str, contents: bytes | None) -> None:
        if name in self.as_data:
            self.data[name] = (
                _MISSING
                if contents is None
                else self.load_data(contents, cache=self.entries, shared=True)
            )
        if name in self.as_bytes:
            self.bytes[name] = contents

    def read_data(self, name: str) -> dict[str, Any] | None:
        """A manifest or report as plain data; None when it cannot be read safely."""
        if name in self.gitlinks:
            return None
        data = self.data[name]
        if data is _MISSING:
            raise git.GitError(f"object {name} is missing from the repository")
        return data  # type: ignore[no-any-return]

    def read_bytes(self, name: str) -> bytes:
        if name in self.gitlinks:
            return _UNREADABLE
        raw = self.bytes[name]
        if raw is None:
            raise git.GitError(f"object {name} is missing from the repository")
        return raw


def _derive(start: gitstream.HistoryStart, head: str) -> ChainedRecords:
    """The records of the history up to `head`, derived while git reads it."""
    config_path = f"{start.prefix}{CONFIG_NAME}"
    with gitstream.HistoryStream(
        start.top, [f"{start.prefix}models", config_path], head
    ) as history:
        blobs = gitstream.BlobStream(start.top)
        try:
            from registry.eventlog.chain import collection_paused
            from registry.eventlog.rules import REPORTS_DIR, Derivation

            contents = _Contents(start.prefix, REPORTS_DIR)
            derivation = Derivation(start.prefix, contents)
            with collection_paused():
                return _derive_streamed(history.batches(), blobs, contents, derivation)
        finally:
            blobs.close()


def _derive_streamed(
    batches: Iterable[list[git.LogEntry]],
    blobs: gitstream.BlobStream,
    contents: _Contents,
    derivation: Derivation,
) -> ChainedRecords:
    """Each commit's blobs asked for as git writes the commit, its records derived as soon as
    they are in (the answers come in the order asked)."""
    from registry.eventlog.chain import ChainedRecords, Chainer

    records: list[Record] = []
    chainer = Chainer()  # chained as they come: chain(records) returns these (ChainedRecords)
    waiting: deque[tuple[git.LogEntry, int]] = deque()  # with the answers each one needs
    for batch in batches:
        for entry in batch:
            for change in entry.changes:
                name = contents.wanted(change)
                if name is not None:
                    blobs.ask(name)
            waiting.append((entry, blobs.asked))
        blobs.send()
        for name, raw in blobs.answers():
            contents.take(name, raw)
        while waiting and waiting[0][1] <= blobs.answered:
            _add(records, chainer, derivation.records(waiting.popleft()[0]))
    for name, raw in blobs.rest():
        contents.take(name, raw)
    for entry, _ in waiting:
        _add(records, chainer, derivation.records(entry))
    return ChainedRecords(records, chainer.events)


def _add(records: list[Record], chainer: Chainer, made: Iterable[Record]) -> None:
    for record in made:
        records.append(record)
        chainer.add(record)


def derive(root: Path, rev: str = "HEAD", allow_shallow: bool = False) -> DerivedHistory:
    """The records of the first-parent history of models/ up to `rev`."""
    start = gitstream.history_start(root, rev)
    if start is None:
        raise ModelregError(f"{root} is not a Git repository: the event log comes from Git history")
    if start.shallow and not allow_shallow:
        raise ShallowHistory(
            "this is a shallow clone, so the event log would be incomplete; fetch the full "
            "history (git fetch --unshallow, or actions/checkout with fetch-depth: 0), or pass "
            "--allow-shallow to publish a log marked partial"
        )
    if start.head is None:
        return DerivedHistory((), start.shallow, None)  # no commit yet
    records = _derive(start, start.head)
    return DerivedHistory(records, start.shallow, start.head)
