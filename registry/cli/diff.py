"""modelreg diff NAME@A NAME@B: what changed between two versions of a model, locally or in a
published registry (the same document as the site's diff.json)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from registry.cli.common import add_root_argument, add_run_arguments, resolve_root, run_options
from registry.errors import UsageError

HELP = "show what changed between two versions of a model (interface, operators, metadata)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="NAME@A", help="the version to compare from")
    parser.add_argument("new", metavar="NAME@B", help="the version to compare to")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text, or the JSON document the site publishes as diff.json",
    )
    parser.add_argument(
        "--registry",
        metavar="URL_OR_DIR",
        help="compare the records of a published registry (a folder, file:// or http(s) URL) "
        "instead of the local one",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="with --registry: give up on a server silent for this long (default: 60)",
    )
    add_run_arguments(parser)
    add_root_argument(parser)


def _parse(old: str, new: str) -> tuple[str, str, str]:
    """(name, version A, version B) of the two NAME@VERSION arguments."""
    parts = []
    for spec in (old, new):
        name, at, version = spec.partition("@")
        if not (name and at and version):
            raise UsageError(f"{spec!r}: give a version as NAME@VERSION, e.g. iris-mlp@1.0.0")
        parts.append((name, version))
    if parts[0][0] != parts[1][0]:
        raise UsageError(
            f"{old} and {new} are versions of two models; compare two versions of one model"
        )
    return parts[0][0], parts[0][1], parts[1][1]


def _published(location: str, name: str, versions: list[str], timeout: float) -> list[Any]:
    """The two records as a consumer reads them: resolved through the model document, each
    checked against its schema by the client's transport."""
    from registry.client import RegistryClient
    from registry.infra.transport import Limits

    client = RegistryClient(location, Limits(timeout=timeout))
    return [client.resolve(name, version).record for version in versions]


def run(args: argparse.Namespace) -> int:
    from registry.build.diff import describe, release_words, version_diff

    name, old, new = _parse(args.old, args.new)
    if args.registry is not None and args.root is not None:
        raise UsageError("give --registry (a published registry) or --root (a local one), not both")
    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g}: give a positive number of seconds")
    if args.registry is not None:
        before, after = _published(args.registry, name, [old, new], args.timeout)
    else:
        from registry.build.localrecords import local_records

        before, after = local_records(resolve_root(args), name, [old, new], run_options(args))
    diff = version_diff(before, after)
    if args.format == "json":
        from registry.build.site.writer import dumps

        sys.stdout.write(dumps(diff))  # byte for byte what the site publishes
        return 0
    lines = [f"{diff['from']} -> {diff['to']}", f"release: {release_words(diff)}"]
    changes = describe(diff)
    lines += [f"{aspect}: {words}" for aspect, words in changes]
    if not changes:
        lines.append("the interface and metadata are unchanged")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
