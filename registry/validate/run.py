"""Validation of a registry: every version (validate.batch, one by one in validate.version, sharing
a validate.context.RunContext), then the findings about the registry as a whole, attached to the
versions they concern."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from registry.findings import Finding
from registry.formats import formats_named
from registry.infra import git
from registry.infra.cache import Cache
from registry.infra.cachekey import key_of
from registry.infra.console import Progress
from registry.infra.runoptions import RunOptions
from registry.load.config import RegistryConfig, load_config
from registry.load.layout import (
    MODELS_DIR,
    VersionDir,
    layout_findings,
    require_models,
)
from registry.sandbox import Inspector
from registry.validate.aliases import (
    alias_findings,
    alias_models,
    alias_targets,
    load_alias_files,
)
from registry.validate.batch import validate_all
from registry.validate.context import RunContext
from registry.validate.docs import check_docs
from registry.validate.early import inspects_here, selected_versions
from registry.validate.history import (
    changed_folders,
    changed_signatures,
    check_history,
    resolve_base,
)
from registry.validate.lineage import ManifestIndex
from registry.validate.published import Published
from registry.validate.repository import changed_findings, repository_findings
from registry.validate.result import ValidationReport, VersionResult
from registry.validate.semver import semver_findings
from registry.validate.tiers import report_date_findings, review_date_findings, tier_findings


def validate_registry(
    root: Path,
    versions: list[VersionDir] | None = None,
    base: str | None = None,
    since: str | None = None,
    options: RunOptions | None = None,
    chunks: bool = True,
    started: Inspector | None = None,
) -> ValidationReport:
    """Validate `versions` (default: every version under models/) of the registry at `root`.

    With `base` (a Git revision), also check that nothing published at `base` was rewritten.
    With `since`, `versions` are those changed since that revision, and the repository checks
    look at the changed paths only. The cost follows the versions given: nothing here lists the
    whole registry unless asked to. `options`: the cache, parallel jobs, a shard. `chunks` off:
    no file's chunk digests unless the cache keeps them (for a run that builds nothing).
    `started`: a sandbox started before the configuration was read (validate.early), used if
    its limits are the registry's and disposed of here either way.
    """
    options = options or RunOptions()
    config = load_config(root)
    require_models(root)
    selected = selected_versions(root, versions, options.shard)
    cache = Cache(root, options.cache, cache_dir=options.cache_dir)
    if started is not None and started.limits != config.limits.sandbox:
        started.discard()
        started = None
    inspector = started or Inspector(config.limits.sandbox)
    if inspects_here(cache.enabled, selected, options.jobs):
        # Every file will be inspected here (no cached result spares it): the sandbox and its
        # libraries start now, beside what this process reads before the first file.
        inspector.warm(formats_named(v.path for v in selected))
    # Downloads are kept in the cache (outside the repository), else for this run only.
    scratch = None if cache.enabled else tempfile.TemporaryDirectory(prefix="modelreg-remote-")
    scope: list[Finding] = []
    try:
        run = RunContext(
            root,
            config,
            inspector,
            ManifestIndex(root, config.limits.yaml_max_bytes),
            Published(root, base, {v.name for v in selected}),
            frozenset(changed_signatures(root, resolve_base(root, base))) if base else frozenset(),
            cache,
            config_context(root, config) if cache.enabled else "",  # only keys need it
            Path(scratch.name) if scratch is not None else cache.folder / "remote",
            chunks=chunks,
        )
        first_shard = options.shard is None or options.shard.index == 1
        since_rev = resolve_base(root, since) if since is not None else None
        aliased = alias_models(root, selected, since_rev) if first_shard else []
        alias_files = load_alias_files(root, aliased, config.limits.yaml_max_bytes)
        selected = selected + alias_targets(root, alias_files, selected)
        with Progress("validating", len(selected), "versions") as progress:
            results = validate_all(run, selected, options.jobs, progress)
        scope += alias_findings(run, results, alias_files, base or since)
        scope += semver_findings(run, results)  # inspects baselines: before the sandbox goes
    finally:
        inspector.dispose()
        cache.close()
        if scratch is not None:
            scratch.cleanup()
    if versions is None and first_shard:
        scope += layout_findings(root) + repository_findings(root) + check_docs(root)
    elif since is not None and first_shard:
        scope += changed_findings(root, resolve_base(root, since)) + check_docs(root)
    if base is not None and first_shard:
        scope += check_history(root, base)
    scope += _governance_findings(run, results, base or since)
    run.manifests.cache.clear()  # a build keeps the results; not this run's second copy
    unique = list({(f.code, f.file, f.line): f for f in scope}.values())  # a link: disk and Git
    return _attach(results, unique)


def _governance_findings(
    run: RunContext, results: list[VersionResult], base: str | None
) -> list[Finding]:
    """Across versions: tiers that fall (every version of each checked model is read), and
    reviews dated after their commit (today for manifests under review)."""
    checked = [r.manifest for r in results if r.manifest is not None]
    # The manifests of this run's versions, as validated; the others read from their files.
    held = {r.version.id: r.manifest.data for r in results if r.manifest is not None}
    tiers: dict[str, dict[str, str]] = {}
    for name in sorted({m.model_name for m in checked}):
        model_folder = run.root / MODELS_DIR / name
        if not model_folder.is_dir():
            continue  # a model_name that is not its folder's: manifest.name-folder-mismatch
        for folder in sorted(model_folder.iterdir()):
            reference = f"{name}@{folder.name}"
            data = None
            if folder.is_dir():
                data = held[reference] if reference in held else run.manifests.data(reference)
            if data is not None and isinstance(data.get("risk_tier"), str):
                tiers.setdefault(name, {})[folder.name] = data["risk_tier"]
    reviewed = [m for m in checked if m.review is not None]
    under_review: set[str] = set()
    if reviewed and git.head(run.root) is not None:  # changed since the base, or not committed
        since = resolve_base(run.root, base or "HEAD")
        under_review = {f.relative for f in changed_folders(run.root, since)}
        if base is not None:
            # And what changed since HEAD: the same folders as those changed from the base to
            # HEAD (a file that differs between HEAD and the work tree differs from the base in
            # one of them; one changed from the base to HEAD still differs from it in the work
            # tree, or differs from HEAD there). Git reads those from two trees, without a
            # second look at every file of the work tree (a second at 100,000 versions).
            head = resolve_base(run.root, "HEAD")
            under_review |= {f.relative for f in changed_folders(run.root, since, head)}
    return (
        tier_findings(checked, tiers, run.config.governance.retiered)
        + review_date_findings(run.root, reviewed, under_review)
        + report_date_findings(results)
    )


def config_context(root: Path, config: RegistryConfig) -> str:
    """What of the configuration every result depends on: the settings and the trust roots."""
    roots = [(name, (root / name).read_bytes().hex()) for name in config.governance.trust_roots]
    return key_of("config", repr(config), roots)


def _attach(results: list[VersionResult], findings: list[Finding]) -> ValidationReport:
    """Findings about a file of a checked version belong to that version's result."""
    by_folder = {r.version.relative + "/": index for index, r in enumerate(results)}
    extra: dict[int, list[Finding]] = {}
    remaining = []
    for finding in findings:
        owner = next(
            (i for folder, i in by_folder.items() if finding.file.startswith(folder)), None
        )
        if owner is None:
            remaining.append(finding)
        else:
            extra.setdefault(owner, []).append(finding)
    merged = tuple(
        dataclasses.replace(r, findings=r.findings + tuple(extra[i])) if i in extra else r
        for i, r in enumerate(results)
    )
    return ValidationReport(merged, tuple(remaining))
