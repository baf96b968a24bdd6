"""Git history of models/ as event records: one `git log` pass, blobs read through one process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry import git
from registry.errors import ModelregError
from registry.events import Record
from registry.manifest import IMMUTABLE_FIELDS
from registry.times import utc
from registry.yamlsafe import load_yaml_bytes

REPORT = re.compile(r"^reports/(?P<date>\d{4}-\d{2}-\d{2})-(?P<kind>[a-z0-9-]+)\.ya?ml$")


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
    if kind == "drift":
        drift = ("measured_at", "drift_score", "window", "monitor")
        return "DriftReported", {**payload, **{k: data.get(k) for k in drift if k in data}}
    evaluation = ("run_id", "evaluator", "evaluator_version", "dataset", "metrics", "passed")
    payload.update({k: data.get(k) for k in evaluation if k in data})
    return ("ValidationPassed" if data.get("passed") is True else "ValidationFailed"), payload


class _Derivation:
    def __init__(self, root: Path, prefix: str, entries: list[git.LogEntry]) -> None:
        # Every manifest and report blob the walk will read, in the order it reads them.
        planned = [
            change.new_blob
            for entry in entries
            for change in entry.changes
            if change.status != "D"
            and change.path.startswith(f"{prefix}models/")
            and (change.path.endswith("/manifest.yaml") or "/reports/" in change.path)
        ]
        self.blobs = git.BlobReader(root, planned)
        self.prefix = prefix
        self.state = _Tracker()

    def records(self, entry: git.LogEntry) -> Iterator[Record]:
        commit = entry.commit
        stamp = utc(commit.timestamp)
        by_version: dict[tuple[str, str], list[tuple[str, git.Change]]] = {}
        for change in entry.changes:
            parts = change.path[len(self.prefix) :].split("/", 3)
            if len(parts) == 4 and parts[0] == "models":
                by_version.setdefault((parts[1], parts[2]), []).append((parts[3], change))
        for (name, version), changes in sorted(by_version.items()):
            for kind, payload in self._version_events(name, version, changes):
                yield Record(kind, name, version, commit.sha, commit.author, stamp, payload)

    def _version_events(
        self, name: str, version: str, changes: list[tuple[str, git.Change]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        key = (name, version)
        manifest = next((c for rel, c in changes if rel == "manifest.yaml"), None)
        if manifest is not None and manifest.status == "D":
            self.state.manifests.pop(key, None)
            self.state.removed.add(key)
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
            report = REPORT.match(relative)
            if report and change.status == "A" and key in self.state.manifests:
                yield _report_record(
                    report["kind"], relative, _load(self.blobs.read(change.new_blob))
                )


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
    entries = git.log(root, f"{prefix}models", head)
    derivation = _Derivation(root, prefix, entries)
    try:
        records = [r for entry in entries for r in derivation.records(entry)]
    finally:
        derivation.blobs.close()
    return DerivedHistory(tuple(records), shallow, head)
