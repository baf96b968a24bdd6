"""`modelreg build`, the pipeline: validate, build the catalog, write the whole site into a staging
folder (registrypages, modelpages: the pages it renders), then swap it in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from registry.build import paths
from registry.build.budget import check_site_budget
from registry.build.catalog import Catalog, build_catalog
from registry.build.publish import publish_catalog, require_store
from registry.build.site.aliasdoc import aliases_document
from registry.build.site.atomic import remove_leftovers, staging
from registry.build.site.docs import build_docs
from registry.build.site.guard import check_output
from registry.build.site.modelpages import write_model
from registry.build.site.modelwriters import write_models_in_parallel
from registry.build.site.registrypages import page_context, write_registry_pages
from registry.build.site.spare import claim, one_build_at_a_time, record, spare_path, usable
from registry.build.site.stats import prometheus_text, stats_document
from registry.build.site.writer import SiteWriter
from registry.errors import ModelregError
from registry.eventlog.publish import check_extends, derive_ahead, registry_log
from registry.findings import Severity
from registry.infra.cache import Cache
from registry.infra.console import Progress
from registry.infra.runoptions import RunOptions
from registry.load.config import load_config, normalized_base_url
from registry.store.publish import PublishResult
from registry.validate.result import ValidationReport
from registry.validate.run import validate_registry


class BuildRefused(ModelregError):
    """The registry has versions with validation errors; nothing was published."""


@dataclass(frozen=True, slots=True)
class BuildResult:
    out: Path
    versions: int
    excluded: tuple[str, ...]
    docs: bool
    published: PublishResult | None = None  # --publish: what went to the S3 store


def admit(report: ValidationReport, allow_invalid: bool) -> None:
    """Refuse a registry with errors; --allow-invalid lets versions with errors be left out, but
    never errors of the registry as a whole (links, submodules, rewritten history)."""
    failing = [r for r in report.results if not r.ok()]
    registry_errors = [f for f in report.findings if f.severity is Severity.ERROR]
    if not registry_errors and (not failing or allow_invalid):
        return
    lines = ["nothing was published:"]
    for finding in registry_errors:
        lines.append(f"  {finding.file}: {finding.code}: {finding.message}")
    for result in failing:
        errors = [f for f in result.findings if f.severity is Severity.ERROR]
        first = errors[0]
        lines.append(
            f"  {result.version.id}: {len(errors)} error(s), first: "
            f"{first.file}:{first.line or 1}: {first.code}: {first.message}"
        )
    advice = "Fix them (modelreg validate lists every finding)"
    if failing and not registry_errors:
        advice += ", or build with --allow-invalid to publish the valid versions only"
    lines.append(advice + ".")
    raise BuildRefused("\n".join(lines))


def write_site(out: SiteWriter, catalog: Catalog, root: Path, jobs: int = 1) -> bool:
    """Every file of the site (the registry's, then each model's: on `jobs` processes when
    there are several); returns whether documentation was built."""
    epoch = int(dt.datetime.fromisoformat(catalog.generated_at.replace("Z", "+00:00")).timestamp())
    shutil.rmtree(out.root / paths.DOCS, ignore_errors=True)  # a reused tree has older docs
    has_docs = build_docs(
        root, out.root / paths.DOCS, epoch, catalog.config.base_url + paths.DOCS + "/"
    )
    # Pages of one model or version carry nothing that changes with every commit, so that an
    # unchanged one is found in the cache; the registry-wide pages say which commit they show.
    context = page_context(catalog, has_docs)
    stamped = {
        **context,
        "commit": catalog.commit.sha if catalog.commit else None,
        "generated_at": catalog.generated_at,
    }
    write_registry_pages(out, catalog, root, stamped)
    with Progress("writing", len(catalog.models), "models") as progress:
        if jobs <= 1 or len(catalog.models) < 2:
            for model in catalog.models:
                write_model(out, catalog, model, context)
                progress.update()
        else:
            write_models_in_parallel(out, catalog, context, jobs, progress)
    for model in catalog.models:  # only models that have or had an alias
        if model.aliases or catalog.alias_history(model):
            out.json(paths.model_aliases(model.name), aliases_document(catalog, model))
    return has_docs


def build_site(
    root: Path,
    out: Path,
    base_url: str | None = None,
    allow_invalid: bool = False,
    previous_log: str | None = None,
    allow_shallow: bool = False,
    options: RunOptions | None = None,
    publish: bool = False,
    then: Callable[[BuildResult], None] | None = None,
) -> BuildResult:
    """Validate, then write the site and swap it in; `then` is called with the result while
    this build still holds its turn (see one_build_at_a_time), so that what it records about
    the output folder is this build's site, not one a concurrent build swapped in after."""
    started = time.monotonic()
    options = options or RunOptions()
    config = load_config(root)
    if publish:
        require_store(config)
    if base_url is not None:
        config = dataclasses.replace(config, base_url=normalized_base_url(base_url))
    check_output(root, out)
    with Cache(root, options.cache, cache_dir=options.cache_dir) as cache:
        derive_ahead(root, allow_shallow, cache)  # while this process is small (see there)
    report = validate_registry(root, options=dataclasses.replace(options, shard=None))
    admit(report, allow_invalid)
    cache = Cache(root, options.cache, cache_dir=options.cache_dir)
    try:
        held = {r.version.relative: r.manifest.loaded.data for r in report.results if r.manifest}
        log = registry_log(root, allow_shallow, cache, held)
        if previous_log is not None:
            check_extends(log.events, previous_log)
        catalog = build_catalog(root, config, report, log.events, log.partial)
        check_site_budget(catalog)
        # The store first: a site must never point at model files not yet in the store.
        published = publish_catalog(catalog) if publish else None
        spare = spare_path(out)
        with one_build_at_a_time(cache) as alone:
            if alone:  # no other build's staging folder is there
                remove_leftovers(out)
            previous = claim(cache, spare)
            reuse = spare if previous is not None else None
            keep = spare if previous is not None or usable(cache, spare) else None
            with staging(out, reuse, keep) as staged:
                writer = SiteWriter(staged, cache, previous)
                if previous is not None:
                    writer.clear_strays()
                has_docs = write_site(writer, catalog, root, options.jobs)
                stats = stats_document(catalog, time.monotonic() - started)
                writer.json(paths.STATS, stats)
                writer.text(paths.METRICS, prometheus_text(stats))
                files = writer.finish()
                if keep is not None:
                    record(cache, staged, files)
            count = sum(len(m.versions) for m in catalog.models)
            result = BuildResult(out, count, catalog.excluded, has_docs, published)
            if then is not None:
                then(result)
    finally:
        cache.close()
    return result
