"""Arguments and helpers shared by several verbs."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        help="the registry's root folder (default: found from the paths given or the current "
        "folder, as the nearest folder holding registry.yaml or models/)",
    )


def resolve_root(args: argparse.Namespace, paths: list[Path] | None = None) -> Path:
    from registry.layout import find_root

    if args.root is not None:
        return Path(args.root).resolve()
    start = paths[0] if paths else Path.cwd()
    return find_root(start if start.is_dir() else start.parent)
