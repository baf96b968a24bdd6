"""The NIST AI RMF evidence of one published version, by function: Map (lineage, intended use),
Measure (metrics and reports), Manage (status and lifecycle events), Govern (risk tier,
decision, review, signature). Each item points at where the registry keeps it."""

from __future__ import annotations

from typing import Any

from registry.build.catalog import Catalog, PublishedVersion

LIFECYCLE = ("ModelRegistered", "ModelVersioned", "ModelDeprecated", "ModelBlocked")


def governance(version: PublishedVersion) -> dict[str, Any]:
    """The decision, as validation computed it, plus the event that blocked the version."""
    decision = version.decision
    data: dict[str, Any] = (
        decision.to_json()
        if decision is not None
        else {"decision": "allow", "risk_tier": version.manifest.risk_tier, "review": None}
    )
    event = version.blocked_event
    data["blocked"] = (
        None
        if not version.blocked
        else {
            "reason": str(event.payload.get("reason"))
            if event
            else "; ".join(decision.reasons if decision else ()),
            "event": {"seq": event.seq, "hash": event.hash, "timestamp": event.timestamp}
            if event
            else None,
        }
    )
    return data


def signature(version: PublishedVersion) -> dict[str, Any]:
    result = version.signature
    return result.to_json() if result is not None else {"present": False, "verified": False}


def rmf_evidence(catalog: Catalog, version: PublishedVersion) -> dict[str, Any]:
    manifest = version.manifest
    lineage = manifest.lineage
    code = lineage.training_code if lineage else None
    events = catalog.events_of(version.name, version.version)
    decision = governance(version)
    signed = signature(version)
    return {
        "map": {
            "intended_use": manifest.intended_use,
            "base_model": manifest.base_model,
            "derived_versions": catalog.lineage.descendants(version.id),
            "datasets": [d.name for d in lineage.datasets] if lineage else [],
            "training_code": code.to_json() if code else None,
        },
        "measure": {
            "metrics": len(manifest.metrics),
            "evaluations": [r.path for r in version.reports if r.kind == "evaluation"],
            "drift_reports": [r.path for r in version.reports if r.kind == "drift"],
            "latest_drift_score": decision.get("figures", {}).get("drift_score"),
            "evaluation_passed": decision.get("figures", {}).get("evaluation_passed"),
        },
        "manage": {
            "status": version.status,
            "lifecycle_events": [
                {"seq": e.seq, "type": e.type, "timestamp": e.timestamp}
                for e in events
                if e.type in LIFECYCLE
            ],
            "deprecation": manifest.deprecation.to_json() if manifest.deprecation else None,
        },
        "govern": {
            "risk_tier": version.manifest.risk_tier,
            "decision": decision["decision"],
            "review": decision.get("review"),
            "signed_by": signed.get("identity") if signed.get("verified") else None,
            "signature_verified": bool(signed.get("verified")),
        },
    }


def rmf_supported(evidence: dict[str, Any]) -> bool:
    """Whether the record holds evidence for each NIST AI RMF function, so that an SBOM may
    state compliance: Map (the data the model comes from), Measure (a metric or an evaluation
    report), Govern (a recorded human review); Manage (status and events) is always kept."""
    measure = evidence["measure"]
    return (
        bool(evidence["map"]["datasets"])
        and bool(measure["metrics"] or measure["evaluations"])
        and evidence["govern"]["review"] is not None
    )
