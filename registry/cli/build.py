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
    parser.add_argument(
        "--force",
        action="store_true",
        help="build even when nothing changed since the last build (the cache is still used)",
    )
    add_run_arguments(parser)
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    from registry.build.unchanged import BuildRecord, Unchanged
    from registry.infra.cache import Cache

    root = resolve_root(args)
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    options = run_options(args)
    settings = {
        "base_url": args.base_url,
        "allow_invalid": args.allow_invalid,
        "allow_shallow": args.allow_shallow,
    }
    # --previous-log and --publish depend on what is outside (a published log, the store).
    checkable = args.previous_log is None and not args.publish and not args.force
    with Cache(root, options.cache and checkable, cache_dir=options.cache_dir) as cache:
        record = BuildRecord(root, out, settings, cache)
        same = record.unchanged()
        if same is not None:
            _report(out, same.versions, same.excluded, same.docs)
            print("nothing changed since the last build: the site was left as it is")
            return 0
        from registry.build.site.builder import BuildResult, build_site
        from registry.load.config import load_config

        cache.close()  # reopened to remember: a build forks, and forks must not share it

        def remember(built: BuildResult) -> None:
            trust_roots = list(load_config(root).governance.trust_roots)
            record.remember(Unchanged(built.versions, built.excluded, built.docs), trust_roots)

        result = build_site(
            root,
            out,
            args.base_url,
            args.allow_invalid,
            args.previous_log,
            args.allow_shallow,
            options,
            args.publish,
            then=remember,
        )
    if result.published is not None:
        from registry.cli.publish import describe

        print(describe(result.published))
    _report(result.out, result.versions, result.excluded, result.docs)
    return 0


def _report(out: Path, versions: int, excluded: tuple[str, ...], docs: bool) -> None:
    for name in excluded:
        print(f"left out (validation errors): {name}")
    print(
        f"built {versions} version(s) into {out}/"
        + ("" if docs else " (no mkdocs.yml: documentation not built)")
    )
    print(f"open {out / 'index.html'}")
