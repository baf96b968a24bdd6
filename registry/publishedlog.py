"""Reading a published event log (head.json or events.json and its pages) from disk or a URL,
and checking that its documents agree with one another."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.errors import ModelregError
from registry.events import verify_chain

MAX_DOCUMENT = 256 << 20  # bytes read from one published JSON document at most


class LogUnavailable(ModelregError):
    """The published log cannot be read or is not shaped like one."""


@dataclass(frozen=True)
class PublishedLog:
    events: list[dict[str, Any]]
    index: dict[str, Any]  # events.json
    head: dict[str, Any] | None  # head.json, when the log was given by it


def _location_url(location: str) -> str:
    return location if "://" in location else Path(location).resolve().as_uri()


def read_json(url: str) -> Any:
    """A JSON document from file:// or http(s)://."""
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("file", "http", "https"):
        raise LogUnavailable(f"{url}: only files and http(s) URLs can be read")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - scheme checked
            data = response.read(MAX_DOCUMENT + 1)
    except (OSError, ValueError) as exc:
        raise LogUnavailable(f"cannot read {url}: {exc}") from exc
    if len(data) > MAX_DOCUMENT:
        raise LogUnavailable(f"{url} is larger than {MAX_DOCUMENT} bytes")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise LogUnavailable(f"{url} is not JSON: {exc}") from exc


def _follow(base: str, reference: Any, what: str) -> str:
    """`reference` resolved against `base`; it must stay on the same scheme and host."""
    if not isinstance(reference, str):
        raise LogUnavailable(f"{base}: {what} is not a URL reference")
    target = urllib.parse.urljoin(base, reference)
    old, new = urllib.parse.urlparse(base), urllib.parse.urlparse(target)
    if (old.scheme, old.netloc) != (new.scheme, new.netloc):
        raise LogUnavailable(f"{base}: {what} {reference!r} leaves the site ({target})")
    return target


def load_published_log(location: str) -> PublishedLog:
    """Every event of a published log, given its head.json or events.json (path or URL)."""
    url = _location_url(location)
    document = read_json(url)
    head = None
    if isinstance(document, dict) and "head" in document and "pages" not in document:
        head = document
        links = document.get("links")
        reference = links.get("events") if isinstance(links, dict) else None
        url = _follow(url, reference, "links.events")
        document = read_json(url)
    if not isinstance(document, dict) or not isinstance(document.get("pages"), list):
        raise LogUnavailable(f"{url} is not an events.json (no `pages` list)")
    events: list[dict[str, Any]] = []
    for page in document["pages"]:
        page_url = _follow(url, page.get("url") if isinstance(page, dict) else None, "a page")
        page_document = read_json(page_url)
        found = page_document.get("events") if isinstance(page_document, dict) else None
        if not isinstance(found, list):
            raise LogUnavailable(f"{page_url} has no `events` list")
        events += found
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
