"""modelreg validate [PATH...]: check manifests, files, formats and policy."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from registry.cli.common import add_root_argument, add_run_arguments, resolve_root, run_options
from registry.errors import UsageError, environment_errors
from registry.findings import printable

HELP = "validate the registry, or the given manifests, version folders or model folders"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="manifest, version folder or model folder (default: all of models/)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="report format (github: workflow annotations + step summary)",
    )
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument(
        "--base",
        metavar="REF",
        help="Git revision of the last publication: refuse changes to what it "
        "published (immutable fields, files, removed or renamed versions)",
    )
    parser.add_argument(
        "--changed-since",
        metavar="REF",
        help="validate only the versions changed since REF (CI: the pull request's base)",
    )
    parser.add_argument(
        "--summary",
        type=Path,
        help="write a Markdown summary here (default with --format github: "
        "$GITHUB_STEP_SUMMARY when set)",
    )
    add_run_arguments(parser, shard=True)
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    from registry.infra import git
    from registry.load.layout import versions_for_paths
    from registry.validate.early import early_sandbox

    if args.paths and args.changed_since:
        raise UsageError("give PATHs or --changed-since, not both")
    root = resolve_root(args, args.paths)
    versions = versions_for_paths(root, args.paths) if args.paths else None
    options = run_options(args)
    # Started before validation's modules load (validate.early); for --changed-since, as soon as
    # Git has named the changed tracked files, while it still lists the untracked ones.
    started = None if args.changed_since else early_sandbox(root, versions, options)
    try:
        with git.snapshot():  # the checks ask Git the same questions: each is read once
            if args.changed_since:
                git.list_untracked_ahead(root)
            from registry.validate import reporters
            from registry.validate.history import changed_tracked_versions, changed_versions
            from registry.validate.run import validate_registry

            if args.changed_since:
                tracked = changed_tracked_versions(root, args.changed_since)
                started = early_sandbox(root, tracked, options)
                versions = changed_versions(root, args.changed_since)
            report = validate_registry(
                root,
                versions,
                args.base,
                args.changed_since,
                options,
                chunks=False,
                started=started,
            )
    finally:
        if started is not None:
            started.discard()  # validation stopped before it used it (else: done already)
    render = {"text": reporters.to_text, "json": reporters.to_json, "github": reporters.to_github}
    sys.stdout.write(printable(render[args.format](report, args.strict)))
    summary = args.summary
    if summary is None and args.format == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        summary = Path(os.environ["GITHUB_STEP_SUMMARY"])
    if summary is not None:
        with (
            environment_errors(f"cannot write the summary to {summary}"),
            summary.open("a", encoding="utf-8") as handle,
        ):
            handle.write(printable(reporters.github_summary(report, args.strict)))
    return 0 if report.ok(args.strict) else 1
