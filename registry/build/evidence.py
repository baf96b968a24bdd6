"""The NIST AI RMF evidence of one published version, by function: Map (lineage, intended use),
Measure (metrics and reports), Manage (status and lifecycle events), Govern (risk tier,
decision, review, signature). Each item points at where the registry keeps it."""

from __future__ import annotations

from typing import Any

from registry.build.catalog import Catalog, PublishedVersion
from registry.load.manifest import base_model

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
    data = version.manifest.data
    lineage = data.get("lineage") or {}
    events = catalog.events_of(version.name, version.version)
    decision = governance(version)
    signed = signature(version)
    return {
        "map": {
            "intended_use": data["intended_use"],
            "base_model": base_model(data),
            "derived_versions": catalog.lineage.descendants(version.id),
            "datasets": [d["name"] for d in lineage.get("datasets", [])],
            "training_code": lineage.get("training_code"),
        },
        "measure": {
            "metrics": len(data.get("metrics", [])),
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
            "deprecation": data.get("deprecation"),
        },
        "govern": {
            "risk_tier": version.manifest.risk_tier,
            "decision": decision["decision"],
            "review": decision.get("review"),
            "signed_by": signed.get("identity") if signed.get("verified") else None,
            "signature_verified": bool(signed.get("verified")),
        },
    }
