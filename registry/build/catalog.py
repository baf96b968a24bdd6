"""The catalog: what a build publishes, assembled from validation results and Git history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from registry.build.lineage import LineageGraph
from registry.eventlog.aliases import alias_events, alias_table
from registry.eventlog.chain import Event
from registry.findings import Finding, Severity
from registry.formats.base import ModelInfo
from registry.governance.policy import Decision, VersionStatus, blocked_earlier
from registry.infra import git
from registry.load.aliases import effective_aliases, load_alias_file
from registry.load.config import RegistryConfig
from registry.load.manifest import Manifest
from registry.load.reports import Report
from registry.signing.verify import SignatureResult
from registry.times import source_date, utc
from registry.validate.result import ValidationReport, VersionResult
from registry.versions import is_prerelease, sort_key


@dataclass(frozen=True, slots=True)
class CommitRef:
    sha: str
    author: str
    timestamp: str  # RFC 3339 UTC


@dataclass(frozen=True, slots=True)
class VersionDates:
    """The commits that first published a version and last changed it."""

    published: CommitRef | None = None
    updated: CommitRef | None = None


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    manifest: Manifest
    model_info: ModelInfo | None
    findings: tuple[Finding, ...]  # the warnings and infos that did not block publication
    history: VersionDates
    reports: tuple[Report, ...] = ()
    decision: Decision | None = None
    signature: SignatureResult | None = None
    blocked_event: Event | None = None  # the ModelBlocked event of the log, if any
    inputs_key: str = ""  # what validation read (registry.resultcache), for the build's cache
    chunks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # registry.merkle

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
    def blocked(self) -> bool:
        return self.decision is not None and self.decision.decision == "block"

    @property
    def status(self) -> VersionStatus:
        return "blocked" if self.blocked else self.manifest.status


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    versions: tuple[PublishedVersion, ...]  # in SemVer order, oldest first
    aliases: Mapping[str, str] = field(default_factory=dict)  # those that hold, by name

    def aliases_of(self, version: str) -> list[str]:
        """The aliases naming `version`, by name."""
        return [alias for alias, named in self.aliases.items() if named == version]

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
    def status(self) -> VersionStatus:
        """active while one version is; else deprecated while one is; else blocked."""
        statuses = {v.status for v in self.versions}
        order: tuple[VersionStatus, ...] = ("active", "deprecated", "blocked")
        return next(s for s in order if s in statuses or s == "blocked")


@dataclass(frozen=True)
class Catalog:
    config: RegistryConfig
    commit: CommitRef | None
    generated_at: str  # RFC 3339, from Git (or SOURCE_DATE_EPOCH), never from the clock
    models: tuple[ModelEntry, ...]
    excluded: tuple[str, ...] = field(default=())  # invalid versions left out (--allow-invalid)
    events: tuple[Event, ...] = ()
    partial_log: bool = False  # the events come from a shallow clone or no Git at all
    by_subject: Mapping[tuple[str, str | None], tuple[Event, ...]] = field(
        default_factory=dict, repr=False
    )
    lineage: LineageGraph = field(default_factory=lambda: LineageGraph.of({}), repr=False)
    # A writer's share of the catalog (registry.build.site.modelwriters): the versions of other
    # models that its versions name as their base model, found by `find` like its own.
    references: Mapping[str, PublishedVersion] = field(default_factory=dict, repr=False)

    def events_of(self, model: str, version: str | None = None) -> tuple[Event, ...]:
        return self.by_subject.get((model, version), ())

    def versions(self) -> Iterable[PublishedVersion]:
        for model in self.models:
            yield from model.versions

    def find(self, reference: str) -> PublishedVersion | None:
        return self._by_id.get(reference) or self.references.get(reference)

    def aliases_of(self, version: PublishedVersion) -> list[str]:
        """The aliases naming `version`, by name."""
        model = self._by_name.get(version.name)
        return model.aliases_of(version.version) if model is not None else []

    def alias_history(self, model: ModelEntry) -> list[Event]:
        """The model's alias events, in log order."""
        return alias_events(self.events_of(model.name), model.name)

    def alias_setting(self, model: ModelEntry) -> dict[str, Event | None]:
        """Each alias that holds -> the event of the log that set it (None when the log does
        not say so: a build of uncommitted changes)."""
        setting = alias_table(self.events_of(model.name)).get(model.name, {})
        found: dict[str, Event | None] = {}
        for alias, version in sorted(model.aliases.items()):
            event = setting.get(alias)
            found[alias] = (
                event if event is not None and event.payload.get("to") == version else None
            )
        return found

    @cached_property
    def _by_name(self) -> dict[str, ModelEntry]:
        return {m.name: m for m in self.models}

    @cached_property
    def _by_id(self) -> dict[str, PublishedVersion]:
        return {v.id: v for v in self.versions()}

    def artifact_url(
        self, version: PublishedVersion, relative: str | None, sha256: str
    ) -> str | None:
        """Where a file of `version` is downloaded: the manifest's url, or the template's."""
        if relative is None:
            return version.manifest.artifact.url
        return self.config.artifact_url_template.format(
            base_url=self.config.base_url,
            name=version.name,
            version=version.version,
            path=relative,
            sha256=sha256,
            commit=self.commit.sha if self.commit else "HEAD",
        )


