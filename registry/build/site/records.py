"""The JSON API documents: the registry index, one document per model, one record per version.

Links are URI references relative to the document that holds them, so the same files work from
any host, any sub-path and from file://. schema/api/*.json describes each document.
"""

from __future__ import annotations

import posixpath
import urllib.parse
from typing import Any

from registry.build import paths
from registry.build.catalog import Catalog, CommitRef, ModelEntry, PublishedVersion
from registry.build.evidence import governance, rmf_evidence, signature
from registry.eventlog.chain import Event
from registry.infra.hashing import hash_file
from registry.infra.merkle import CHUNK_SIZE, merkle_root
from registry.load.manifest import DATASET_PREFIX
from registry.signing.bundle import CLAIMS_FILE, SIGNATURE_FILE

API_VERSION = "1"


def link(from_file: str, to: str) -> str:
    """A relative reference from the document at site path `from_file` to site path `to`."""
    start = posixpath.dirname(from_file) or "."
    target = posixpath.relpath(to, start)
    return target + "/" if to.endswith("/") and not target.endswith("/") else target


def _commit(commit: CommitRef | None) -> dict[str, Any] | None:
    if commit is None:
        return None
    return {"sha": commit.sha, "author": commit.author, "timestamp": commit.timestamp}


def _artifact(catalog: Catalog, version: PublishedVersion, doc: str) -> dict[str, Any]:
    art = version.manifest.artifact
    # The site copies the files of a version whose artifact is in the repository; an artifact
    # named by URL comes, with its external data, from the URLs the manifest gives.
    in_repository = art.path is not None
    published = catalog.config.publish_artifacts and in_repository

    def entry(relative: str, sha256: str, size: int, url: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            "path": relative,
            "sha256": sha256,
            "size": size,
            "url": catalog.artifact_url(version, relative, sha256) if in_repository else url,
        }
        if relative in version.chunks:
            item["merkle_root"] = merkle_root(version.chunks[relative])
        if published:
            item["href"] = link(doc, paths.artifact(sha256))
        return item

    main = (
        entry(art.path, art.sha256, art.size, None)
        if art.path is not None
        else {"path": None, "sha256": art.sha256, "size": art.size, "url": art.url}
    )
    externals = [entry(e.path, e.sha256, e.size, e.url) for e in art.external_data]
    return {**main, "external_data": externals}


def artifact_hosts(catalog: Catalog) -> list[str]:
    """The https hosts records send consumers to for files (artifact_url_template, URL
    artifacts, artifacts.allowed_hosts): fetch follows no other host than the site's own."""
    hosts = set(catalog.config.allowed_hosts)
    for version in catalog.versions():
        art = version.manifest.artifact
        if art.path is None:  # named by URL, with its external data (as _artifact says)
            urls = [art.url, *(e.url for e in art.external_data)]
        else:
            files = [(art.path, art.sha256)] + [(e.path, e.sha256) for e in art.external_data]
            urls = [catalog.artifact_url(version, relative, sha) for relative, sha in files]
        for url in urls:
            parsed = urllib.parse.urlparse(url or "")
            if parsed.scheme == "https" and parsed.netloc:
                hosts.add(parsed.netloc.lower())
    return sorted(hosts)


def _signature(catalog: Catalog, version: PublishedVersion, doc: str) -> dict[str, Any]:
    """The verification result, and where model.sig (and the claims it signs) are fetched."""
    data = signature(version)
    if data["present"]:
        folder = version.manifest.folder
        data.update(_signed_file(catalog, version, doc, SIGNATURE_FILE))
        if data.get("claims_signed") and (folder / CLAIMS_FILE).is_file():
            data["claims"] = _signed_file(catalog, version, doc, CLAIMS_FILE)
    return data


def _signed_file(
    catalog: Catalog, version: PublishedVersion, doc: str, name: str
) -> dict[str, Any]:
    digest = hash_file(version.manifest.folder / name)
    data: dict[str, Any] = {"sha256": digest.sha256, "size": digest.size}
    data["url"] = catalog.artifact_url(version, name, digest.sha256)
    if catalog.config.publish_artifacts:
        data["href"] = link(doc, paths.artifact(digest.sha256))
    return data


