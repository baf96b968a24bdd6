"""Aliases in the event log: which version an alias named at a moment, from the log alone.

The rule a third party applies to the published events.json (docs/event-log.md): take the events
of the model whose type starts with `Alias` and whose payload names the alias, in `seq` order; the
last one with `timestamp` at or before the moment says it: `payload.to` (null after AliasRemoved).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from registry.eventlog.chain import Event

ALIAS_EVENTS = ("AliasAssigned", "AliasMoved", "AliasRemoved")


@dataclass(frozen=True, slots=True)
class AliasAt:
    """What an alias named at a moment: `version` (None: nothing) and the event that set it."""

    version: str | None
    event: Event | None


def alias_events(events: Iterable[Event], model: str, alias: str | None = None) -> list[Event]:
    """The alias events of `model` (of one alias when given), in log order."""
    return [
        e
        for e in events
        if e.type in ALIAS_EVENTS
        and e.model == model
        and (alias is None or e.payload.get("alias") == alias)
    ]


def alias_at(events: Iterable[Event], model: str, alias: str, moment: str) -> AliasAt:
    """The version `alias` of `model` named at `moment` (an RFC 3339 UTC timestamp as events
    write them: comparable as text)."""
    found = None
    for event in alias_events(events, model, alias):
        if event.timestamp <= moment:
            found = event
    if found is None:
        return AliasAt(None, None)
    target = found.payload.get("to")
    return AliasAt(target if isinstance(target, str) else None, found)


def alias_table(events: Iterable[Event]) -> dict[str, dict[str, Event]]:
    """model -> alias -> the event that assigned or moved it, for the aliases that hold at the
    end of the log."""
    table: dict[str, dict[str, Event]] = {}
    for event in events:
        if event.type not in ALIAS_EVENTS:
            continue
        held = table.setdefault(event.model, {})
        alias = str(event.payload.get("alias"))
        if event.type == "AliasRemoved":
            held.pop(alias, None)
        else:
            held[alias] = event
    return {model: held for model, held in table.items() if held}
