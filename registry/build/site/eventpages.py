"""The published event log: paginated JSON, its head, an Atom feed, and the rows of the HTML
timelines.

URL scheme: `v1/events/<n>.json` holds seq (n-1)*page_size+1 .. n*page_size. A full page never
changes again (the log only grows), so its URL is stable and cacheable; `v1/events.json` lists the
pages and repeats the newest one; `v1/log/head.json` names the last event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from registry import __version__
from registry.build import paths
from registry.build.site.records import API_VERSION, link
from registry.eventlog.chain import Event
from registry.infra.text import xml_text

if TYPE_CHECKING:
    from registry.build.catalog import Catalog

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 100
# The registry's timeline page: the newest events (a page of the whole log would be tens of
# megabytes at 100,000 versions, and held in memory by the build); the log has them all.
TIMELINE_EVENTS = 1000


def pages(events: Sequence[Event], page_size: int) -> list[Sequence[Event]]:
    return [events[i : i + page_size] for i in range(0, len(events), page_size)] or [[]]


def page_document(number: int, chunk: Sequence[Event], page_size: int) -> dict[str, Any]:
    doc = paths.events_page(number)
    links: dict[str, str] = {"index": link(doc, paths.EVENTS_JSON)}
    if number > 1:
        links["prev"] = link(doc, paths.events_page(number - 1))
    # No `next`: it would change a full page when the next one appears (see events.json).
    return {
        "api_version": API_VERSION,
        "page": number,
        "page_size": page_size,
        "complete": len(chunk) == page_size,
        "events": [e.to_json() for e in chunk],
        "links": links,
    }


def index_document(events: Sequence[Event], page_size: int, partial: bool) -> dict[str, Any]:
    chunks = pages(events, page_size)
    return {
        "api_version": API_VERSION,
        "count": len(events),
        "page_size": page_size,
        "head": events[-1].hash if events else None,
        "partial": partial,
        "pages": [
            {
                "url": link(paths.EVENTS_JSON, paths.events_page(n)),
                "first_seq": (n - 1) * page_size + 1,
                "count": len(chunk),
                "complete": len(chunk) == page_size,
            }
            for n, chunk in enumerate(chunks, start=1)
        ],
        "events": [e.to_json() for e in chunks[-1]],
        "links": {"head": link(paths.EVENTS_JSON, paths.LOG_HEAD)},
    }


def head_document(
    events: Sequence[Event], commit: str | None, generated_at: str, partial: bool
) -> dict[str, Any]:
    return {
        "api_version": API_VERSION,
        "count": len(events),
        "head": events[-1].hash if events else None,
        "commit": commit,
        "generated_at": generated_at,
        "partial": partial,
        "links": {"events": link(paths.LOG_HEAD, paths.EVENTS_JSON)},
    }


def summary(event: Event) -> str:
    """One line saying what happened, for the feed and the timelines."""
    payload = event.payload
    subject = f"{event.model}@{event.version}"
    if event.type in ("ModelRegistered", "ModelVersioned"):
        return f"{subject} published" + (
            " (a new model)" if event.type == "ModelRegistered" else ""
        )
    if event.type in ("MetadataUpdated", "ModelDeprecated"):
        fields = sorted({*payload.get("changes", {}), *payload.get("removed", [])})
        text = f"{subject}: {', '.join(fields) or 'manifest'} changed"
        if event.type == "ModelDeprecated":
            reason = (payload.get("changes", {}).get("deprecation") or {}).get("reason", "")
            text = f"{subject} deprecated" + (f": {reason}" if reason else "")
        return text
    if event.type in ("ValidationPassed", "ValidationFailed"):
        verdict = "passed" if event.type == "ValidationPassed" else "failed"
        return f"{subject}: evaluation {payload.get('run_id', '')} {verdict}".replace("  ", " ")
    if event.type == "DriftReported":
        return f"{subject}: drift {payload.get('drift_score', '?')} reported"
    if event.type == "ModelBlocked":
        return f"ALERT {subject} blocked: {payload.get('reason', '')}"
    if event.type.startswith("Alias"):
        return _alias_summary(event)
    return f"{subject}: version folder removed"


def _alias_summary(event: Event) -> str:
    payload = event.payload
    alias, old, new = payload.get("alias"), payload.get("from"), payload.get("to")
    if event.type == "AliasAssigned":
        return f"{event.model}@{alias} assigned to {new}"
    if event.type == "AliasMoved":
        return f"{event.model}@{alias} moved from {old} to {new}"
    reason = payload.get("reason")
    text = f"{event.model}@{alias} removed from {old}"
    if reason == "blocked":  # consumers following the alias lost their version: an alert
        return f"ALERT {text}: {old} is blocked"
    return text + (f" ({old} is {reason})" if reason in ("deprecated",) else "")


def timeline(catalog: Catalog, events: Sequence[Event]) -> list[dict[str, Any]]:
    """Events for a timeline (HTML pages), newest first, each with its one-line summary, and
    whether its version has a page in this site (removed or excluded versions have none)."""
    return [
        {
            **e.to_json(),
            "summary": summary(e),
            "published": catalog.find(f"{e.model}@{e.version}") is not None,
        }
        for e in reversed(events)
    ]


def _page_of(event: Event, published: frozenset[str]) -> str:
    """The version's page, or the timeline when the version has none (removed, excluded)."""
    if f"{event.model}@{event.version}" in published:
        return paths.version_page(event.model, event.version)
    return paths.TIMELINE_PAGE


def atom_feed(
    events: Sequence[Event], title: str, base_url: str, generated_at: str, published: frozenset[str]
) -> str:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(
            parent, f"{{{ATOM}}}{tag}", {k: xml_text(v) for k, v in attrs.items()}
        )
        if text is not None:
            element.text = xml_text(text)  # history may hold what XML cannot carry
        return element

    add(feed, "id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, base_url + paths.FEED)}")
    add(feed, "title", f"{title}: registry events")
    add(feed, "updated", events[-1].timestamp if events else generated_at)
    add(feed, "link", rel="self", href=base_url + paths.FEED)
    add(feed, "link", rel="alternate", href=base_url + paths.TIMELINE_PAGE)
    add(add(feed, "author"), "name", title)
    add(feed, "generator", "modelreg", version=__version__)
    for event in reversed(events[-FEED_ENTRIES:]):
        entry = add(feed, "entry")
        add(entry, "id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_OID, event.hash)}")
        add(entry, "title", f"{event.type}: {summary(event)}")
        add(entry, "updated", event.timestamp)
        add(add(entry, "author"), "name", event.author or "unknown")
        add(
            entry,
            "link",
            rel="alternate",
            href=base_url + _page_of(event, published),
        )
        add(entry, "category", term=event.type)
        add(
            entry,
            "summary",
            f"{summary(event)} (commit {event.commit[:12]}, event {event.seq}, hash {event.hash})",
        )
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"
