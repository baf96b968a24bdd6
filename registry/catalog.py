"""The catalog: what a build publishes, assembled from validation results and Git history."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from registry import git
from registry.config import RegistryConfig
from registry.events import Event
from registry.findings import Finding, Severity
from registry.formats.base import ModelInfo
from registry.manifest import Manifest
from registry.semver import is_prerelease, sort_key
from registry.validate import Report, VersionResult


@dataclass(frozen=True)
class History:
    """When a version folder first appeared and last changed, from first-parent history."""

    published: git.Commit | None = None
    updated: git.Commit | None = None


@dataclass(frozen=True)
class PublishedVersion:
    manifest: Manifest
    model_info: ModelInfo | None
    findings: tuple[Finding, ...]  # the warnings and infos that did not block publication
    history: History

    @property
    def name(self) -> str:
        return self.manifest.model_name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def status(self) -> str:
        return self.manifest.status


@dataclass(frozen=True)
class ModelEntry:
    name: str
    versions: tuple[PublishedVersion, ...]  # in SemVer order, oldest first

    @property
    def latest(self) -> PublishedVersion:
        """The highest active release; else the highest active pre-release; else the highest."""
        active = [v for v in self.versions if v.status == "active"]
        releases = [v for v in active if not is_prerelease(v.version)]
        for candidates in (releases, active, list(self.versions)):
            if candidates:
                return candidates[-1]
        raise ValueError(f"model {self.name} has no versions")

    @property
    def status(self) -> str:
        return "active" if any(v.status == "active" for v in self.versions) else "deprecated"


@dataclass(frozen=True)
class Catalog:
    config: RegistryConfig
    commit: git.Commit | None
    generated_at: str  # RFC 3339, from Git (or SOURCE_DATE_EPOCH), never from the clock
    models: tuple[ModelEntry, ...]
    excluded: tuple[str, ...] = field(default=())  # invalid versions left out (--allow-invalid)
    events: tuple[Event, ...] = ()
    partial_log: bool = False  # the events come from a shallow clone or no Git at all

    def events_of(self, model: str, version: str | None = None) -> list[Event]:
        return [
            e for e in self.events if e.model == model and (version is None or e.version == version)
        ]

    def versions(self) -> Iterable[PublishedVersion]:
        for model in self.models:
            yield from model.versions

    def find(self, reference: str) -> PublishedVersion | None:
        for version in self.versions():
            if version.id == reference:
                return version
        return None


def utc(timestamp: str) -> str:
    """An ISO 8601 timestamp with offset, as RFC 3339 in UTC (`...Z`)."""
    moment = dt.datetime.fromisoformat(timestamp).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fallback_time() -> str:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version_histories(events: tuple[Event, ...]) -> dict[str, History]:
    """`models/<name>/<version>` -> when the version was first published and last changed."""
    histories: dict[str, History] = {}
    for event in events:
        key = f"models/{event.model}/{event.version}"
        commit = git.Commit(event.commit, (), event.author, "", event.timestamp)
        if event.type == "VersionRemoved":
            histories.pop(key, None)
            continue
        before = histories.get(key, History())
        histories[key] = History(before.published or commit, commit)
    return histories


def build_catalog(
    root: Path,
    config: RegistryConfig,
    report: Report,
    events: tuple[Event, ...] = (),
    partial_log: bool = False,
) -> Catalog:
    """Published versions are those without errors; invalid ones are excluded (and named)."""
    histories = version_histories(events)
    head = git.head(root)
    by_model: dict[str, list[PublishedVersion]] = {}
    excluded = []
    for result in report.results:
        if not _publishable(result):
            excluded.append(result.version.id)
            continue
        assert result.manifest is not None
        kept = tuple(f for f in result.findings if f.severity is not Severity.ERROR)
        published = PublishedVersion(
            result.manifest,
            result.model_info,
            kept,
            histories.get(result.version.relative, History(head, head)),
        )
        by_model.setdefault(published.name, []).append(published)
    models = tuple(
        ModelEntry(name, tuple(sorted(versions, key=lambda v: sort_key(v.version))))
        for name, versions in sorted(by_model.items())
    )
    generated = utc(head.timestamp) if head else _fallback_time()
    return Catalog(config, head, generated, models, tuple(sorted(excluded)), events, partial_log)


def _publishable(result: VersionResult) -> bool:
    return result.manifest is not None and result.ok()