def index_events(events: tuple[Event, ...]) -> dict[tuple[str, str | None], tuple[Event, ...]]:
    """Events by (model, version) and by (model, None), so pages find theirs in one look-up."""
    grouped: dict[tuple[str, str | None], list[Event]] = {}
    for event in events:
        grouped.setdefault((event.model, event.version), []).append(event)
        grouped.setdefault((event.model, None), []).append(event)
    return {key: tuple(found) for key, found in grouped.items()}


def blocking_events(events: tuple[Event, ...]) -> dict[str, Event]:
    """`models/<name>/<version>` -> the ModelBlocked event that blocks it (until removed)."""
    blocked: dict[str, Event] = {}
    for event in events:
        key = f"models/{event.model}/{event.version}"
        if event.type == "ModelBlocked":
            blocked.setdefault(key, event)
        elif event.type in ("VersionRemoved", "ModelRegistered", "ModelVersioned"):
            blocked.pop(key, None)
    return blocked


def version_dates(events: tuple[Event, ...]) -> dict[str, VersionDates]:
    """`models/<name>/<version>` -> when the version was first published and last changed."""
    dates: dict[str, VersionDates] = {}
    for event in events:
        key = f"models/{event.model}/{event.version}"
        if event.type == "VersionRemoved":
            dates.pop(key, None)
            continue
        commit = CommitRef(event.commit, event.author, event.timestamp)
        before = dates.get(key, VersionDates())
        dates[key] = VersionDates(before.published or commit, commit)
    return dates


def build_catalog(
    root: Path,
    config: RegistryConfig,
    report: ValidationReport,
    events: tuple[Event, ...] = (),
    partial_log: bool = False,
) -> Catalog:
    """Published versions are those without errors; invalid ones are excluded (and named)."""
    dates = version_dates(events)
    blocked = blocking_events(events)
    head_commit = git.head(root)
    head = (
        CommitRef(head_commit.sha, head_commit.author, utc(head_commit.timestamp))
        if head_commit
        else None
    )
    by_model: dict[str, list[PublishedVersion]] = {}
    excluded = []
    for result in report.results:
        if not _publishable(result):
            excluded.append(result.version.id)
            continue
        assert result.manifest is not None
        kept = tuple(f for f in result.findings if f.severity is not Severity.ERROR)
        event = blocked.get(result.version.relative)
        decision = result.decision
        if event is not None and decision is not None:
            reason = str(event.payload.get("reason", "governance"))
            decision = blocked_earlier(decision, reason, event.timestamp, event.seq)
        published = PublishedVersion(
            result.manifest,
            result.model_info,
            kept,
            dates.get(result.version.relative, VersionDates(head, head)),
            result.reports,
            decision,
            result.signature,
            event,
            result.inputs_key,
            result.chunks,
        )
        by_model.setdefault(published.name, []).append(published)
    models = tuple(
        ModelEntry(
            name,
            tuple(sorted(versions, key=lambda v: sort_key(v.version))),
            _aliases(root, name, versions),
        )
        for name, versions in sorted(by_model.items())
    )
    generated = head.timestamp if head else source_date()
    lineage = LineageGraph.of({v.id: v.manifest.data for m in models for v in m.versions})
    return Catalog(
        config,
        head,
        generated,
        models,
        tuple(sorted(excluded)),
        events,
        partial_log,
        index_events(events),
        lineage,
    )


def _aliases(root: Path, name: str, versions: list[PublishedVersion]) -> dict[str, str]:
    """The model's aliases.yaml, as far as its published versions can hold them (active ones:
    not deprecated, not blocked, not left out)."""
    found, _ = load_alias_file(root, name)
    active = {v.version for v in versions if v.status == "active"}
    return effective_aliases(found.aliases if found else {}, active.__contains__)


def _publishable(result: VersionResult) -> bool:
    return result.manifest is not None and result.ok()
