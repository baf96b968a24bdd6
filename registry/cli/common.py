"""Arguments and helpers shared by several verbs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from registry.infra.runoptions import RunOptions

Parsed = TypeVar("Parsed")


def usage_type(parse: Callable[[str], Parsed]) -> Callable[[str], Parsed]:
    """An engine's parser as an argparse `type`: its ValueError becomes a usage error (exit 2)
    with the engine's message. argparse stays here; the engine knows nothing of it."""

    def convert(text: str) -> Parsed:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__  # argparse names the type in some of its messages
    return convert


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        help="the registry's root folder (default: found from the paths given or the current "
        "folder, as the nearest folder holding registry.yaml or models/)",
    )


def resolve_root(args: argparse.Namespace, paths: list[Path] | None = None) -> Path:
    from registry.load.layout import find_root

    if args.root is not None:
        return Path(args.root).resolve()
    start = paths[0] if paths else Path.cwd()
    return find_root(start if start.is_dir() else start.parent)


def add_jobs_argument(parser: argparse.ArgumentParser, what: str) -> None:
    from registry.infra.runoptions import parse_jobs

    parser.add_argument(
        "--jobs",
        "-j",
        type=usage_type(parse_jobs),
        default=1,
        metavar="N",
        help=f"{what} at the same time (0: one per core; default: 1)",
    )


def add_run_arguments(parser: argparse.ArgumentParser, shard: bool = False) -> None:
    """--jobs, --no-cache (and --shard): how the work is done, never what is checked."""
    add_jobs_argument(parser, "processes working")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="compute everything again, ignoring and not updating the cache",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="the cache's folder (default: $MODELREG_CACHE_DIR, else the user's cache folder, "
        "~/.cache/modelreg); never inside the repository",
    )
    if shard:
        from registry.infra.runoptions import Shard

        parser.add_argument(
            "--shard",
            type=usage_type(Shard.parse),
            metavar="I/N",
            help="validate only part I of N (a deterministic partition; CI matrices)",
        )


def run_options(args: argparse.Namespace) -> RunOptions:
    from registry.infra.runoptions import RunOptions

    return RunOptions(not args.no_cache, args.cache_dir, args.jobs, getattr(args, "shard", None))
