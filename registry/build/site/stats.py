"""Registry statistics for monitoring: v1/stats.json, and the same figures in the Prometheus text
format (metrics.prom, for a node_exporter textfile collector).

These two files carry the build's duration, the only figure that comes from the clock: every other
file of a build is the same for the same commit.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from registry.build.catalog import Catalog
from registry.build.site.records import API_VERSION

DIMENSIONS = (
    ("format", "format"),
    ("license", "license"),
    ("risk_tier", "risk_tier"),
    ("status", "status"),
)


def stats_document(catalog: Catalog, duration: float) -> dict[str, Any]:
    versions = list(catalog.versions())
    counts: dict[str, Counter[str]] = {name: Counter() for name, _ in DIMENSIONS}
    for version in versions:
        manifest = version.manifest
        values = {
            "format": manifest.format,
            "license": manifest.license,
            "risk_tier": manifest.risk_tier,
            "status": version.status,
        }
        for name, _ in DIMENSIONS:
            counts[name][values[name]] += 1
    artifact_bytes = sum(
        v.manifest.artifact.size + sum(e.size for e in v.manifest.artifact.external_data)
        for v in versions
    )
    return {
        "api_version": API_VERSION,
        "generated_at": catalog.generated_at,
        "commit": catalog.commit.sha if catalog.commit else None,
        "models": len(catalog.models),
        "versions": len(versions),
        "events": len(catalog.events),
        "by_format": dict(sorted(counts["format"].items())),
        "by_license": dict(sorted(counts["license"].items())),
        "by_risk_tier": dict(sorted(counts["risk_tier"].items())),
        "by_status": dict(sorted(counts["status"].items())),
        "deprecated": sorted(v.id for v in versions if v.status == "deprecated"),
        "blocked": sorted(v.id for v in versions if v.status == "blocked"),
        "excluded": list(catalog.excluded),
        "artifact_bytes": artifact_bytes,
        "build_duration_seconds": round(duration, 3),
    }


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(stats: dict[str, Any]) -> str:
    """The figures of stats.json as Prometheus gauges."""
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[str, float | int]]) -> None:
        lines.append(f"# HELP modelreg_{name} {help_text}")
        lines.append(f"# TYPE modelreg_{name} gauge")
        lines.extend(f"modelreg_{name}{labels} {value}" for labels, value in samples)

    gauge("models", "Models published.", [("", stats["models"])])
    gauge("versions", "Model versions published.", [("", stats["versions"])])
    for key, label in DIMENSIONS:
        gauge(
            f"versions_by_{key}",
            f"Published versions by {key.replace('_', ' ')}.",
            [
                (f'{{{label}="{_label(value)}"}}', count)
                for value, count in stats[f"by_{key}"].items()
            ],
        )
    gauge("deprecated_versions", "Deprecated versions.", [("", len(stats["deprecated"]))])
    gauge("blocked_versions", "Versions blocked by governance.", [("", len(stats["blocked"]))])
    gauge(
        "excluded_versions",
        "Versions left out of the build for validation errors.",
        [("", len(stats["excluded"]))],
    )
    gauge("events", "Events in the published log.", [("", stats["events"])])
    gauge(
        "artifact_bytes",
        "Total size of the published model files.",
        [("", stats["artifact_bytes"])],
    )
    gauge(
        "build_duration_seconds",
        "Duration of the build that published the site.",
        [("", stats["build_duration_seconds"])],
    )
    return "\n".join(lines) + "\n"
