"""CycloneDX 1.6 JSON with a machine-learning-model component and its model card.

cyclonedx-python-lib builds the BOM but cannot emit `modelCard` yet, so the card is added to the
serialized document here. The build does not run the library's strict 1.6 JSON Schema validator
on every document (it cost more than building and writing it): the tests validate every kind of
document this module writes with that validator (tests/test_build_cold.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Commit, Component, ComponentType, Pedigree
from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity
from cyclonedx.model.license import LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from registry import __version__
from registry.build.sbom.facts import SbomFacts, card_statements, slug
from registry.load.manifest_fields import Dataset


def _purl(text: str | None) -> PackageURL | None:
    return PackageURL.from_string(text) if text else None


def _properties(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": f"modelreg:{name}", "value": value} for name, value in pairs]


def _considerations(facts: SbomFacts) -> dict[str, Any]:
    card = facts.card
    found: dict[str, Any] = {"useCases": [facts.intended_use]}
    limits = [text for text in (card.limitations,) if text]
    if card.out_of_scope_uses:
        limits.append(f"Out of scope: {card.out_of_scope_uses}")
    if limits:
        found["technicalLimitations"] = limits
    if card.ethical_considerations:
        found["ethicalConsiderations"] = [
            {"name": e.name, **({"mitigationStrategy": e.mitigation} if e.mitigation else {})}
            for e in card.ethical_considerations
        ]
    if card.fairness:
        found["fairnessAssessments"] = [
            {
                key: value
                for key, value in (
                    ("groupAtRisk", f.group_at_risk),
                    ("benefits", f.benefits),
                    ("harms", f.harms),
                    ("mitigationStrategy", f.mitigation),
                )
                if value
            }
            for f in card.fairness
        ]
    return found


def _card_properties(facts: SbomFacts) -> list[tuple[str, str]]:
    """What CycloneDX's model card has no field for, as modelreg: properties."""
    found = [
        ("risk_tier", facts.risk_tier),
        ("governance_decision", facts.decision),
        ("status", facts.status),
    ]
    found += [("standard_compliance", standard) for standard in facts.compliance]
    if facts.drift_score is not None:
        # The risk tier's threshold, beside the measurement it applies to.
        found += [
            ("drift_score", str(facts.drift_score)),
            ("drift_threshold", str(facts.drift_threshold)),
        ]
    if facts.governance:
        found.append(("governance", facts.governance))
    if facts.trained_with:
        found.append(("trained_with", facts.trained_with))
    if facts.parameter_count is not None:
        found.append(("parameter_count", str(facts.parameter_count)))
    if facts.quantization is not None:
        found += [
            ("quantization.method", facts.quantization.method),
            ("quantization.calibration_dataset_hash", facts.quantization.calibration_dataset_hash),
        ]
    found += [(f"compatibility.{runtime}", spec) for runtime, spec in facts.compatibility]
    found += [("record", text) for text in facts.record_statements]
    found += [
        (label, text)
        for label, text in card_statements(facts.card)
        if label
        not in ("limitations", "out_of_scope_uses", "task", "ethical_considerations", "fairness")
    ]
    found += [("license_conflict", text) for text in facts.license_conflicts]
    return found


def _model_card(facts: SbomFacts) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "inputs": [{"format": text} for text in facts.inputs],
        "outputs": [{"format": text} for text in facts.outputs],
    }
    if facts.architecture:
        parameters["architectureFamily"] = facts.architecture
    if facts.card.task:
        parameters["task"] = facts.card.task
    if facts.datasets:
        parameters["datasets"] = [{"ref": _dataset_ref(i, d)} for i, d in enumerate(facts.datasets)]
    card: dict[str, Any] = {
        "modelParameters": parameters,
        "considerations": _considerations(facts),
        "properties": _properties(_card_properties(facts)),
    }
    if facts.metrics:
        card["quantitativeAnalysis"] = {
            "performanceMetrics": [
                {
                    "type": m.name,
                    "value": str(m.value),
                    **(
                        {"slice": "/".join(p for p in (m.dataset, m.split) if p is not None)}
                        if m.dataset is not None or m.split is not None
                        else {}
                    ),
                }
                for m in facts.metrics
            ]
        }
    return card


