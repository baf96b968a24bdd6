"""`modelreg build`: validate, then write the whole site into a staging folder and swap it in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import multiprocessing.util
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from registry.build import paths
from registry.build.catalog import Catalog, ModelEntry, PublishedVersion, build_catalog
from registry.build.sbom import cyclonedx, spdx2, spdx3
from registry.build.sbom.facts import collect
from registry.build.site import eventpages
from registry.build.site.atomic import remove_leftovers, staging
from registry.build.site.docs import build_docs
from registry.build.site.guard import check_output
from registry.build.site.headers import headers_file
from registry.build.site.html import render_page
from registry.build.site.lineage_svg import render_svg
from registry.build.site.records import (
    chunks_document,
    index_document,
    lineage_document,
    link,
    model_document,
    version_record,
)
from registry.build.site.spare import claim, one_build_at_a_time, record, spare_path, usable
from registry.build.site.stats import prometheus_text, stats_document
from registry.build.site.writer import Bundle, Entry, SiteWriter, dumps
from registry.errors import ModelregError
from registry.eventlog.chain import Event
from registry.eventlog.publish import check_extends, registry_log
from registry.findings import Severity
from registry.infra.cache import Cache, Write, key_of
from registry.infra.console import Progress
from registry.infra.parallel import ordered_map
from registry.infra.runoptions import RunOptions
from registry.infra.schemafiles import schema_dir
from registry.load.config import load_config, normalized_base_url
from registry.signing.bundle import CLAIMS_FILE, SIGNATURE_FILE
from registry.validate.result import ValidationReport
from registry.validate.run import validate_registry


class BuildRefused(ModelregError):
    """The registry has versions with validation errors; nothing was published."""


@dataclass(frozen=True)
class BuildResult:
    out: Path
    versions: int
    excluded: tuple[str, ...]
    docs: bool


def _admit(report: ValidationReport, allow_invalid: bool) -> None:
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


def _io_rows(version: PublishedVersion) -> list[dict[str, Any]]:
    rows = []
    extracted = version.model_info
    for side, declared, found in (
        ("input", version.manifest.inputs, extracted.inputs if extracted else ()),
        ("output", version.manifest.outputs, extracted.outputs if extracted else ()),
    ):
        for index in range(max(len(declared), len(found))):
            rows.append(
                {
                    "side": side,
                    "index": index,
                    "declared": declared[index] if index < len(declared) else None,
                    "extracted": found[index] if index < len(found) else None,
                }
            )
    return rows


def _page_context(catalog: Catalog, has_docs: bool) -> dict[str, Any]:
    return {
        "registry": {"name": catalog.config.name, "description": catalog.config.description},
        "generator": "modelreg",
        "has_docs": has_docs,
    }


def _write_version(
    out: SiteWriter, catalog: Catalog, version: PublishedVersion, context: dict[str, Any]
) -> None:
    """The record, the SBOMs, the files and the page of one version."""
    name, number = version.name, version.version
    page = paths.version_page(name, number)
    art = version.manifest.artifact
    if catalog.config.publish_artifacts and art.path:
        files = [(art.path, art.sha256, art.size)]
        files += [(e.path, e.sha256, e.size) for e in art.external_data]
        for relative, sha256, size in files:
            out.artifact(version.manifest.folder / relative, paths.artifact(sha256), sha256, size)
    lineage = catalog.lineage.around({version.id}, VERSION_PAGE_RADIUS)
    events = catalog.events_of(name, number)
    key = ""
    if version.inputs_key:
        # Everything the version's files are made of: what validation read, what the log and
        # the rest of the catalog say about this version, and the settings.
        key = key_of(
            "version-files",
            version.inputs_key,
            [e.hash for e in events],
            [f.to_json() for f in version.findings],
            version.decision.to_json() if version.decision else None,
            sorted(lineage.versions),
            sorted(lineage.edges),
            catalog.lineage.descendants(version.id),
            repr(catalog.config),
            catalog.commit.sha
            if catalog.commit and "{commit" in catalog.config.artifact_url_template
            else None,
            context,
        )
    out.bundle(key, lambda files: _render_version(files, catalog, version, context, page))


def _render_version(
    files: Bundle,
    catalog: Catalog,
    version: PublishedVersion,
    context: dict[str, Any],
    page: str,
) -> None:
    out = files.writer
    name, number = version.name, version.version
    record = version_record(catalog, version)
    record_sha = out.stored(paths.version_json(name, number), dumps(record))
    files.add(paths.version_json(name, number), record_sha)
    if version.chunks:
        relative = paths.chunks(name, number)
        files.add(relative, out.stored(relative, dumps(chunks_document(version))))
    facts = collect(catalog, version)
    material = repr(facts)  # a frozen dataclass of plain values: its repr is its content
    for kind, module in (("spdx", spdx2), ("spdx3", spdx3), ("cdx", cyclonedx)):
        relative = paths.sbom(name, number, kind)
        files.add(
            relative,
            out.cached(
                relative,
                f"sbom-{kind}",
                material,
                lambda module=module: module.render(facts),  # type: ignore[misc]
            ),
        )
    art = version.manifest.artifact
    artifact_href = art.url
    if catalog.config.publish_artifacts and art.path:
        artifact_href = link(page, paths.artifact(art.sha256))
    signature_href = None
    if catalog.config.publish_artifacts and version.signature and version.signature.present:
        for name in (SIGNATURE_FILE, CLAIMS_FILE):
            if (version.manifest.folder / name).is_file():
                content = (version.manifest.folder / name).read_bytes()
                target = paths.artifact(hashlib.sha256(content).hexdigest())
                files.add(target, out.stored(target, content))
                signature_href = signature_href or link(page, target)
    svg = _lineage_svg(catalog, {version.id}, page, VERSION_PAGE_RADIUS)
    events = _timeline(catalog, catalog.events_of(name, number))
    files.add(
        page,
        out.cached(
            page,
            "version-page",
            [
                record_sha or dumps(record),
                artifact_href,
                signature_href,
                svg,
                events,
                context,
            ],
            lambda: render_page(
                "version.html",
                page,
                record=record,
                io=_io_rows(version),
                artifact_href=artifact_href,
                signature_href=signature_href,
                lineage_svg=svg,
                events=events,
                **context,
            ),
        ),
    )


def _write_model(
    out: SiteWriter, catalog: Catalog, model: ModelEntry, context: dict[str, Any]
) -> None:
    for version in model.versions:
        _write_version(out, catalog, version, context)
    document = model_document(catalog, model)
    document_sha = out.stored(paths.model_json(model.name), dumps(document))
    page = paths.model_page(model.name)
    timeline = _timeline(catalog, catalog.events_of(model.name))
    svg = _lineage_svg(catalog, {v.id for v in model.versions}, page)
    out.cached(
        page,
        "model-page",
        [document_sha, timeline, svg, context],
        lambda: render_page(
            "model.html", page, model=document, events=timeline, lineage_svg=svg, **context
        ),
    )


# A version page draws its near lineage; the model page and lineage.html draw all of it.
VERSION_PAGE_RADIUS = 3


def _lineage_svg(
    catalog: Catalog, versions: set[str], page: str, radius: int | None = None
) -> Markup | None:
    """The lineage around `versions` (`radius` steps at most), or None when they have none."""
    graph = catalog.lineage.around(versions, radius)
    if not graph.edges:
        return None

    def href(node: str) -> str | None:
        if node not in graph.versions:
            return None
        name, _, number = node.partition("@")
        return link(page, paths.version_page(name, number))

    return render_svg(graph, versions, href, f"Lineage of {', '.join(sorted(versions))}")


def _write_lineage(out: SiteWriter, catalog: Catalog, context: dict[str, Any]) -> None:
    out.json(paths.LINEAGE_JSON, lineage_document(catalog))
    graph = catalog.lineage.by_model()
    page = paths.LINEAGE_PAGE
    svg = None
    if graph.edges:
        svg = render_svg(
            graph,
            set(),
            lambda node: link(page, paths.model_page(node)) if node in graph.versions else None,
            "Lineage of the registry's models",
        )
    unconnected = sum(1 for m in catalog.models if m.name not in graph.versions)
    out.text(
        page, render_page("lineage.html", page, lineage_svg=svg, unconnected=unconnected, **context)
    )


def _write_static(out: SiteWriter) -> None:
    static = resources.files("registry.build.site") / "static"
    for entry in sorted(static.iterdir(), key=lambda e: e.name):
        if entry.is_file():
            out.text(f"{paths.STATIC}/{entry.name}", entry.read_text(encoding="utf-8"))


def _write_schemas(out: SiteWriter) -> None:
    source = schema_dir()
    for path in sorted(source.rglob("*.json")):
        out.text(
            f"{paths.SCHEMAS}/{path.relative_to(source).as_posix()}",
            path.read_text(encoding="utf-8"),
        )
    # In the site the document schemas sit under v1/schema/, beside v1/openapi.yaml.
    openapi = (source / "openapi.yaml").read_text(encoding="utf-8")
    out.text(paths.OPENAPI, openapi.replace('$ref: "api/', '$ref: "schema/api/'))


def _write_events(out: SiteWriter, catalog: Catalog, context: dict[str, Any]) -> None:
    events = catalog.events
    size = catalog.config.events_page_size
    chunks = eventpages.pages(events, size)
    for number, chunk in enumerate(chunks, start=1):
        out.json(paths.events_page(number), eventpages.page_document(number, chunk, size))
    out.json(paths.EVENTS_JSON, eventpages.index_document(events, size, catalog.partial_log))
    commit = catalog.commit.sha if catalog.commit else None
    out.json(
        paths.LOG_HEAD,
        eventpages.head_document(events, commit, catalog.generated_at, catalog.partial_log),
    )
    out.text(
        paths.FEED,
        eventpages.atom_feed(
            events,
            catalog.config.name,
            catalog.config.base_url,
            catalog.generated_at,
            frozenset(v.id for v in catalog.versions()),
        ),
    )
    out.text(
        paths.TIMELINE_PAGE,
        render_page(
            "timeline.html", paths.TIMELINE_PAGE, events=_timeline(catalog, events), **context
        ),
    )


def _timeline(catalog: Catalog, events: tuple[Event, ...]) -> list[dict[str, Any]]:
    """Events for a timeline, newest first, each with its one-line summary, and whether its
    version has a page in this site (removed or excluded versions have none)."""
    return [
        {
            **e.to_json(),
            "summary": eventpages.summary(e),
            "published": catalog.find(f"{e.model}@{e.version}") is not None,
        }
        for e in reversed(events)
    ]


def write_site(out: SiteWriter, catalog: Catalog, root: Path, jobs: int = 1) -> bool:
    """Every file of the site; returns whether documentation was built."""
    epoch = int(dt.datetime.fromisoformat(catalog.generated_at.replace("Z", "+00:00")).timestamp())
    shutil.rmtree(out.root / paths.DOCS, ignore_errors=True)  # a reused tree has older docs
    has_docs = build_docs(
        root, out.root / paths.DOCS, epoch, catalog.config.base_url + paths.DOCS + "/"
    )
    # Pages of one model or version carry nothing that changes with every commit, so that an
    # unchanged one is found in the cache; the registry-wide pages say which commit they show.
    context = _page_context(catalog, has_docs)
    stamped = {
        **context,
        "commit": catalog.commit.sha if catalog.commit else None,
        "generated_at": catalog.generated_at,
    }
    index = index_document(catalog)
    out.json(paths.INDEX_JSON, index)
    _write_events(out, catalog, stamped)
    _write_lineage(out, catalog, stamped)
    for number, name in enumerate(catalog.config.governance.trust_roots, start=1):
        out.copy(root / name, paths.trust_root(number))
    _write_schemas(out)
    _write_static(out)
    out.text(paths.HEADERS, headers_file())
    out.text(paths.HOME_PAGE, render_page("index.html", paths.HOME_PAGE, index=index, **stamped))
    with Progress("writing", len(catalog.models), "models") as progress:
        if jobs <= 1 or len(catalog.models) < 2:
            for model in catalog.models:
                _write_model(out, catalog, model, context)
                progress.update()
        else:
            _write_models_in_parallel(out, catalog, context, jobs, progress)
    return has_docs


# What forked workers inherit: the catalog is built once, in the parent.
_SHARED: tuple[SiteWriter, Catalog, dict[str, Any]] | None = None


def _write_models_in_parallel(
    out: SiteWriter, catalog: Catalog, context: dict[str, Any], jobs: int, progress: Progress
) -> None:
    global _SHARED
    _SHARED = (out, catalog, context)
    out.cache.close()  # each process opens its own connection
    models = range(len(catalog.models))
    try:
        for writes, produced in ordered_map(_write_model_at, models, jobs, _start_writer, 4):
            out.cache.apply(writes)
            out.produced.update(produced)
            progress.update()
    finally:
        _SHARED = None


def _start_writer() -> None:
    global _SHARED
    assert _SHARED is not None
    out, catalog, context = _SHARED
    cache = out.cache.worker()
    multiprocessing.util.Finalize(cache, cache.close, exitpriority=10)
    _SHARED = (SiteWriter(out.root, cache, out.previous), catalog, context)


def _write_model_at(index: int) -> tuple[list[Write], dict[str, Entry]]:
    """In a worker: one model's files; what it wrote goes back to the parent."""
    assert _SHARED is not None
    out, catalog, context = _SHARED
    _write_model(out, catalog, catalog.models[index], context)
    produced, out.produced = out.produced, {}
    return out.cache.drain(), produced


def build_site(
    root: Path,
    out: Path,
    base_url: str | None = None,
    allow_invalid: bool = False,
    previous_log: str | None = None,
    allow_shallow: bool = False,
    options: RunOptions | None = None,
) -> BuildResult:
    started = time.monotonic()
    options = options or RunOptions()
    config = load_config(root)
    if base_url is not None:
        config = dataclasses.replace(config, base_url=normalized_base_url(base_url))
    check_output(root, out)
    report = validate_registry(root, options=dataclasses.replace(options, shard=None))
    _admit(report, allow_invalid)
    cache = Cache(root, options.cache, cache_dir=options.cache_dir)
    try:
        log = registry_log(root, allow_shallow, cache)
        if previous_log is not None:
            check_extends(log.events, previous_log)
        catalog = build_catalog(root, config, report, log.events, log.partial)
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
    finally:
        cache.close()
    count = sum(len(m.versions) for m in catalog.models)
    return BuildResult(out, count, catalog.excluded, has_docs)
