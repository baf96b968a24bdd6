"""modelreg verify-log: check a published event log's hash chain on its own."""

from __future__ import annotations

import argparse

HELP = "verify the hash chain of a published event log (head.json or events.json, path or URL)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "location",
        metavar="FILE_OR_URL",
        help="v1/log/head.json or v1/events.json of a published site",
    )


def run(args: argparse.Namespace) -> int:
    from registry.events import verify_chain
    from registry.publishedlog import load_published_log

    log = load_published_log(args.location)
    problem = verify_chain(log.events)
    if problem is not None:
        print(f"{args.location}: broken at seq {problem.seq}: {problem.reason}")
        return 1
    last = log.events[-1]["hash"] if log.events else None
    if log.head is not None and (
        log.head.get("count") != len(log.events) or log.head.get("head") != last
    ):
        print(
            f"{args.location}: head.json names {log.head.get('count')} events ending in "
            f"{log.head.get('head')}, but the log has {len(log.events)} ending in {last}"
        )
        return 1
    print(f"{args.location}: {len(log.events)} events, chain intact, head {last}")
    return 0
