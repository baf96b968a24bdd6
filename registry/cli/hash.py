"""modelreg hash FILE...: SHA-256 and size of each file."""

from __future__ import annotations

import argparse
from pathlib import Path

from registry.cli.common import add_jobs_argument
from registry.errors import ModelregError

HELP = "print the SHA-256 and size in bytes of each file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add_jobs_argument(parser, "files hashed")


def run(args: argparse.Namespace) -> int:
    from registry.infra.console import Progress
    from registry.infra.hashing import hash_files

    for path in args.files:
        if not path.is_file():
            raise ModelregError(f"{path}: not a file")
    total = sum(path.stat().st_size for path in args.files)
    with Progress("hashing", total, "bytes") as progress:
        digests = hash_files(args.files, args.jobs, progress.update)
    for path, digest in zip(args.files, digests, strict=True):
        print(f"{digest.sha256}  {digest.size}  {path}")
    return 0