def event_reference(event: Event, doc: str, page_size: int) -> dict[str, Any]:
    """An event as a reference into the log's pages (seq and hash identify it)."""
    return {
        "seq": event.seq,
        "type": event.type,
        "timestamp": event.timestamp,
        "commit": event.commit,
        "hash": event.hash,
        "page": link(doc, paths.events_page((event.seq - 1) // page_size + 1)),
    }


def version_record(
    catalog: Catalog, version: PublishedVersion, previous: PublishedVersion | None
) -> dict[str, Any]:
    """The record of `version`; `previous` (the model's next lower version, if any) is what its
    diff.json is against."""
    doc = paths.version_json(version.name, version.version)
    page_size = catalog.config.events_page_size
    manifest = version.manifest
    return {
        "api_version": API_VERSION,
        "id": version.id,
        "name": version.name,
        "version": version.version,
        "status": version.status,
        "aliases": catalog.aliases_of(version),
        "digest": f"sha256:{manifest.artifact.sha256}",
        "manifest": dict(manifest.data),
        "artifact": _artifact(catalog, version, doc),
        "model_info": version.model_info.to_json() if version.model_info else None,
        "governance": governance(version),
        "signature": _signature(catalog, version, doc),
        "reports": [r.to_json() for r in version.reports],
        "nist_ai_rmf": rmf_evidence(catalog, version),
        "history": {
            "published": _commit(version.history.published),
            "updated": _commit(version.history.updated),
            # References, not copies: the events themselves are in the log's pages.
            "events": [
                event_reference(e, doc, page_size)
                for e in catalog.events_of(version.name, version.version)
            ],
        },
        "findings": [f.to_json() for f in version.findings],
        "links": {
            "self": link(doc, doc),
            "model": link(doc, paths.model_json(version.name)),
            "registry": link(doc, paths.INDEX_JSON),
            "html": link(doc, paths.version_page(version.name, version.version)),
            "sbom_spdx": link(doc, paths.sbom(version.name, version.version, "spdx")),
            "sbom_spdx3": link(doc, paths.sbom(version.name, version.version, "spdx3")),
            "sbom_cyclonedx": link(doc, paths.sbom(version.name, version.version, "cdx")),
            "model_card": link(doc, paths.model_card(version.name, version.version)),
            "chunks": link(doc, paths.chunks(version.name, version.version))
            if version.chunks
            else None,
            "diff": link(doc, paths.version_diff(version.name, version.version))
            if previous is not None
            else None,
        },
    }


def chunks_document(version: PublishedVersion) -> dict[str, Any]:
    """The Merkle chunk digests of each file of a version (registry.merkle), so that a client
    verifies a download chunk by chunk and fetches a corrupted chunk again alone."""
    art = version.manifest.artifact
    sizes = {e.path: (e.sha256, e.size) for e in art.external_data}
    if art.path is not None:
        sizes[art.path] = (art.sha256, art.size)
    return {
        "api_version": API_VERSION,
        "algorithm": "sha256",
        "chunk_size": CHUNK_SIZE,
        "tree": "leaf: SHA-256 of each chunk; node: SHA-256(0x01 || left || right); an odd "
        "last node moves up unchanged",
        "files": [
            {
                "path": relative,
                "sha256": sizes[relative][0],
                "size": sizes[relative][1],
                "root": merkle_root(digests),
                "chunks": list(digests),
            }
            for relative, digests in sorted(version.chunks.items())
            if relative in sizes
        ],
    }


def _version_summary(version: PublishedVersion, aliases: list[str], doc: str) -> dict[str, Any]:
    manifest = version.manifest
    summary: dict[str, Any] = {
        "version": version.version,
        "status": version.status,
        "aliases": aliases,
        "digest": f"sha256:{manifest.artifact.sha256}",
        "format": manifest.format,
        "license": manifest.license,
        "risk_tier": manifest.risk_tier,
        "published_at": time_of(version.history.published),
        "url": link(doc, paths.version_json(version.name, version.version)),
        "html": link(doc, paths.version_page(version.name, version.version)),
    }
    if manifest.deprecation is not None:
        summary["deprecation"] = manifest.deprecation.to_json()
    summary["decision"] = version.decision.decision if version.decision else "allow"
    summary["flags"] = list(version.decision.flags) if version.decision else []
    return summary


def time_of(commit: CommitRef | None) -> str | None:
    return commit.timestamp if commit is not None else None


def model_document(catalog: Catalog, model: ModelEntry) -> dict[str, Any]:
    doc = paths.model_json(model.name)
    return {
        "api_version": API_VERSION,
        "name": model.name,
        "latest": model.latest.version,
        "status": model.status,
        "versions": [_version_summary(v, model.aliases_of(v.version), doc) for v in model.versions],
        "aliases": {
            alias: {"version": model.aliases[alias], "since": event.timestamp if event else None}
            for alias, event in catalog.alias_setting(model).items()
        },
        # References: each event with its manifest is in the log's pages (v1/events/<n>.json).
        "events": [
            {"version": e.version, **event_reference(e, doc, catalog.config.events_page_size)}
            for e in catalog.events_of(model.name)
        ],
        "links": {
            "self": link(doc, doc),
            "registry": link(doc, paths.INDEX_JSON),
            "html": link(doc, paths.model_page(model.name)),
            # Written for a model that has or had an alias (registry.build.site.aliasdoc).
            "aliases": link(doc, paths.model_aliases(model.name))
            if model.aliases or catalog.alias_history(model)
            else None,
        },
    }


def lineage_document(catalog: Catalog) -> dict[str, Any]:
    """The registry's lineage graph: versions and datasets, derived-from and trained-on edges."""
    doc = paths.LINEAGE_JSON
    graph = catalog.lineage
    nodes: list[dict[str, Any]] = [
        {"id": v, "kind": "version", "url": link(doc, paths.version_json(*v.split("@", 1)))}
        for v in sorted(graph.versions)
    ]
    nodes += [
        {"id": d, "kind": "dataset", "name": d.removeprefix(DATASET_PREFIX)}
        for d in sorted(graph.datasets)
    ]
    edges = [
        {"from": a, "to": b, "type": "trainedOn" if b in graph.datasets else "derivedFrom"}
        for a, b in sorted(graph.edges)
    ]
    return {"api_version": API_VERSION, "nodes": nodes, "edges": edges}
