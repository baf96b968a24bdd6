"""modelreg migrate PATH... --to VERSION: upgrade manifests in place."""

from __future__ import annotations

import argparse
from pathlib import Path

from registry.errors import ModelregError
from registry.versions import LATEST_SCHEMA_VERSION, MANIFEST_NAME, SUPPORTED_SCHEMA_VERSIONS

HELP = "rewrite manifests to another schema_version, keeping comments and key order"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="manifest files, or folders searched for manifest.yaml",
    )
    parser.add_argument(
        "--to",
        default=LATEST_SCHEMA_VERSION,
        choices=SUPPORTED_SCHEMA_VERSIONS,
        help=f"target schema_version (default {LATEST_SCHEMA_VERSION})",
    )


def _manifests(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.rglob(MANIFEST_NAME))
        elif path.is_file():
            found.append(path)
        else:
            raise ModelregError(f"{path}: no such file or folder")
    return found


def run(args: argparse.Namespace) -> int:
    from registry.authoring.migrate import migrate_file

    failed = False
    for path in _manifests(args.paths):
        result = migrate_file(path, args.to)
        print(f"{path}: {result.message}")
        failed |= not result.ok
    return 1 if failed else 0
