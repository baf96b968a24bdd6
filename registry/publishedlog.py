"""Reading a published event log (head.json or events.json and its pages) from disk or a URL."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.errors import ModelregError

MAX_DOCUMENT = 256 << 20  # bytes read from one published JSON document at most


class LogUnavailable(ModelregError):
    """The published log cannot be read or is not shaped like one."""


@dataclass(frozen=True)
class PublishedLog:
    events: list[dict[str, Any]]
    head: dict[str, Any] | None  # head.json, when it was given or found beside events.json


def _location_url(location: str) -> str:
    if "://" in location:
        return location
    return Path(location).resolve().as_uri()


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


def _events_of(document: Any, url: str) -> list[dict[str, Any]]:
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise LogUnavailable(f"{url} has no `events` list")
    return events


def load_published_log(location: str) -> PublishedLog:
    """Every event of a published log, given its head.json or events.json (path or URL)."""
    url = _location_url(location)
    document = read_json(url)
    head = None
    if isinstance(document, dict) and "head" in document and "events" not in document:
        head = document
        url = urllib.parse.urljoin(url, document.get("links", {}).get("events", "../events.json"))
        document = read_json(url)
    if not isinstance(document, dict) or not isinstance(document.get("pages"), list):
        raise LogUnavailable(f"{url} is not an events.json (no `pages` list)")
    events: list[dict[str, Any]] = []
    for page in document["pages"]:
        if not isinstance(page, dict) or not isinstance(page.get("url"), str):
            raise LogUnavailable(f"{url}: a page entry has no `url`")
        page_url = urllib.parse.urljoin(url, page["url"])
        events += _events_of(read_json(page_url), page_url)
    return PublishedLog(events, head)
