"""The files of one model: each version's record, diff, SBOMs, artifacts and page, and the
model's own document and page. A version's files are one cached bundle: its key is built right
beside the renderer it guards (_version_files_key, _render_version), so that whatever the
renderer reads is seen to be in the key."""

from __future__ import annotations

import hashlib
from typing import Any

from markupsafe import Markup

from registry.build import hfcard, paths
from registry.build.catalog import Catalog, ModelEntry, PublishedVersion
from registry.build.diff import describe, release_words, version_diff
from registry.build.sbom import cyclonedx, spdx2, spdx3
from registry.build.sbom.facts import collect
from registry.build.site.eventpages import timeline
from registry.build.site.html import render_page
from registry.build.site.lineage_svg import render_svg
from registry.build.site.records import chunks_document, link, model_document, version_record
from registry.build.site.snippets import usage_snippets
from registry.build.site.writer import Bundle, SiteWriter, dumps
from registry.infra.cachekey import key_of
from registry.signing.bundle import CLAIMS_FILE, SIGNATURE_FILE

# A version page draws its near lineage; the model page and lineage.html draw all of it.
VERSION_PAGE_RADIUS = 3


def write_model(
    out: SiteWriter, catalog: Catalog, model: ModelEntry, context: dict[str, Any]
) -> None:
    previous = None
    rendered: dict[str, dict[str, Any]] = {}  # the record last rendered, for the next diff
    for version in model.versions:  # in SemVer order: each diff is against the one before
        _write_version(out, catalog, version, previous, context, rendered)
        previous = version
    document = model_document(catalog, model)
    document_sha = out.stored(paths.model_json(model.name), dumps(document))
    page = paths.model_page(model.name)
    events = timeline(catalog, catalog.events_of(model.name))
    svg = lineage_svg(catalog, {v.id for v in model.versions}, page)
    out.cached(
        page,
        "model-page",
        [document_sha, events, svg, context],
        lambda: render_page(
            "model.html", page, model=document, events=events, lineage_svg=svg, **context
        ),
    )


def lineage_svg(
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


def _write_version(
    out: SiteWriter,
    catalog: Catalog,
    version: PublishedVersion,
    previous: PublishedVersion | None,
    context: dict[str, Any],
    rendered: dict[str, dict[str, Any]],
) -> None:
    """The files of one version: the artifacts, then the bundle of its record, diff, SBOMs and
    page."""
    page = paths.version_page(version.name, version.version)
    art = version.manifest.artifact
    if catalog.config.publish_artifacts and art.path:
        files = [(art.path, art.sha256, art.size)]
        files += [(e.path, e.sha256, e.size) for e in art.external_data]
        for relative, sha256, size in files:
            out.artifact(version.manifest.folder / relative, paths.artifact(sha256), sha256, size)
    out.bundle(
        _version_files_key(catalog, version, previous, context),
        lambda files: _render_version(files, catalog, version, previous, context, page, rendered),
    )


def _version_files_key(
    catalog: Catalog,
    version: PublishedVersion,
    previous: PublishedVersion | None,
    context: dict[str, Any],
) -> str:
    """What _render_version (below) makes a version's files of: the version's own (_own_key),
    and for its diff, what the previous version's record is made of. "" (never cached) when
    either has no key."""
    own = _own_key(catalog, version, context)
    if previous is None or not own:
        return own
    before = _own_key(catalog, previous, context)
    return key_of("version-files-diff", own, previous.id, before) if before else ""


def _own_key(catalog: Catalog, version: PublishedVersion, context: dict[str, Any]) -> str:
    """What a version's record and pages are made of: what validation read (the version's
    inputs), what the log and the rest of the catalog say about the version (its events,
    findings, decision, its lineage within VERSION_PAGE_RADIUS and its descendants), and the
    settings. "" for a version whose inputs have no key."""
    if not version.inputs_key:
        return ""
    lineage = catalog.lineage.around({version.id}, VERSION_PAGE_RADIUS)
    return key_of(
        "version-files",
        version.inputs_key,
        [e.hash for e in catalog.events_of(version.name, version.version)],
        [f.to_json() for f in version.findings],
        version.decision.to_json() if version.decision else None,
        catalog.aliases_of(version),
        sorted(lineage.versions),
        sorted(lineage.edges),
        catalog.lineage.descendants(version.id),
        repr(catalog.config),
        catalog.commit.sha
        if catalog.commit and "{commit" in catalog.config.artifact_url_template
        else None,
        context,
    )


def _render_version(
    files: Bundle,
    catalog: Catalog,
    version: PublishedVersion,
    previous: PublishedVersion | None,
    context: dict[str, Any],
    page: str,
    rendered: dict[str, dict[str, Any]],
) -> None:
    out = files.writer
    name, number = version.name, version.version
    record = version_record(catalog, version, previous)
    record_sha = out.stored(paths.version_json(name, number), dumps(record))
    files.add(paths.version_json(name, number), record_sha)
    diff = _write_diff(files, catalog, version, previous, record, rendered)
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
    card = hfcard.render(version.manifest, catalog.config.base_url, catalog.config.name)
    files.add(paths.model_card(name, number), out.stored(paths.model_card(name, number), card))
    art = version.manifest.artifact
    artifact_href = art.url
    if catalog.config.publish_artifacts and art.path:
        artifact_href = link(page, paths.artifact(art.sha256))
    elif catalog.config.store is not None and art.path:
        artifact_href = catalog.artifact_url(version, art.path, art.sha256)  # the S3 store's
    signature_href = _signature_href(files, catalog, version, page)
    svg = lineage_svg(catalog, {version.id}, page, VERSION_PAGE_RADIUS)
    events = timeline(catalog, catalog.events_of(name, number))
    registry_url = catalog.config.base_url  # what `modelreg fetch --registry` is shown with
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
                diff,
                registry_url,
                context,
            ],
            lambda: render_page(
                "version.html",
                page,
                record=record,
                io=_io_rows(version),
                file_rows=_file_rows(record, page, artifact_href),
                snippets=usage_snippets(record, registry_url),
                artifact_href=artifact_href,
                signature_href=signature_href,
                lineage_svg=svg,
                events=events,
                diff=diff,
                changes=describe(diff) if diff else [],
                release=release_words(diff) if diff else None,
                **context,
            ),
        ),
    )


