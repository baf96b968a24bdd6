"""Where each published file lives in the site, relative to its root (DESIGN.md "Build output")."""

from __future__ import annotations

INDEX_JSON = "v1/index.json"
OPENAPI = "v1/openapi.yaml"
SCHEMAS = "v1/schema"
HOME_PAGE = "index.html"
TIMELINE_PAGE = "timeline.html"
LINEAGE_PAGE = "lineage.html"
LINEAGE_JSON = "v1/lineage.json"
SEARCH_JSON = "v1/search.json"
FEED = "feed.xml"
EVENTS_JSON = "v1/events.json"
LOG_HEAD = "v1/log/head.json"
# The two files that carry a clock reading (the build's duration): see registry.site.stats.
STATS = "v1/stats.json"
METRICS = "metrics.prom"
DOCS = "docs"
ARTIFACTS = "artifacts/sha256"
HEADERS = "_headers"
STATIC = "static"
SBOM_FILES = {"spdx": "sbom.spdx.json", "spdx3": "sbom.spdx3.json", "cdx": "sbom.cdx.json"}
MODEL_CARD = "README.md"


def events_page(number: int) -> str:
    return f"v1/events/{number}.json"


def trust_root(number: int) -> str:
    """The registry's `number`th trust root (from 1), as published for consumers."""
    return f"v1/trust-roots/{number}.pem"


def index_page(number: int) -> str:
    """Page `number` of the models, once v1/index.json is paginated (index_page_size)."""
    return f"v1/index/{number}.json"


def model_json(name: str) -> str:
    return f"v1/models/{name}/index.json"


def model_aliases(name: str) -> str:
    """The aliases the model's versions hold (registry.build.site.aliasdoc)."""
    return f"v1/models/{name}/aliases.json"


def version_json(name: str, version: str) -> str:
    return f"v1/models/{name}/{version}/index.json"


def chunks(name: str, version: str) -> str:
    return f"v1/models/{name}/{version}/chunks.json"


def version_diff(name: str, version: str) -> str:
    """What changed since the version before it (registry.build.diff); absent for the first."""
    return f"v1/models/{name}/{version}/diff.json"


def sbom(name: str, version: str, kind: str) -> str:
    return f"v1/models/{name}/{version}/{SBOM_FILES[kind]}"


def model_card(name: str, version: str) -> str:
    """The version's Hugging Face model card (registry.build.hfcard): Markdown, a download."""
    return f"v1/models/{name}/{version}/{MODEL_CARD}"


def model_page(name: str) -> str:
    return f"models/{name}/index.html"


def version_page(name: str, version: str) -> str:
    return f"models/{name}/{version}/index.html"


def artifact(sha256: str) -> str:
    """A published model file, by its content: no name a contributor chose (`payload.html`), so
    nothing a browser renders from the registry's origin; fetch restores the manifest's names."""
    return f"{ARTIFACTS}/{sha256}"
