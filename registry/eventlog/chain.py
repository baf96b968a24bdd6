"""Events and their hash chain: the registry's audit log, verifiable without this code.

Each event's `hash` is the SHA-256 of its canonical JSON without the `hash` member: keys sorted,
separators `,` and `:`, no whitespace, UTF-8 (non-ASCII characters written as themselves), numbers
as Python's json module writes them. `prev` is the previous event's hash; the first event's `prev`
is 64 zeros. docs/event-log.md describes the same rules for third parties.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

GENESIS = "0" * 64
EVENT_TYPES = (
    "ModelRegistered",
    "ModelVersioned",
    "MetadataUpdated",
    "ValidationPassed",
    "ValidationFailed",
    "DriftReported",
    "ModelDeprecated",
    "ModelBlocked",
    "VersionRemoved",
    "AliasAssigned",
    "AliasMoved",
    "AliasRemoved",
)
_FIELDS = (
    "seq",
    "type",
    "model",
    "version",
    "commit",
    "author",
    "timestamp",
    "payload",
    "prev",
    "hash",
)


# What json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) uses, made once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(data: Any) -> bytes:
    return _CANONICAL.encode(data).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Record:
    """What happened, before it is numbered and chained."""

    type: str
    model: str
    version: str
    commit: str
    author: str
    timestamp: str  # RFC 3339 UTC, the commit's time
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    model: str
    version: str
    commit: str
    author: str
    timestamp: str
    payload: Mapping[str, Any]
    prev: str
    hash: str

    def body(self) -> dict[str, Any]:
        """Every member but `hash`: what the hash is computed over."""
        return {
            "seq": self.seq,
            "type": self.type,
            "model": self.model,
            "version": self.version,
            "commit": self.commit,
            "author": self.author,
            "timestamp": self.timestamp,
            # Plain inside already (chain and from_json make it so): only the top level is a
            # read-only view.
            "payload": dict(self.payload),
            "prev": self.prev,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        if not isinstance(data, Mapping) or set(data) != set(_FIELDS):
            raise ValueError(f"an event has exactly the members {', '.join(_FIELDS)}")
        if data["type"] not in EVENT_TYPES:
            raise ValueError(f"unknown event type {data['type']!r}")
        fields = {name: data[name] for name in _FIELDS}
        if not isinstance(fields["payload"], dict):
            raise ValueError("an event's payload is an object")
        fields["payload"] = MappingProxyType(fields["payload"])  # parsed JSON: plain already
        return cls(**fields)


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:  # the common case first: the same as the Mapping case below
        return {k if type(k) is str else str(k): _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def event_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def _canonical_encoder() -> Any:
    """`canonical` without building an encoder per call (json builds one each time); the C
    encoder json itself uses, with the same settings. No check for cycles: each body is a fresh
    tree of plain values (`_plain`)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: json's own path
        return lambda body, _: [_CANONICAL.encode(body)]
    return make(
        None, _CANONICAL.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )


_ENCODE_PLAIN = _canonical_encoder()


class Chainer:
    """`chain`, one record at a time: the events made so far and the next one's `seq` and
    `prev`, so that a caller can chain records as it makes them."""

    def __init__(self, start: Sequence[Event] = ()) -> None:
        self.events = list(start)
        self.prev = self.events[-1].hash if self.events else GENESIS

    def add(self, record: Record) -> Event:
        payload = _plain(record.payload)
        body = {  # Event.body(), built once
            "seq": len(self.events) + 1,
            "type": record.type,
            "model": record.model,
            "version": record.version,
            "commit": record.commit,
            "author": record.author,
            "timestamp": record.timestamp,
            "payload": payload,
            "prev": self.prev,
        }
        text = "".join(_ENCODE_PLAIN(body, 0))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        body["payload"] = MappingProxyType(payload)
        event = Event(**body, hash=digest)
        self.events.append(event)
        self.prev = digest
        return event


class ChainedRecords(tuple[Record, ...]):
    """Records, with the events `chain` makes of them from the first (no `start`), made while
    the records were: `chain` returns those. The records are frozen and their payloads are
    never changed after they are made, so the events are what `chain` would compute again."""

    events: tuple[Event, ...]

    def __new__(cls, records: Iterable[Record], events: Iterable[Event]) -> ChainedRecords:
        made = super().__new__(cls, records)
        made.events = tuple(events)
        if len(made.events) != len(made):
            raise ValueError("one event per record")
        return made

    def __reduce__(
        self,
    ) -> tuple[type[ChainedRecords], tuple[tuple[Record, ...], tuple[Event, ...]]]:
        return ChainedRecords, (tuple(self), self.events)  # copy and pickle keep the events


def chain(records: Iterable[Record], start: Sequence[Event] = ()) -> tuple[Event, ...]:
    """Number and chain `records` after the events `start` (usually none)."""
    if not start and type(records) is ChainedRecords:
        return records.events
    chainer = Chainer(start)
    with collection_paused():
        for record in records:
            chainer.add(record)
    return tuple(chainer.events)


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Deriving and chaining allocate a few objects per commit or event and free none of them
    until the end, with no reference cycles: the cycle collector would only walk the growing heap
    again and again (a third of the time of 100,000 commits)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int  # the first event that is wrong (1-based); count + 1 for a missing tail
    reason: str


def verify_chain(events: Sequence[Mapping[str, Any]]) -> ChainProblem | None:
    """The first break in a published chain (as JSON objects), or None when it holds."""
    prev = GENESIS
    for index, data in enumerate(events, start=1):
        try:
            event = Event.from_json(data)
        except (ValueError, TypeError) as exc:
            return ChainProblem(index, str(exc))
        if event.seq != index:
            return ChainProblem(
                index,
                f"seq is {event.seq}, expected {index} (reordered, deleted or inserted events)",
            )
        if event.prev != prev:
            return ChainProblem(index, "prev does not match the previous event's hash")
        computed = event_hash(event.body())
        if computed != event.hash:
            return ChainProblem(index, f"hash {event.hash} does not match its content ({computed})")
        prev = event.hash
    return None


def first_divergence(
    previous: Sequence[Mapping[str, Any]], current: Sequence[Event | Mapping[str, Any]]
) -> int | None:
    """The first seq at which `current` stops extending `previous`, or None if it extends it."""
    for index, old in enumerate(previous, start=1):
        if index > len(current) or _hash(current[index - 1]) != old.get("hash"):
            return index
    return None


def _hash(event: Event | Mapping[str, Any]) -> Any:
    return event.hash if isinstance(event, Event) else event.get("hash")