def _dataset_ref(index: int, data: Dataset) -> str:
    return f"dataset-{index}-{slug(data.name)}"


def _datasets(facts: SbomFacts) -> list[Component]:
    """Each declared dataset as a data component, which the model card refers to."""
    return [
        Component(
            type=ComponentType.DATA,
            name=data.name,
            bom_ref=_dataset_ref(index, data),
            description=data.description,
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=data.sha256)]
            if data.sha256
            else None,
            licenses=[LicenseExpression(data.license)] if data.license else None,
            external_references=[
                ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(data.url))
            ]
            if data.url
            else None,
            properties=[Property(name="modelreg:role", value=str(data.role))],
        )
        for index, data in enumerate(facts.datasets)
    ]


def build_bom(facts: SbomFacts) -> Bom:
    released = dt.datetime.fromisoformat(facts.released.replace("Z", "+00:00"))
    dependencies = [
        Component(
            type=ComponentType.LIBRARY if dep.purpose == "runtime" else ComponentType.APPLICATION,
            name=dep.name,
            version=dep.version,
            purl=_purl(dep.purl),
            bom_ref=f"dependency-{index}-{dep.purpose}-{slug(dep.name)}",
            properties=[Property(name="modelreg:purpose", value=dep.purpose)],
        )
        for index, dep in enumerate(facts.dependencies)
    ]
    ancestors, commits = [], []
    if facts.base_model:
        name, _, version = facts.base_model.partition("@")
        ancestors.append(
            Component(
                type=ComponentType.MACHINE_LEARNING_MODEL,
                name=name,
                version=version,
                bom_ref=f"base-model-{slug(facts.base_model)}",
                description=f"base model {facts.base_model} (lineage.base_model)",
            )
        )
    if facts.training_code is not None:
        commits.append(
            Commit(
                uid=facts.training_code.commit,
                url=XsUri(facts.training_code.repository),
                message="the training code",
            )
        )
    pedigree = Pedigree(ancestors=ancestors, commits=commits) if ancestors or commits else None
    publisher = facts.publisher
    model = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=facts.name,
        version=facts.version,
        bom_ref="model",
        description=facts.description or None,
        supplier=OrganizationalEntity(
            name=publisher.name,
            urls=[XsUri(publisher.url)] if publisher.url else None,
            contacts=[OrganizationalContact(name=publisher.name, email=publisher.email)]
            if publisher.email
            else None,
        ),
        authors=[OrganizationalContact(name=a.name, email=a.email) for a in facts.authors],
        tags=facts.tags,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=facts.sha256)],
        licenses=[LicenseExpression(facts.license)],
        purl=_purl(facts.purl),
        external_references=[
            ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(url))
            for url in [facts.download_url]
            if url is not None
        ],
        properties=[
            Property(name="modelreg:risk_tier", value=facts.risk_tier),
            Property(name="modelreg:format", value=facts.format_detail),
            Property(name="modelreg:framework", value=facts.framework),
            Property(name="modelreg:intended_use", value=facts.intended_use),
            *([Property(name="modelreg:exported_at", value=facts.built)] if facts.built else []),
        ],
        pedigree=pedigree,
    )
    metadata = BomMetaData(timestamp=released, component=model)
    metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="modelreg", version=__version__)
    )
    datasets = _datasets(facts)
    bom = Bom(
        components=[*dependencies, *datasets],
        metadata=metadata,
        serial_number=facts.uuid("cdx"),
    )
    # A complete graph: the model depends on every component the BOM lists, the libraries it
    # runs with, the tools it was trained or exported with and the datasets its card names
    # (each component's modelreg:purpose or modelreg:role property says which), as CycloneDX's
    # ML-BOM examples link a model to its datasets. Each of those has no dependency of its own.
    bom.register_dependency(model, [*dependencies, *datasets])
    for component in (*dependencies, *datasets):
        bom.register_dependency(component)
    return bom


def render(facts: SbomFacts) -> str:
    serialized = JsonV1Dot6(build_bom(facts)).output_as_string()
    document = json.loads(serialized)
    document["metadata"]["component"]["modelCard"] = _model_card(facts)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
