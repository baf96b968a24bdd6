"""The registry's indexes: v1/index.json (paginated past index_page_size into v1/index/<n>.json)
and v1/search.json, every model in a few hundred bytes for the catalog's search."""

from __future__ import annotations

from typing import Any

from registry import __version__
from registry.build import paths
from registry.build.catalog import Catalog, ModelEntry, PublishedVersion
from registry.build.site.records import API_VERSION, artifact_hosts, link, time_of

# The published schemas, listed (registrypages.schema_index): a folder has no index on a static
# host, so v1/index.json links.schemas names this file.
SCHEMA_INDEX = f"{paths.SCHEMAS}/index.json"


def _model_entry(model: ModelEntry, doc: str) -> dict[str, Any]:
    latest = model.latest
    manifest = latest.manifest
    return {
        "name": model.name,
        "latest": latest.version,
        "versions": [v.version for v in model.versions],
        "status": model.status,
        "format": manifest.format,
        "license": manifest.license,
        "framework": manifest.framework_name,
        "risk_tier": manifest.risk_tier,
        "decision": latest.decision.decision if latest.decision else "allow",
        "flags": list(latest.decision.flags) if latest.decision else [],
        "signed": bool(latest.signature and latest.signature.verified),
        "tags": list(manifest.tags),
        "description": manifest.description,
        "intended_use": manifest.intended_use,
        "publisher": manifest.publisher.name,
        "digest": f"sha256:{manifest.artifact.sha256}",
        "updated_at": time_of(latest.history.updated),
        "url": link(doc, paths.model_json(model.name)),
        "html": link(doc, paths.model_page(model.name)),
    }


def index_pages(catalog: Catalog) -> list[list[ModelEntry]]:
    """The models in pages of `index_page_size`: one page (v1/index.json alone) until then."""
    size = catalog.config.index_page_size
    models = list(catalog.models)
    return [models[i : i + size] for i in range(0, len(models), size)] or [[]]


def _page_links(doc: str, number: int, count: int) -> dict[str, str | None]:
    def page(n: int) -> str | None:
        return link(doc, paths.index_page(n)) if 1 <= n <= count else None

    return {"first": page(1), "previous": page(number - 1), "next": page(number + 1)}


def index_page_document(catalog: Catalog, number: int, pages: int) -> dict[str, Any]:
    """v1/index/<number>.json: one page of the models, linked to its neighbours."""
    doc = paths.index_page(number)
    models = index_pages(catalog)[number - 1]
    return {
        "api_version": API_VERSION,
        "page": number,
        "pages": pages,
        "page_size": catalog.config.index_page_size,
        "total": len(catalog.models),
        "models": [_model_entry(m, doc) for m in models],
        "links": {"registry": link(doc, paths.INDEX_JSON), **_page_links(doc, number, pages)},
    }


def index_document(catalog: Catalog) -> dict[str, Any]:
    """v1/index.json: the registry, and its models (the first page of them once there are more
    than index_page_size: the others in v1/index/<n>.json)."""
    doc = paths.INDEX_JSON
    pages = index_pages(catalog)
    paged = len(pages) > 1
    return {
        "api_version": API_VERSION,
        "registry": {
            "name": catalog.config.name,
            "description": catalog.config.description,
            "base_url": catalog.config.base_url,
            # The CAs whose certificates may sign models (governance.trust_roots), as PEM files.
            "trust_roots": [
                link(doc, paths.trust_root(number))
                for number in range(1, len(catalog.config.governance.trust_roots) + 1)
            ],
            "artifact_hosts": artifact_hosts(catalog),
        },
        "generator": f"modelreg {__version__}",
        "generated_at": catalog.generated_at,
        "commit": catalog.commit.sha if catalog.commit else None,
        "count": {
            "models": len(catalog.models),
            "versions": sum(len(m.versions) for m in catalog.models),
        },
        "pages": {
            "count": len(pages),
            "page_size": catalog.config.index_page_size,
            **(_page_links(doc, 1, len(pages)) if paged else {}),
        },
        "models": [_model_entry(m, doc) for m in pages[0]],
        "links": {
            "self": "index.json",
            "search": link(doc, paths.SEARCH_JSON),
            "openapi": "openapi.yaml",
            "schemas": link(doc, SCHEMA_INDEX),
            "events": link(doc, paths.EVENTS_JSON),
            "log_head": link(doc, paths.LOG_HEAD),
            "feed": link(doc, paths.FEED),
            "lineage": link(doc, paths.LINEAGE_JSON),
        },
    }


SUMMARY_CHARS = 160  # of the intended use and of the description in search.json


def _cut(text: str) -> str:
    """`text` on one line, cut at SUMMARY_CHARS (the catalog's cards show no more)."""
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def _last_change(model: ModelEntry) -> str | None:
    """When any version of `model` last changed (RFC 3339 UTC, so the latest sorts last)."""
    times = [v.history.updated.timestamp for v in model.versions if v.history.updated]
    return max(times, default=None)


def _download_size(version: PublishedVersion) -> int:
    """The bytes a consumer downloads for `version`: its artifact and any external data."""
    artifact = version.manifest.artifact
    return artifact.size + sum(part.size for part in artifact.external_data)


def search_document(catalog: Catalog) -> dict[str, Any]:
    """v1/search.json: every model in a few hundred bytes, what the catalog search reads."""
    doc = paths.SEARCH_JSON
    models = []
    for model in catalog.models:
        latest = model.latest
        manifest = latest.manifest
        flags = {flag for v in model.versions if v.decision for flag in v.decision.flags}
        models.append(
            {
                "name": model.name,
                "latest": latest.version,
                "versions": [v.version for v in model.versions],
                "format": manifest.format,
                "framework": manifest.framework_name,
                "license": manifest.license,
                "tags": list(manifest.tags),
                "risk_tier": manifest.risk_tier,
                "status": model.status,
                "decision": latest.decision.decision if latest.decision else "allow",
                "flags": sorted(flags),  # of every version: the catalog filters on them
                "updated": _last_change(model),  # the catalog sorts by these two
                "size": _download_size(latest),
                "signed": bool(latest.signature and latest.signature.verified),
                "publisher": manifest.publisher.name,
                "intended_use": _cut(manifest.intended_use),
                "summary": _cut(manifest.description),
                "html": link(doc, paths.model_page(model.name)),
            }
        )
    return {"api_version": API_VERSION, "count": len(models), "models": models}
