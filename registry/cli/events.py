"""modelreg events: print the registry's event log, derived from Git history."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from registry.cli.common import add_root_argument, resolve_root
from registry.errors import UsageError

if TYPE_CHECKING:
    from registry.eventlog.chain import Event

HELP = "print the event log derived from the registry's Git history"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="NAME", help="only this model's events")
    parser.add_argument(
        "--since",
        metavar="DATE",
        help="only events at or after DATE (YYYY-MM-DD or an RFC 3339 time)",
    )
    parser.add_argument(
        "--alias",
        metavar="ALIAS",
        help="only this alias's events (with --model); with --at, the version it named then",
    )
    parser.add_argument(
        "--at",
        metavar="DATE",
        help="with --alias: which version the alias named at DATE (an RFC 3339 time, or "
        "YYYY-MM-DD for the end of that day, UTC)",
    )
    parser.add_argument("--json", action="store_true", help="print the events as a JSON list")
    parser.add_argument(
        "--allow-shallow", action="store_true", help="read a shallow clone's partial history"
    )
    add_root_argument(parser)


def _moment(option: str, value: str, end_of_day: bool = False) -> str:
    """DATE as the UTC timestamp events are compared with (`YYYY-MM-DDTHH:MM:SSZ`, so that text
    order is time order); a bare date is its first second, or its last with `end_of_day`."""
    import datetime as dt

    problem = f"{option} {value!r} is not a date (YYYY-MM-DD) or an RFC 3339 time"
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        day = None
    try:
        if day is not None:
            moment = dt.datetime.combine(day, dt.time(23, 59, 59) if end_of_day else dt.time())
        else:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise UsageError(problem) from None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def _print_alias_at(events: list[Event], model: str, alias: str, moment: str, as_json: bool) -> int:
    from registry.eventlog.aliases import alias_at

    found = alias_at(events, model, alias, moment)
    if as_json:
        event = found.event.to_json() if found.event else None
        document = {"model": model, "alias": alias, "at": moment, "version": found.version}
        json.dump({**document, "event": event}, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    elif found.version is not None and found.event is not None:
        e = found.event
        print(
            f"{model}@{alias} at {moment}: {found.version} (since {e.timestamp}, event #{e.seq} "
            f"{e.type}, commit {e.commit[:10]})"
        )
    else:
        print(f"{model}@{alias} at {moment}: no version")
    return 0


def run(args: argparse.Namespace) -> int:
    from registry.eventlog.chain import chain
    from registry.eventlog.derive import derive

    if (args.alias or args.at) and not args.model:
        raise UsageError("--alias and --at need --model NAME (an alias belongs to one model)")
    if args.at and not args.alias:
        raise UsageError("--at needs --alias ALIAS: it says which version an alias named then")
    since = _moment("--since", args.since) if args.since else None
    at = _moment("--at", args.at, end_of_day=True) if args.at else None
    root = resolve_root(args)
    history = derive(root, allow_shallow=args.allow_shallow)
    events = [e for e in chain(history.records) if args.model is None or e.model == args.model]
    if args.alias and at is not None:  # the whole history counts, whatever --since says
        return _print_alias_at(events, args.model, args.alias, at, args.json)
    events = [e for e in events if since is None or e.timestamp >= since]
    if args.alias:
        from registry.eventlog.aliases import alias_events

        events = alias_events(events, args.model, args.alias)
    if args.json:
        json.dump(
            [e.to_json() for e in events], sys.stdout, indent=2, sort_keys=True, ensure_ascii=False
        )
        sys.stdout.write("\n")
        return 0
    for e in events:
        print(
            f"{e.seq:>6}  {e.timestamp}  {e.type:<17} {e.model}@{e.version}  "
            f"{e.commit[:10]}  {e.author}"
        )
    if history.partial:
        print("(partial: this is a shallow clone)", file=sys.stderr)
    return 0
