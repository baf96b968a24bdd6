"""Git history of models/ as event records: one `git log` pass, blobs read through one process.

Git writes the log newest first while this reads it: each manifest and report a commit adds is
asked of one `git cat-file --batch` run at once, and parsed (docs/performance.md) while git is
still walking; the events are then derived oldest first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.errors import ModelregError
from registry.eventlog.chain import Record
from registry.governance.policy import Blocking, blocked_by
from registry.governance.policy_config import GovernancePolicy, governance_from
from registry.infra import git
from registry.load.aliases import alias_changes, declared_aliases, effective_aliases
from registry.load.layout import ALIASES_NAME, CONFIG_NAME
from registry.load.manifest import IMMUTABLE_FIELDS
from registry.load.reports import REPORTS_DIR, drift_score, report_kind, summary
from registry.load.schemas import validate_against
from registry.load.yamlsafe import load_yaml_bytes
from registry.load.yamlsafe.fast import EntryCache, load_yaml_data
from registry.times import utc


class ShallowHistory(ModelregError):
    """The clone lacks history, so the event log would be incomplete."""


@dataclass(frozen=True)
class DerivedHistory:
    records: tuple[Record, ...]
    partial: bool  # derived from a shallow clone
    head: str | None  # the commit the history ends at


@dataclass
class _Tracker:
    """What the derivation knows so far: model names and each live version's manifest."""

    models: set[str] = field(default_factory=set)
    manifests: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    removed: set[tuple[str, str]] = field(default_factory=set)
    # Governance: the policy of registry.yaml at this point of history, each live version's
    # drift measurements (report, score), and the versions it blocked.
    policy: GovernancePolicy = field(default_factory=GovernancePolicy)
    drifts: dict[tuple[str, str], list[tuple[str, float]]] = field(default_factory=dict)
    blocked: set[tuple[str, str]] = field(default_factory=set)
    # Each model's aliases.yaml as declared, and the aliases that hold (registry.load.aliases).
    declared: dict[str, dict[str, str]] = field(default_factory=dict)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)

    def usable(self, name: str, version: str) -> bool:
        """Whether a version can hold an alias: published, readable, not deprecated, not blocked."""
        data = self.manifests.get((name, version))
        return (
            data is not None
            and data.get("status") != "deprecated"
            and (name, version) not in self.blocked
        )

    def removal_reason(self, name: str, version: str) -> str:
        if (name, version) in self.blocked:
            return "blocked"
        if (name, version) not in self.manifests:
            return "version-removed"
        data = self.manifests[(name, version)]
        return (
            "deprecated"
            if data is not None and data.get("status") == "deprecated"
            else "unassigned"
        )


