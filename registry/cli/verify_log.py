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
    from registry.publishedlog import load_published_log, log_problem

    log = load_published_log(args.location)
    problem = log_problem(log)
    if problem is not None:
        print(f"{args.location}: {problem}")
        return 1
    last = log.events[-1]["hash"] if log.events else None
    partial = " (marked partial: built from incomplete history)" if log.index.get("partial") else ""
    print(f"{args.location}: {len(log.events)} events, chain intact, head {last}{partial}")
    return 0
