"""The files of the registry as a whole: the index, the event log and the timeline, the lineage
of all models, the trust roots, the schemas and the OpenAPI description, the static assets, the
headers file and the home page. Written at every build: they say which commit they show."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from registry.build import paths
from registry.build.catalog import Catalog
from registry.build.site import eventpages
from registry.build.site.headers import headers_file
from registry.build.site.html import render_page
from registry.build.site.indexes import (
    SCHEMA_INDEX,
    index_document,
    index_page_document,
    search_document,
)
from registry.build.site.lineage_svg import render_svg
from registry.build.site.records import lineage_document, link
from registry.build.site.writer import SiteWriter
from registry.infra.schemadir import schema_dir


def page_context(catalog: Catalog, has_docs: bool) -> dict[str, Any]:
    """What every HTML page shows of the registry (nothing that changes with every commit)."""
    return {
        "registry": {"name": catalog.config.name, "description": catalog.config.description},
        "generator": "modelreg",
        "has_docs": has_docs,
    }


def write_registry_pages(
    out: SiteWriter, catalog: Catalog, root: Path, stamped: dict[str, Any]
) -> None:
    """Every registry-wide file; `stamped`: the page context with the commit and the time."""
    index = index_document(catalog)
    out.json(paths.INDEX_JSON, index)
    pages = index["pages"]["count"]
    for number in range(1, pages + 1) if pages > 1 else ():
        out.json(paths.index_page(number), index_page_document(catalog, number, pages))
    search = search_document(catalog)
    out.json(paths.SEARCH_JSON, search)
    _write_events(out, catalog, stamped)
    _write_lineage(out, catalog, stamped)
    for number, name in enumerate(catalog.config.governance.trust_roots, start=1):
        out.copy(root / name, paths.trust_root(number))
    _write_schemas(out)
    _write_static(out)
    out.text(paths.HEADERS, headers_file())
    out.text(paths.HOME_PAGE, home_page(index, search, stamped))


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
    published: dict[str, Any] = {}
    for path in sorted(source.rglob("*.json")):
        relative = path.relative_to(source).as_posix()
        text = path.read_text(encoding="utf-8")
        out.text(f"{paths.SCHEMAS}/{relative}", text)
        published[relative] = {"$ref": relative, "title": json.loads(text).get("title", "")}
    out.json(SCHEMA_INDEX, schema_index(published))
    # In the site the document schemas sit under v1/schema/, beside v1/openapi.yaml.
    openapi = (source / "openapi.yaml").read_text(encoding="utf-8")
    out.text(paths.OPENAPI, openapi.replace('$ref: "api/', '$ref: "schema/api/'))


def schema_index(published: dict[str, Any]) -> dict[str, Any]:
    """v1/schema/index.json: the published schemas, listed for a client (a folder has no index
    on a static host). It is itself a JSON Schema, as OpenAPI describes every file under
    v1/schema/: each `$defs` entry refers to one schema by its path and repeats its title."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "The JSON Schemas of this registry",
        "description": "Every JSON Schema published beside this file: each $defs key is a "
        "schema's path relative to this file, its $ref the schema itself, its title what it "
        "describes. The JSON API's documents are matched to their schemas by ../openapi.yaml.",
        "$defs": published,
    }


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
            "timeline.html",
            paths.TIMELINE_PAGE,
            events=eventpages.timeline(catalog, events[-eventpages.TIMELINE_EVENTS :]),
            total=len(events),
            **context,
        ),
    )


# The home page stays a few hundred kB at any size: catalog.js replaces the cards with what it
# reads from search.json, and shows PAGE_CARDS at a time (its PAGE).
PAGE_CARDS = 60
EMBEDDED_MODELS = 1000


def home_page(index: dict[str, Any], search: dict[str, Any], stamped: dict[str, Any]) -> str:
    """The catalog's home page, of the registry's index and search documents."""
    return render_page(
        "index.html", paths.HOME_PAGE, index=index, **_home_catalog(search), **stamped
    )


def _home_catalog(search: dict[str, Any]) -> dict[str, Any]:
    """The first cards, drawn for a reader without scripts, and the copy of search.json the
    page embeds for file:// (where fetch is refused): whole up to EMBEDDED_MODELS models."""
    models = search["models"]
    return {
        "cards": models[:PAGE_CARDS],
        "more": max(len(models) - PAGE_CARDS, 0),
        "embedded": {**search, "models": models[:EMBEDDED_MODELS]},
    }
