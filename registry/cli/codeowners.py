"""modelreg codeowners: write (or check) .github/CODEOWNERS from the governance policy."""

from __future__ import annotations

import argparse

from registry.cli.common import add_root_argument, resolve_root

HELP = "route tier-2 and tier-3 model folders to their reviewers in .github/CODEOWNERS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the file is up to date (exit 1 when it is not)",
    )
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    from registry.governance.codeowners import CODEOWNERS, render
    from registry.load.config import load_config

    root = resolve_root(args)
    expected = render(root, load_config(root))
    path = root / CODEOWNERS
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if args.check:
        if current != expected:
            print(f"{CODEOWNERS} is out of date: run `modelreg codeowners` and commit it")
            return 1
        print(f"{CODEOWNERS} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(expected, encoding="utf-8")
    print(f"wrote {CODEOWNERS}")
    return 0
