"""CycloneDX 1.6 JSON with a machine-learning-model component and its model card.

cyclonedx-python-lib builds the BOM but cannot emit `modelCard` yet, so the card is added to the
serialized document here, and the whole document is checked with the library's strict 1.6 JSON
validator.
"""

from __future__ import annotations

import datetime as dt
import functools
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
from cyclonedx.model.component import Component, ComponentType, Pedigree
from cyclonedx.model.contact import OrganizationalEntity
from cyclonedx.model.license import LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from registry.build.sbom.facts import NIST_AI_RMF, SbomFacts, slug


class InvalidBom(ValueError):
    """The strict CycloneDX 1.6 validator refused a document this module wrote (a bug)."""


def _purl(text: str | None) -> PackageURL | None:
    return PackageURL.from_string(text) if text else None


def _model_card(facts: SbomFacts) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "modelArchitecture": facts.format_detail,
        "inputs": [{"format": text} for text in facts.inputs],
        "outputs": [{"format": text} for text in facts.outputs],
    }
    datasets = []
    for data in facts.datasets:
        entry: dict[str, Any] = {"type": "dataset", "name": data.name}
        if data.url:
            entry["contents"] = {"url": data.url}
        datasets.append(entry)
    if datasets:
        parameters["datasets"] = datasets
    card: dict[str, Any] = {
        "modelParameters": parameters,
        "considerations": {"useCases": [facts.intended_use]},
        "properties": [
            {"name": "modelreg:risk_tier", "value": facts.risk_tier},
            {"name": "modelreg:standard_compliance", "value": NIST_AI_RMF},
            {"name": "modelreg:governance_decision", "value": facts.decision},
            {"name": "modelreg:status", "value": facts.status},
            {"name": "modelreg:drift_threshold", "value": str(facts.drift_threshold)},
            *(
                [{"name": "modelreg:drift_score", "value": str(facts.drift_score)}]
                if facts.drift_score is not None
                else []
            ),
            *(
                [{"name": "modelreg:governance", "value": facts.governance}]
                if facts.governance
                else []
            ),
        ],
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


def build_bom(facts: SbomFacts) -> Bom:
    created = dt.datetime.fromisoformat(facts.created.replace("Z", "+00:00"))
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
    pedigree = None
    if facts.base_model:
        name, _, version = facts.base_model.partition("@")
        pedigree = Pedigree(
            ancestors=[
                Component(
                    type=ComponentType.MACHINE_LEARNING_MODEL,
                    name=name,
                    version=version,
                    bom_ref=f"base-model-{slug(facts.base_model)}",
                )
            ]
        )
    model = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=facts.name,
        version=facts.version,
        bom_ref="model",
        description=facts.description or None,
        supplier=OrganizationalEntity(name=facts.publisher_name),
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
            Property(name="modelreg:format", value=facts.format),
            Property(name="modelreg:intended_use", value=facts.intended_use),
        ],
        pedigree=pedigree,
    )
    bom = Bom(
        components=dependencies,
        metadata=BomMetaData(timestamp=created, component=model),
        serial_number=facts.uuid("cdx"),
    )
    runtime = [c for c in dependencies if c.type is ComponentType.LIBRARY]
    bom.register_dependency(model, runtime)
    return bom


@functools.cache
def _validator() -> JsonStrictValidator:
    return JsonStrictValidator(SchemaVersion.V1_6)  # loads and compiles the 1.6 schema once


def render(facts: SbomFacts) -> str:
    document = json.loads(JsonV1Dot6(build_bom(facts)).output_as_string())
    document["metadata"]["component"]["modelCard"] = _model_card(facts)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    problem = _validator().validate_str(text)
    if problem is not None:
        reason = getattr(problem.data, "message", str(problem))
        raise InvalidBom(f"CycloneDX 1.6 validation failed for {facts.id}: {reason}")
    return text
