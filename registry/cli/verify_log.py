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
    parser.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="an event seen before (this command prints the head): the log must still hold it, "
        "so a log rewritten and chained again is refused",
    )
    parser.add_argument(
        "--previous",
        metavar="FILE_OR_URL",
        help="a copy of the log as it was (head.json or events.json): the log must extend it",
    )


def run(args: argparse.Namespace) -> int:
    from registry.eventlog.chain import first_divergence
    from registry.eventlog.pin import LogPin
    from registry.eventlog.published import load_published_log, log_problem

    pin = LogPin.parse(args.expect_head, "--expect-head") if args.expect_head else None
    log = load_published_log(args.location)
    problem = log_problem(log) or (pin.problem(log.events) if pin else None)
    if problem is None and args.previous:
        previous = load_published_log(args.previous)
        problem = log_problem(previous)
        if problem is not None:
            problem = f"the previous log {args.previous} is itself broken: {problem}"
        elif (seq := first_divergence(previous.events, log.events)) is not None:
            problem = (
                f"it does not extend the previous log {args.previous}: they differ from seq "
                f"{seq} on (published history was rewritten)"
            )
    if problem is not None:
        print(f"{args.location}: {problem}")
        return 1
    last = log.events[-1]["hash"] if log.events else None
    partial = " (marked partial: built from incomplete history)" if log.index.get("partial") else ""
    head = f"{len(log.events)}:{last}" if last else "none"
    print(f"{args.location}: {len(log.events)} events, chain intact, head {head}{partial}")
    return 0
