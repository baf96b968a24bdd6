"""modelreg build: validate the registry and publish the static site."""

from __future__ import annotations

import argparse
from pathlib import Path

from registry.cli.common import add_root_argument, add_run_arguments, resolve_root, run_options

HELP = "build the static site (JSON API, SBOMs, HTML catalog, docs) into a folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("site"),
        help="output folder, replaced atomically (default: site)",
    )
    parser.add_argument("--base-url", help="where the site will be served (default: registry.yaml)")
    parser.add_argument(
        "--allow-invalid",
        action="store_true",
        help="publish the valid versions and leave out those with errors",
    )
    parser.add_argument(
        "--previous-log",
        metavar="PATH_OR_URL",
        help="head.json or events.json of the last publication: refuse to "
        "publish a log that does not extend it",
    )
    parser.add_argument(
        "--allow-shallow",
        action="store_true",
        help="build from a shallow clone, publishing the event log marked partial",
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="first upload the model files the store lacks (artifacts.store: s3), as "
        "`modelreg publish` does",
    )
    add_run_arguments(parser)
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    from registry.build.site.builder import build_site

    root = resolve_root(args)
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    result = build_site(
        root,
        out,
        args.base_url,
        args.allow_invalid,
        args.previous_log,
        args.allow_shallow,
        run_options(args),
        args.publish,
    )
    if result.published is not None:
        from registry.cli.publish import describe

        print(describe(result.published))
    for excluded in result.excluded:
        print(f"left out (validation errors): {excluded}")
    print(
        f"built {result.versions} version(s) into {result.out}/"
        + ("" if result.docs else " (no mkdocs.yml: documentation not built)")
    )
    print(f"open {result.out / 'index.html'}")
    return 0
