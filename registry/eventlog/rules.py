"""The rules that turn each commit of the registry's history into event records: what a change
of a manifest, a report, registry.yaml or an aliases.yaml means (DESIGN.md, "Event log").

Kept apart from derive.py, which imports this module only once git runs: the loader, the
schemas and the governance rules take a tenth of a second to import, and git walks meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import compress
from operator import is_not
from typing import TYPE_CHECKING, Any, Protocol

from registry.eventlog.chain import Record
from registry.governance.policy_config import GovernancePolicy, governance_from
from registry.load.jsonequal import same_json
from registry.load.layout import ALIASES_NAME, REPORTS_DIR
from registry.load.manifest_fields import IMMUTABLE_FIELDS
from registry.load.yamlsafe import load_yaml_bytes
from registry.times import utc

if TYPE_CHECKING:
    from registry.governance.policy import Blocking
    from registry.infra import git

# What reports, aliases, registry.yaml and drift need (the schemas, the governance rules) is
# imported where it is first used: a history without them never pays for the import.

__all__ = ["REPORTS_DIR", "Blobs", "Derivation", "changed_fields"]


class Blobs(Protocol):
    """The blobs of history, by object name, as the derivation reads them."""

    config_path: str

    def read_data(self, name: str) -> dict[str, Any] | None: ...

    def read_bytes(self, name: str) -> bytes: ...


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
    if (
        len(timestamp) == 25
        and timestamp.endswith("+00:00")
        and timestamp[10] == "T"
        and timestamp[0] != "0"
    ):
        # Git's strict ISO 8601 in UTC already (`%cI`: no fraction, a four-digit year from 1000).
        return f"{timestamp[:19]}Z"
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
        if moment.year >= 1000:  # strftime's %Y and isoformat write the same digits
            return f"{moment.replace(microsecond=0, tzinfo=None).isoformat()}Z"
    return utc(timestamp)


def _require_utf8(sha: str, path: str, start: int) -> None:
    """A path under the registry (from `start`) that Git holds in bytes that are not UTF-8
    (read as lone surrogates) names no model the log can write: refused, as validation refuses
    any name that is not ASCII. The registry's own folder may be named so."""
    try:
        path[start:].encode("utf-8")
    except UnicodeEncodeError:
        from registry.findings import printable
        from registry.infra.git import GitError

        raise GitError(
            f"commit {sha} has the path {printable(path)}, which is not UTF-8: the event log "
            "cannot name it (nor tell it from another such name); a registry's history must not "
            "hold it (validation refuses names that are not ASCII): rewrite that commit with an "
            "ASCII name, then publish once without --previous-log (docs/event-log.md)"
        ) from None


def changed_fields(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """Top-level fields set to a new value (with it), and fields removed."""
    before, after = before or {}, after or {}
    if before.keys() == after.keys():
        # The common edit. A value read from an unchanged line is the very same object (the
        # YAML fast path shares them), so identity, compared in C, leaves a field or two.
        differ = map(is_not, map(before.__getitem__, after), after.values())
        changed = [k for k in compress(after, differ) if not same_json(before[k], after[k])]
        return {k: after[k] for k in sorted(changed)}, []
    changes = {
        k: after[k] for k in sorted(after) if k not in before or not same_json(before[k], after[k])
    }
    return changes, sorted(set(before) - set(after))


def _report_record(kind: str, path: str, data: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    payload: dict[str, Any] = {"report": path}
    if data is None:
        return "ValidationFailed" if kind == "evaluation" else "DriftReported", {
            **payload,
            "unreadable": True,
        }
    from registry.load.reports import summary

    payload.update(summary(kind, data))
    if kind == "drift":
        return "DriftReported", payload
    return ("ValidationPassed" if data.get("passed") is True else "ValidationFailed"), payload


def _policy(data: bytes, current: GovernancePolicy) -> GovernancePolicy:
    """The governance policy of a registry.yaml from history; an invalid one changes nothing
    (validation refused it when it was committed)."""
    from registry.load.schemas import validate_against

    loaded, _ = load_yaml_bytes(data, "registry.yaml")
    if loaded is None or validate_against("registry.json", loaded, "registry.yaml"):
        return current
    return governance_from(loaded.data.get("governance", {}))


def _declared_aliases(raw: bytes | None, name: str) -> dict[str, str]:
    from registry.load.aliases import declared_aliases

    return declared_aliases(raw, name)


class Derivation:
    def __init__(self, prefix: str, contents: Blobs) -> None:
        self.config_path = contents.config_path
        self.blobs = contents
        self.prefix = prefix
        self.state = _Tracker()

    def records(self, entry: git.LogEntry) -> Iterator[Record]:
        commit = entry.commit
        try:
            stamp = _utc(commit.timestamp)
        except (ValueError, OverflowError):
            from registry.infra.git import GitError

            raise GitError(
                f"commit {commit.sha} has the committer date {commit.timestamp!r}, which the "
                "event log cannot hold (years 1 to 9999, UTC): a registry's history must not "
                "hold it; rewrite that commit with a real date"
            ) from None
        by_version: dict[tuple[str, str], list[tuple[str, git.Change]]] = {}
        alias_files: dict[str, git.Change] = {}
        policy_changed = False
        for change in entry.changes:
            if not change.path.isascii():
                _require_utf8(commit.sha, change.path, len(self.prefix))
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
            self.state.declared[name] = _declared_aliases(raw, name)
        # An alias follows its file, and leaves a version that is blocked, deprecated or removed.
        touched = {name for name, _ in by_version} | set(alias_files)
        for name in sorted(self.state.declared if policy_changed else touched):
            for kind, version, payload in self._alias_events(name):
                yield Record(kind, name, version, commit.sha, commit.author, stamp, payload)

    def _alias_events(self, name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        if name not in self.state.declared and name not in self.state.aliases:
            return  # none declared, none held: nothing changes (most commits)
        before = self.state.aliases.get(name, {})
        from registry.load.aliases import alias_changes, effective_aliases

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
        from registry.governance.policy import blocked_by

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
        manifest = None
        for relative, change in changes:
            if relative == "manifest.yaml":
                manifest = change
                break
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
                touched = sorted(k for k in (*changes_made, *removed) if k in IMMUTABLE_FIELDS)
                if touched:
                    payload["immutable_changed"] = touched
                newly_deprecated = (data or {}).get("status") == "deprecated" and (
                    before or {}
                ).get("status") != "deprecated"
                yield ("ModelDeprecated" if newly_deprecated else "MetadataUpdated"), payload
        if len(changes) > 1:
            changes = sorted(changes, key=lambda item: item[0])
        for relative, change in changes:
            folder, _, file_name = relative.partition("/")
            if folder != REPORTS_DIR or change.status != "A" or key not in self.state.manifests:
                continue
            data = self.blobs.read_data(change.new_blob)
            from registry.load.reports import drift_score, report_kind

            kind = report_kind(file_name, data)
            if kind is None:
                continue
            score = drift_score(data)
            if score is not None:
                self.state.drifts.setdefault(key, []).append((relative, score))
            yield _report_record(kind, relative, data)
