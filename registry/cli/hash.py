"""modelreg hash FILE...: SHA-256 and size of each file."""

from __future__ import annotations

import argparse
from pathlib import Path

from registry.errors import ModelregError

HELP = "print the SHA-256 and size in bytes of each file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")


def run(args: argparse.Namespace) -> int:
    from registry.console import Progress
    from registry.hashing import hash_file

    for path in args.files:
        if not path.is_file():
            raise ModelregError(f"{path}: not a file")
        with Progress(f"hashing {path.name}", path.stat().st_size, "bytes") as progress:
            digest = hash_file(path, progress.update)
        print(f"{digest.sha256}  {digest.size}  {path}")
    return 0
