"""Git history of models/ as event records: one `git log` pass, blobs read through one process."""

from __future__ import annotations

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


def _load(data: bytes) -> dict[str, Any] | None:
    """A manifest or report as plain data; None when it cannot be read safely."""
    loaded, _ = load_yaml_bytes(data, "history")
    return loaded.data if loaded is not None else None


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


class _Derivation:
    def __init__(self, root: Path, prefix: str, entries: list[git.LogEntry]) -> None:
        # Every manifest and report blob the walk will read, in the order it reads them.
        self.config_path = f"{prefix}{CONFIG_NAME}"
        planned = [
            change.new_blob
            for entry in entries
            for change in entry.changes
            if change.status != "D"
            and (
                change.path == self.config_path
                or (
                    change.path.startswith(f"{prefix}models/")
                    and (
                        change.path.endswith(("/manifest.yaml", f"/{ALIASES_NAME}"))
                        or "/reports/" in change.path
                    )
                )
            )
        ]
        self.blobs = git.BlobReader(root, planned)
        self.prefix = prefix
        self.state = _Tracker()

    def records(self, entry: git.LogEntry) -> Iterator[Record]:
        commit = entry.commit
        stamp = utc(commit.timestamp)
        by_version: dict[tuple[str, str], list[tuple[str, git.Change]]] = {}
        alias_files: dict[str, git.Change] = {}
        policy_changed = False
        for change in entry.changes:
            if change.path == self.config_path:
                policy_changed = True
                self.state.policy = (
                    GovernancePolicy()
                    if change.status == "D"
                    else _policy(self.blobs.read(change.new_blob), self.state.policy)
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
            raw = None if change.status == "D" else self.blobs.read(change.new_blob)
            self.state.declared[name] = declared_aliases(raw, name)
        # An alias follows its file, and leaves a version that is blocked, deprecated or removed.
        touched = {name for name, _ in by_version} | set(alias_files)
        for name in sorted(self.state.declared if policy_changed else touched):
            for kind, version, payload in self._alias_events(name):
                yield Record(kind, name, version, commit.sha, commit.author, stamp, payload)

    def _alias_events(self, name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
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
            data = _load(self.blobs.read(manifest.new_blob))
            self.state.manifests[key] = data
            first = name not in self.state.models
            self.state.models.add(name)
            payload: dict[str, Any] = {"manifest": data}
            if key in self.state.removed:
                payload["readded"] = True  # a version number used before: validation refuses it
            yield ("ModelRegistered" if first else "ModelVersioned"), payload
        elif manifest is not None:
            before = self.state.manifests.get(key)
            data = _load(self.blobs.read(manifest.new_blob))
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
            data = _load(self.blobs.read(change.new_blob))
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
    entries = git.log(root, [f"{prefix}models", f"{prefix}{CONFIG_NAME}"], head)
    derivation = _Derivation(root, prefix, entries)
    try:
        records = [r for entry in entries for r in derivation.records(entry)]
    finally:
        derivation.blobs.close()
    return DerivedHistory(tuple(records), shallow, head)
