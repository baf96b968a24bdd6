"""Timestamps as the registry publishes them: RFC 3339 in UTC, from Git, never from the clock."""

from __future__ import annotations

import datetime as dt
import os

from registry.errors import ConfigError

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc(timestamp: str) -> str:
    """An ISO 8601 timestamp (or date) as RFC 3339 in UTC (`...Z`); one without an offset, a
    date included, is taken as UTC, never as the machine's local time. RFC 3339 allows a lower
    case `t` and `z`, which Python's parser does not read."""
    moment = dt.datetime.fromisoformat(timestamp.upper())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime(FORMAT)


def epoch_seconds(timestamp: str) -> int:
    return int(dt.datetime.fromisoformat(timestamp).timestamp())


def source_date() -> str:
    """SOURCE_DATE_EPOCH (reproducible-builds convention) for a registry outside Git, else 1970."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "0")
    if not value.isdigit():
        raise ConfigError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds; unset it")
    return dt.datetime.fromtimestamp(int(value), dt.UTC).strftime(FORMAT)
