"""The version records of a few versions of a local registry, rendered as the site renders them
(site.records), with only those versions validated: what `modelreg diff` compares, so that
the diff of two local versions equals the diff.json the site publishes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from registry.build.catalog import build_catalog
from registry.build.site.records import version_record
from registry.errors import ModelregError
from registry.eventlog.publish import registry_log
from registry.findings import Severity
from registry.infra import git
from registry.infra.cache import Cache
from registry.infra.runoptions import RunOptions
from registry.load.aliases import load_alias_file
from registry.load.config import load_config
from registry.load.layout import MODELS_DIR, VersionDir, referenced_manifest, versions_for_paths
from registry.validate.result import ValidationReport
from registry.validate.run import validate_registry
from registry.versions import sort_key


class UnknownVersion(ModelregError):
    """A version asked for is not in the registry."""


class InvalidVersion(ModelregError):
    """A version asked for has validation errors: the site would not publish it."""


def local_records(
    root: Path, name: str, versions: Sequence[str], options: RunOptions | None = None
) -> list[dict[str, Any]]:
    """The record of each of `versions` of model `name` (in that order); an alias (a name that
    starts with a letter) stands for the version the model's aliases.yaml gives it."""
    versions = [_unaliased(root, name, v) for v in versions]
    for version in versions:
        if referenced_manifest(root, f"{name}@{version}") is None:
            raise UnknownVersion(_unknown(root, name, version))
    wanted = list(dict.fromkeys(versions))
    with git.snapshot():  # validation and the log ask Git the same questions
        report = validate_registry(
            root, [VersionDir(root, name, v) for v in wanted], options=options
        )
        _require_valid(report, {f"{name}@{v}" for v in wanted})
        options = options or RunOptions()
        cache = Cache(root, options.cache, cache_dir=options.cache_dir)
        try:
            # The log gives a ModelBlocked decision; a shallow clone's partial log is enough here.
            log = registry_log(root, allow_shallow=True, cache=cache)
        finally:
            cache.close()
    catalog = build_catalog(root, load_config(root), report, log.events, log.partial)
    records = []
    for version in versions:
        published = catalog.find(f"{name}@{version}")
        assert published is not None  # valid, so in the catalog
        # No link is compared: which version is before this one does not matter here.
        records.append(version_record(catalog, published, None))
    return records


def _unaliased(root: Path, name: str, version: str) -> str:
    if not version[:1].isalpha():
        return version
    found, _ = load_alias_file(root, name)
    named = found.aliases.get(version) if found is not None else None
    if named is None:
        known = ", ".join(sorted(found.aliases)) if found is not None else ""
        raise UnknownVersion(
            f"{name}@{version}: {MODELS_DIR}/{name}/aliases.yaml names no such alias "
            f"(aliases: {known or 'none'})"
        )
    return named


def _unknown(root: Path, name: str, version: str) -> str:
    folder = root / MODELS_DIR / name
    if not folder.is_dir() or folder.is_symlink():
        return f"{name}@{version}: the registry at {root} has no model {name} in {MODELS_DIR}/"
    known = sorted((v.version for v in versions_for_paths(root, [folder])), key=sort_key)
    return (
        f"{name}@{version}: no such version in {MODELS_DIR}/{name}/ of the registry at {root}; "
        f"its versions: {', '.join(known) or 'none'}. Give one of them, or --registry URL to "
        "compare the versions a published registry holds"
    )


def _require_valid(report: ValidationReport, wanted: set[str]) -> None:
    """Validation may look at more versions (those an alias names): only `wanted` count."""
    for result in report.results:
        if result.version.id not in wanted:
            continue
        errors = [f for f in result.findings if f.severity is Severity.ERROR]
        if errors:
            first = errors[0]
            raise InvalidVersion(
                f"{result.version.id} has {len(errors)} validation error(s), first: "
                f"{first.file}:{first.line or 1}: {first.code}: {first.message}; the site would "
                f"not publish it (modelreg validate {result.version.relative} lists them all)"
            )
