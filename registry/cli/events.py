"""modelreg events: print the registry's event log, derived from Git history."""

from __future__ import annotations

import argparse
import json
import sys

from registry.cli.common import add_root_argument, resolve_root
from registry.errors import UsageError

HELP = "print the event log derived from the registry's Git history"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="NAME", help="only this model's events")
    parser.add_argument(
        "--since",
        metavar="DATE",
        help="only events at or after DATE (YYYY-MM-DD or an RFC 3339 time)",
    )
    parser.add_argument("--json", action="store_true", help="print the events as a JSON list")
    parser.add_argument(
        "--allow-shallow", action="store_true", help="read a shallow clone's partial history"
    )
    add_root_argument(parser)


def _since(value: str) -> str:
    """DATE as the UTC timestamp prefix events are compared with."""
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {value!r} is not a date (YYYY-MM-DD) or an RFC 3339 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    from registry.eventlog.chain import chain
    from registry.eventlog.derive import derive

    since = _since(args.since) if args.since else None
    root = resolve_root(args)
    history = derive(root, allow_shallow=args.allow_shallow)
    events = [
        e
        for e in chain(history.records)
        if (args.model is None or e.model == args.model) and (since is None or e.timestamp >= since)
    ]
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