def _write_diff(
    files: Bundle,
    catalog: Catalog,
    version: PublishedVersion,
    previous: PublishedVersion | None,
    record: dict[str, Any],
    rendered: dict[str, dict[str, Any]],
) -> dict[str, Any] | None:
    """The diff from `previous` to `version` (None for a model's first version)."""
    before = rendered.pop(previous.id, None) if previous is not None else None
    rendered[version.id] = record
    if previous is None:
        return None
    # A diff reads no link of a record: the previous one's own previous does not matter, so
    # the record rendered just before serves (or, found in the cache, it is made again).
    diff = version_diff(before or version_record(catalog, previous, None), record)
    relative = paths.version_diff(version.name, version.version)
    files.add(relative, files.writer.stored(relative, dumps(diff)))
    return diff


def _signature_href(
    files: Bundle, catalog: Catalog, version: PublishedVersion, page: str
) -> str | None:
    """Where the page links model.sig: the site's own copy (written here with its claims), or
    the S3 store's (artifacts.store), or nowhere."""
    if not (version.signature and version.signature.present):
        return None
    href = None
    for signed in (SIGNATURE_FILE, CLAIMS_FILE):
        path = version.manifest.folder / signed
        if not path.is_file():
            continue
        content = path.read_bytes()
        sha256 = hashlib.sha256(content).hexdigest()
        if catalog.config.publish_artifacts:
            target = paths.artifact(sha256)
            files.add(target, files.writer.stored(target, content))
            href = href or link(page, target)
        elif catalog.config.store is not None:
            href = href or catalog.artifact_url(version, signed, sha256)
    return href


def _file_rows(
    record: dict[str, Any], page: str, artifact_href: str | None
) -> list[dict[str, Any]]:
    """The rows of the page's file table: the artifact, then each external data file, with the
    link the page downloads it from (the site's own copy when the record has one: `href`)."""
    art = record["artifact"]
    rows = [{**art, "kind": "artifact", "name": art["path"] or art["url"], "link": artifact_href}]
    for extra in art["external_data"]:
        href = link(page, paths.artifact(extra["sha256"])) if "href" in extra else extra["url"]
        rows.append({**extra, "kind": "external data", "name": extra["path"], "link": href})
    return rows


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
