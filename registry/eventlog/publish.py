"""The registry's event log for publication: derived from Git, chained, checked against the
log published last time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
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
from registry.infra.parallel import forked_map


class LogRewritten(ModelregError):
    """The new log does not extend the published one: history was rewritten."""


@dataclass(frozen=True, slots=True)
class EventLog:
    events: tuple[Event, ...]
    partial: bool  # from a shallow clone, or a registry folder outside Git


# A version's manifest as the caller holds it, by `models/<name>/<version>`.
Manifests = Mapping[str, Mapping[str, Any]]


def registry_log(
    root: Path, allow_shallow: bool, cache: Cache | None = None, manifests: Manifests | None = None
) -> EventLog:
    """The chained log of the commit checked out; from the cache when that commit's log was
    derived before (the same commit always gives the same events). `manifests`: those the
    caller holds (a build: every validated version's), which the events that published them
    hold too, when they are the same JSON, instead of a copy of their own.

    A build holds the log to its end, beside every validation result: what deriving and
    decoding it hold meanwhile (every event again, as Git's records and as decoded JSON) would
    set the process's size for the rest of the build (memory a Python process frees stays in
    its heap). So the log is derived in a forked child, which hands over the text of its cache
    entry, one string (as many small ones, freed, they stayed in the heap too), and the events
    are decoded from it one at a time."""
    if not git.is_repository(root):
        return EventLog((), True)
    key = _key(root, allow_shallow) if cache is not None else None
    if cache is not None and key is not None:
        found = cache.get_text("events", key)
        if found is not None:
            try:
                events, partial = _stored(found)
                return _kept(events, partial, manifests or {})
            except (ValueError, RecursionError):
                pass  # an entry no log wrote: derived again, and written over
    entry = _derive(root, allow_shallow, cache if key is not None else None, key or "")
    events, partial = _stored(entry)
    return _kept(events, partial, manifests or {})


def derive_ahead(root: Path, allow_shallow: bool, cache: Cache) -> None:
    """The log derived into `cache` now, if it is not there, for registry_log to find: a build
    calls this before it validates, while its process is small, since the forked child that
    derives the log holds a copy of its parent's pages beside what it derives (at 100,000
    versions: the validation results, 1.1 GB, and 0.8 GB of records). A log that cannot be
    derived is left to registry_log, which reports it where the build always did."""
    if not cache.enabled or not git.is_repository(root):
        return
    try:
        key = _key(root, allow_shallow)
        if key is None or cache.holds("events", key):
            return
        _derive(root, allow_shallow, cache, key)
    except ModelregError:
        return


def _derive(root: Path, allow_shallow: bool, cache: Cache | None, key: str) -> str:
    """The log's cache entry, derived in a forked child and saved under `key` (with a cache):
    saved now, its text leaves memory with the events decoded."""
    ((entry,),) = forked_map(_derived, [allow_shallow], 1, root, _as_is)
    if cache is not None:
        cache.put_text("events", key, entry)
        cache.flush()
    return entry


def _key(root: Path, allow_shallow: bool) -> str | None:
    """The cache key of the log of the commit checked out; None before the first commit."""
    head = git.head(root)
    if head is None:
        return None
    # A shallow clone's log is refused unless allowed: the permission is part of the key.
    shallow = git.is_shallow(root)
    return key_of("events", head.sha, git.models_prefix(root), shallow, shallow and allow_shallow)


def _as_is(root: Path) -> Path:
    return root


def _derived(root: Path, allow_shallow: bool) -> tuple[str]:
    """In the forked child: the log's cache entry, the events derived from Git and whether
    the history is partial."""
    history = derive(root, allow_shallow=allow_shallow)
    texts = [json.dumps(e.to_json(), separators=(",", ":")) for e in chain(history.records)]
    return (_entry(texts, history.partial),)


def _entry(texts: list[str], partial: bool) -> str:
    """The cache entry of the log: the same text as Cache.put of {"events": [...], "partial":
    partial} writes."""
    return '{"events":[' + ",".join(texts) + '],"partial":' + json.dumps(partial) + "}"


def _stored(text: str) -> tuple[Iterator[dict[str, Any]], bool]:
    """The events of a cache entry `_entry` wrote, decoded as they are read, and whether the
    history was partial. (The entry is MAC checked; one of another shape is decoded whole.)"""
    for partial in (False, True):
        tail = '],"partial":' + json.dumps(partial) + "}"
        if text.startswith('{"events":[') and text.endswith(tail):
            return _each(text, len('{"events":['), len(text) - len(tail)), partial
    whole = json.loads(text)
    if not isinstance(whole, dict) or not isinstance(whole.get("events"), list):
        raise ValueError("the cached log is not an object with a list of events")
    return iter(whole["events"]), bool(whole.get("partial"))


def _each(text: str, start: int, end: int) -> Iterator[dict[str, Any]]:
    """Each value of the list between `start` and `end`: a value that runs past `end` (into
    the entry's tail) or is not followed by a comma is a malformed entry."""
    decoder = json.JSONDecoder()
    at = start
    while at < end:
        event, at = decoder.raw_decode(text, at)
        if at > end or (at < end and text[at] != ","):
            raise ValueError(f"the cached log is malformed at character {at}")
        yield event
        at += 1


def _kept(events: Iterable[dict[str, Any]], partial: bool, manifests: Manifests) -> EventLog:
    """The log as a build keeps it: interned, its strings are shared, and an event that
    carries a version's manifest holds the caller's when json writes both the same (key order
    and number types included: 1 and 1.0 are equal in Python, not in the JSON the event is
    hashed over), not an equal copy: the manifest is most of a version's event and of its
    validation result, and a build holds both for every version of the registry."""
    return EventLog(tuple(Event.from_json(_sharing(e, manifests)) for e in events), partial)


def _sharing(event: Any, manifests: Manifests) -> Any:
    """`event` interned, its manifest the caller's when it is the same JSON (what is not an
    event is left for Event.from_json to refuse)."""
    payload = event.get("payload") if isinstance(event, dict) else None
    manifest = payload.get("manifest") if isinstance(payload, dict) else None
    mine = None
    if manifest is not None:
        mine = manifests.get(f"models/{event.get('model')}/{event.get('version')}")
    if mine is None or not _same_json_text(mine, manifest):
        return interned(event)
    assert isinstance(event, dict) and isinstance(payload, dict)
    shared = {k: mine if k == "manifest" else interned(v) for k, v in payload.items()}
    return {**interned({k: v for k, v in event.items() if k != "payload"}), "payload": shared}


def _same_json_text(a: Any, b: Any) -> bool:
    """Whether json writes `a` and `b` the same (what it cannot write is never the same). Not
    load.jsonequal.same_json: that one lets key order differ, and the shared dict is what the
    event's JSON is written from."""
    try:
        return json.dumps(a) == json.dumps(b)
    except (TypeError, ValueError):
        return False


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
