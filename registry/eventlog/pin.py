"""Pinning a registry's published log: `SEQ:HASH` of an event the consumer saw before.

A log whose chain holds proves nothing on its own: a server can rewrite every event and chain
them again. A consumer who noted one event (`verify-log` prints the head) pins it: the log must
still hold that event at that seq, so everything up to it is what the consumer saw. With a pin,
`fetch` takes what the log says about a version (its files' digests, when its signature came) only
from events up to the pin.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.errors import UsageError

_PIN = re.compile(r"([1-9][0-9]{0,15}):([0-9a-f]{64})")
PUBLISHING = ("ModelRegistered", "ModelVersioned")


@dataclass(frozen=True, slots=True)
class LogPin:
    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str, option: str) -> LogPin:
        found = _PIN.fullmatch(text.strip())
        if found is None:
            raise UsageError(
                f"{option} {text!r}: give SEQ:HASH, an event's number and its SHA-256 in "
                "hexadecimal (verify-log prints the head as it is)"
            )
        return cls(int(found.group(1)), found.group(2))

    def problem(self, events: Sequence[Mapping[str, Any]]) -> str | None:
        """Why the log does not hold the pinned event; None when it does."""
        if self.seq > len(events):
            return f"it holds {len(events)} events, not the pinned seq {self.seq}"
        found = events[self.seq - 1].get("hash")
        if found != self.hash:
            return (
                f"its event {self.seq} has hash {found}, not the pinned {self.hash}: the log was "
                "rewritten"
            )
        return None


def pinned_events(
    events: Sequence[Mapping[str, Any]], pin: LogPin, model: str, version: str
) -> list[Mapping[str, Any]]:
    """The events of `model@version` up to the pin, oldest first."""
    return [e for e in events[: pin.seq] if e.get("model") == model and e.get("version") == version]


def published_digests(event: Mapping[str, Any]) -> dict[str, str]:
    """Path -> SHA-256 of the files a publishing event's manifest names."""
    artifact = ((event.get("payload") or {}).get("manifest") or {}).get("artifact") or {}
    files = {str(e.get("path")): str(e.get("sha256")) for e in artifact.get("external_data", [])}
    files[str(artifact.get("path"))] = str(artifact.get("sha256"))
    return files


def event_time(event: Mapping[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
