"""modelreg publish: upload the published model files to the registry's S3 store."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from registry.cli.common import add_root_argument, add_run_arguments, resolve_root, run_options

if TYPE_CHECKING:
    from registry.store.publish import PublishResult

HELP = (
    "upload the model files of the published versions to the S3 store of registry.yaml "
    "(artifacts.store), under content-addressed keys, skipping those already there"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-invalid",
        action="store_true",
        help="publish the files of the valid versions and leave out those with errors",
    )
    parser.add_argument(
        "--verify-existing",
        action="store_true",
        help="also check each file the store holds already against its record (one request "
        "per file, a download where the store keeps no SHA-256), not only its size",
    )
    add_run_arguments(parser)
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    from registry.build.publish import publish_registry

    result = publish_registry(
        resolve_root(args), args.allow_invalid, run_options(args), args.verify_existing
    )
    print(describe(result))
    return 0


def describe(result: PublishResult) -> str:
    """One line about a publication, for standard output."""
    aborted = f"; aborted {result.aborted} incomplete upload(s)" if result.aborted else ""
    return (
        f"published to {result.location}: {len(result.uploaded)} file(s) uploaded "
        f"({result.uploaded_bytes / 1e6:.1f} MB), {result.present} already there{aborted}"
    )
