"""The registry's event log for publication: derived from Git, chained, checked against the
log published last time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.errors import ModelregError
from registry.eventlog.chain import Event, chain, first_divergence
from registry.eventlog.derive import derive
from registry.eventlog.published import load_published_log, log_problem
from registry.infra import git
from registry.infra.cache import Cache
from registry.infra.cachekey import key_of
from registry.infra.interned import interned


class LogRewritten(ModelregError):
    """The new log does not extend the published one: history was rewritten."""


@dataclass(frozen=True)
class EventLog:
    events: tuple[Event, ...]
    partial: bool  # from a shallow clone, or a registry folder outside Git


def registry_log(root: Path, allow_shallow: bool, cache: Cache | None = None) -> EventLog:
    """The chained log of the commit checked out; from the cache when that commit's log was
    derived before (the same commit always gives the same events)."""
    if not git.is_repository(root):
        return EventLog((), True)
    head = git.head(root)
    key = None
    if cache is not None and head is not None:
        # A shallow clone's log is refused unless allowed: the permission is part of the key.
        shallow = git.is_shallow(root)
        key = key_of(
            "events", head.sha, git.models_prefix(root), shallow, shallow and allow_shallow
        )
        found = cache.get("events", key)
        if found is not None:
            return _kept(found["events"], found["partial"])
    events, partial = _derived(root, allow_shallow)
    if cache is not None and key is not None:
        cache.put("events", key, {"events": events, "partial": partial})
    return _kept(events, partial)


def _derived(root: Path, allow_shallow: bool) -> tuple[list[dict[str, Any]], bool]:
    """The events derived from Git, as JSON, and whether the history is partial (what derive
    read is let go of here, before the log is kept)."""
    history = derive(root, allow_shallow=allow_shallow)
    return [e.to_json() for e in chain(history.records)], history.partial


def _kept(events: list[dict[str, Any]], partial: bool) -> EventLog:
    """The log as a build keeps it: every payload names a manifest, which the build also holds
    as a validation result; interned, their strings are shared."""
    return EventLog(tuple(Event.from_json(interned(e)) for e in events), partial)


def check_extends(events: tuple[Event, ...], previous: str) -> None:
    """Refuse a log that does not start with every event published at `previous`."""
    published = load_published_log(previous)
    problem = log_problem(published)
    if problem is not None:
        raise LogRewritten(f"the previous log at {previous} is itself untrustworthy: {problem}")
    diverging = first_divergence(published.events, events)
    if diverging is not None:
        raise LogRewritten(
            f"the new event log does not extend the one published at {previous}: they differ "
            f"from seq {diverging} on, so published history was rewritten (a force push or an "
            "edited commit); restore the published commits, then build again. Right after "
            "upgrading modelreg, compare `modelreg events` with the published log at that seq: "
            "if a rule of the new version derives another event there, docs/event-log.md "
            '("Rewrites are refused") says what to do'
        )