def _utc(timestamp: str) -> str:
    """registry.times.utc, without strftime (a tenth of the derivation's own time)."""
    moment = dt.datetime.fromisoformat(timestamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
        if moment.year >= 1000:  # strftime's %Y and isoformat write the same digits
            return f"{moment.replace(microsecond=0, tzinfo=None).isoformat()}Z"
    return utc(timestamp)


def changed_fields(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """Top-level fields set to a new value (with it), and fields removed."""
    before, after = before or {}, after or {}
    changes = {k: after[k] for k in sorted(after) if k not in before or before[k] != after[k]}
    return changes, sorted(set(before) - set(after))


def _report_record(kind: str, path: str, data: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    payload: dict[str, Any] = {"report": path}
    if data is None:
        return "ValidationFailed" if kind == "evaluation" else "DriftReported", {
            **payload,
            "unreadable": True,
        }
    payload.update(summary(kind, data))
    if kind == "drift":
        return "DriftReported", payload
    return ("ValidationPassed" if data.get("passed") is True else "ValidationFailed"), payload


def _policy(data: bytes, current: GovernancePolicy) -> GovernancePolicy:
    """The governance policy of a registry.yaml from history; an invalid one changes nothing
    (validation refused it when it was committed)."""
    loaded, _ = load_yaml_bytes(data, CONFIG_NAME)
    if loaded is None or validate_against("registry.json", loaded, CONFIG_NAME):
        return current
    return governance_from(loaded.data.get("governance", {}))


_MISSING = object()


class _Contents:
    """The blobs of history the derivation reads, by object name: manifests and reports as data
    (None when unreadable), registry.yaml and aliases.yaml as bytes."""

    def __init__(self, prefix: str) -> None:
        self.config_path = f"{prefix}{CONFIG_NAME}"
        self.prefix = prefix
        self.models = f"{prefix}models/"
        self.as_data: set[str] = set()
        self.as_bytes: set[str] = set()
        self.data: dict[str, Any] = {}
        self.bytes: dict[str, bytes | None] = {}
        # Manifests repeat most of their lines from one commit to the next: each top-level
        # entry is read once. The data is shared between manifests: nothing here changes it,
        # and chain() copies what it publishes.
        self.entries = EntryCache()

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
                parts[2] == "manifest.yaml" or parts[2].partition("/")[0] == REPORTS_DIR
            ):
                wanted = self.as_data
            elif len(parts) == 2 and parts[1] == ALIASES_NAME:
                wanted = self.as_bytes
            else:
                return None
        else:
            return None
        name = change.new_blob
        if name in wanted:
            return None
        wanted.add(name)
        return name

    def take(self, name: str, contents: bytes | None) -> None:
        if name in self.as_data:
            self.data[name] = (
                _MISSING
                if contents is None
                else load_yaml_data(contents, cache=self.entries, shared=True)
            )
        if name in self.as_bytes:
            self.bytes[name] = contents

    def read_data(self, name: str) -> dict[str, Any] | None:
        """A manifest or report as plain data; None when it cannot be read safely."""
        data = self.data[name]
        if data is _MISSING:
            raise git.GitError(f"object {name} is missing from the repository")
        return data  # type: ignore[no-any-return]

    def read_bytes(self, name: str) -> bytes:
        raw = self.bytes[name]
        if raw is None:
            raise git.GitError(f"object {name} is missing from the repository")
        return raw


def _read_history(root: Path, prefix: str, head: str) -> tuple[list[git.LogEntry], _Contents]:
    """The first-parent history of models/ and registry.yaml, oldest first, and the blobs of it
    that the derivation reads: both read in one pass, each blob parsed as it arrives."""
    contents = _Contents(prefix)
    entries: list[git.LogEntry] = []
    blobs = git.BlobStream(root)
    try:
        log = git.stream_log(root, [f"{prefix}models", contents.config_path], head)
        with contextlib.closing(log):
            for entry in log:
                entries.append(entry)
                for change in entry.changes:
                    name = contents.wanted(change)
                    if name is not None:
                        blobs.ask(name)
                if len(blobs.unsent) >= 256:
                    blobs.send()
                    for name, raw in blobs.answers():
                        contents.take(name, raw)
        for name, raw in blobs.rest():
            contents.take(name, raw)
    finally:
        blobs.close()
    entries.reverse()
    return entries, contents


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """The derivation allocates a few objects per commit and frees none of them until the end,
    and holds no reference cycles: the cycle collector would only walk the growing heap again
    and again (a third of the time of 100,000 commits)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Derivation:
    def __init__(self, prefix: str, contents: _Contents) -> None:
        self.config_path = contents.config_path
        self.blobs = contents
        self.prefix = prefix
        self.state = _Tracker()

    def records(self, entry: git.LogEntry) -> Iterator[Record]:
        commit = entry.commit
        stamp = _utc(commit.timestamp)
        by_version: dict[tuple[str, str], list[tuple[str, git.Change]]] = {}
        alias_files: dict[str, git.Change] = {}
        policy_changed = False
        for change in entry.changes:
            if change.path == self.config_path:
                policy_changed = True
                self.state.policy = (
                    GovernancePolicy()
                    if change.status == "D"
                    else _policy(self.blobs.read_bytes(change.new_blob), self.state.policy)
                )
            parts = change.path[len(self.prefix) :].split("/", 3)
            if len(parts) == 4 and parts[0] == "models":
                by_version.setdefault((parts[1], parts[2]), []).append((parts[3], change))
            elif len(parts) == 3 and parts[0] == "models" and parts[2] == ALIASES_NAME:
                alias_files[parts[1]] = change
        for (name, version), changes in sorted(by_version.items()):
            for kind, payload in self._version_events(name, version, changes):
                yield Record(kind, name, version, commit.sha, commit.author, stamp, payload)
        # A new drift report, a new risk tier or a new policy can block a version.
        review = sorted(self.state.manifests) if policy_changed else sorted(by_version)
        for key in review:
            blocking = self._blocks(key)
            if blocking is not None:
                payload = blocking.to_json()
                yield Record("ModelBlocked", *key, commit.sha, commit.author, stamp, payload)
        for name, change in alias_files.items():
            raw = None if change.status == "D" else self.blobs.read_bytes(change.new_blob)
            self.state.declared[name] = declared_aliases(raw, name)
        # An alias follows its file, and leaves a version that is blocked, deprecated or removed.
        touched = {name for name, _ in by_version} | set(alias_files)
        for name in sorted(self.state.declared if policy_changed else touched):
            for kind, version, payload in self._alias_events(name):
                yield Record(kind, name, version, commit.sha, commit.author, stamp, payload)

    def _alias_events(self, name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        if name not in self.state.declared and name not in self.state.aliases:
            return  # none declared, none held: nothing changes (most commits)
        before = self.state.aliases.get(name, {})
        after = effective_aliases(
            self.state.declared.get(name, {}), lambda v: self.state.usable(name, v)
        )
        if after:
            self.state.aliases[name] = after
        else:
            self.state.aliases.pop(name, None)
        for kind, alias, old, new in alias_changes(before, after):
            payload: dict[str, Any] = {"alias": alias, "from": old, "to": new}
            if new is None and old is not None:
                payload["reason"] = self.state.removal_reason(name, old)
            yield kind, new or old or "", payload

    def _blocks(self, key: tuple[str, str]) -> Blocking | None:
        if key in self.state.blocked or key not in self.state.manifests:
            return None
        if not self.state.drifts.get(key):
            return None  # only a drift measurement blocks (blocked_by)
        data = self.state.manifests[key] or {}
        blocking = blocked_by(
            self.state.policy, data.get("risk_tier"), self.state.drifts.get(key, [])
        )
        if blocking is not None:
            self.state.blocked.add(key)
        return blocking

    def _version_events(
        self, name: str, version: str, changes: list[tuple[str, git.Change]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        key = (name, version)
        manifest = next((c for rel, c in changes if rel == "manifest.yaml"), None)
        if manifest is not None and manifest.status == "D":
            self.state.manifests.pop(key, None)
            self.state.removed.add(key)
            self.state.drifts.pop(key, None)
            self.state.blocked.discard(key)
            yield "VersionRemoved", {}
            return
        if manifest is not None and key not in self.state.manifests:
            data = self.blobs.read_data(manifest.new_blob)
            self.state.manifests[key] = data
            first = name not in self.state.models
            self.state.models.add(name)
            payload: dict[str, Any] = {"manifest": data}
            if key in self.state.removed:
                payload["readded"] = True  # a version number used before: validation refuses it
            yield ("ModelRegistered" if first else "ModelVersioned"), payload
        elif manifest is not None:
            before = self.state.manifests.get(key)
            data = self.blobs.read_data(manifest.new_blob)
            self.state.manifests[key] = data
            changes_made, removed = changed_fields(before, data)
            if changes_made or removed or data is None:
                payload = {
                    "changes": changes_made,
                    "removed": removed,
                    "unreadable": data is None,
                }
                touched = sorted((set(changes_made) | set(removed)) & IMMUTABLE_FIELDS)
                if touched:
                    payload["immutable_changed"] = touched
                newly_deprecated = (data or {}).get("status") == "deprecated" and (
                    before or {}
                ).get("status") != "deprecated"
                yield ("ModelDeprecated" if newly_deprecated else "MetadataUpdated"), payload
        for relative, change in sorted(changes, key=lambda item: item[0]):
            folder, _, file_name = relative.partition("/")
            if folder != REPORTS_DIR or change.status != "A" or key not in self.state.manifests:
                continue
            data = self.blobs.read_data(change.new_blob)
            kind = report_kind(file_name, data)
            if kind is None:
                continue
            score = drift_score(data)
            if score is not None:
                self.state.drifts.setdefault(key, []).append((relative, score))
            yield _report_record(kind, relative, data)


def derive(root: Path, rev: str = "HEAD", allow_shallow: bool = False) -> DerivedHistory:
    """The records of the first-parent history of models/ up to `rev`."""
    if not git.is_repository(root):
        raise ModelregError(f"{root} is not a Git repository: the event log comes from Git history")
    shallow = git.is_shallow(root)
    if shallow and not allow_shallow:
        raise ShallowHistory(
            "this is a shallow clone, so the event log would be incomplete; fetch the full "
            "history (git fetch --unshallow, or actions/checkout with fetch-depth: 0), or pass "
            "--allow-shallow to publish a log marked partial"
        )
    prefix = git.models_prefix(root)
    try:
        head = git.resolve(root, rev)
    except git.GitError:
        return DerivedHistory((), shallow, None)  # no commit yet
    with _collection_paused():
        entries, contents = _read_history(root, prefix, head)
        derivation = _Derivation(prefix, contents)
        records = tuple(r for entry in entries for r in derivation.records(entry))
    return DerivedHistory(records, shallow, head)
