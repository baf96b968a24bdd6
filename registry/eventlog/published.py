"""Reading a published event log (head.json or events.json and its pages) from disk or a URL,
and checking that its documents agree with one another."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.errors import ModelregError
from registry.eventlog.chain import verify_chain
from registry.infra.transport import FetchError, Transport


class LogUnavailable(ModelregError):
    """The published log cannot be read or is not shaped like one."""


@dataclass(frozen=True, slots=True)
class PublishedLog:
    events: list[dict[str, Any]]
    index: dict[str, Any]  # events.json
    head: dict[str, Any] | None  # head.json, when the log was given by it


def site_root(location: str) -> str:
    """The published site a log document belongs to: what its links may reach (a file of
    `…/v1/log/head.json` or `…/v1/events.json` belongs to the folder holding `v1/`)."""
    parsed = urllib.parse.urlparse(
        location if "://" in location else Path(location).resolve().as_uri()
    )
    cut = parsed.path.rfind("/v1/")
    folder = parsed.path[: cut + 1] if cut >= 0 else parsed.path.rsplit("/", 1)[0] + "/"
    return urllib.parse.urlunparse(parsed._replace(path=folder, params="", query="", fragment=""))


def load_published_log(location: str, transport: Transport | None = None) -> PublishedLog:
    """Every event of a published log, given its head.json or events.json (path or URL), read
    within the site's origin and checked against the published schemas."""
    transport = transport or Transport(site_root(location))
    url = location if "://" in location else Path(location).resolve().as_uri()
    try:
        return _load(transport, url)
    except FetchError as exc:
        raise LogUnavailable(str(exc)) from None


def _load(transport: Transport, url: str) -> PublishedLog:
    document = transport.json(url)
    is_index = isinstance(document, dict) and "pages" in document
    transport.validate(url, document, "events-index.json" if is_index else "log-head.json")
    head = None
    if not is_index:
        head = document
        url = urllib.parse.urljoin(url, document["links"]["events"])
        document = transport.document(url, "events-index.json")
    events: list[dict[str, Any]] = []
    for page in document["pages"]:
        page_document = transport.document(
            urllib.parse.urljoin(url, page["url"]), "events-page.json"
        )
        events += page_document["events"]
    return PublishedLog(events, document, head)


def log_problem(log: PublishedLog) -> str | None:
    """Why the log is not trustworthy: a broken chain, or documents that disagree."""
    broken = verify_chain(log.events)
    if broken is not None:
        return f"broken at seq {broken.seq}: {broken.reason}"
    last = log.events[-1].get("hash") if log.events else None
    summaries = [("events.json", log.index)] + ([("head.json", log.head)] if log.head else [])
    for name, summary in summaries:
        if summary.get("count") != len(log.events) or summary.get("head") != last:
            return (
                f"{name} names {summary.get('count')} events ending in {summary.get('head')}, "
                f"but the pages hold {len(log.events)} ending in {last}"
            )
    pages = log.index["pages"]
    on_last_page = pages[-1].get("count", 0) if pages and isinstance(pages[-1], dict) else 0
    expected = log.events[len(log.events) - on_last_page :] if on_last_page else []
    if log.index.get("events") != expected:
        return "events.json's copy of the newest events differs from the last page"
    return None
