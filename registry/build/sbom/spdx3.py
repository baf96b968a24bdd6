"""SPDX 3.0.1 JSON-LD with the AI profile, built with spdx-python-model."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from spdx_python_model import v3_0_1 as spdx

from registry.build.sbom.facts import NIST_AI_RMF, TOOL, SbomFacts, slug

NO_ASSERTION_LICENSE = "https://spdx.org/rdf/3.0.1/terms/ExpandedLicensing/NoAssertionLicense"
# The registry's risk tiers as the AI profile's safety risk assessment (EU AI Act style scale).
RISK = {
    "tier-1": spdx.ai_SafetyRiskAssessmentType.low,
    "tier-2": spdx.ai_SafetyRiskAssessmentType.medium,
    "tier-3": spdx.ai_SafetyRiskAssessmentType.high,
}


class _Graph:
    """Elements of one document, with identifiers under the document's namespace."""

    def __init__(self, facts: SbomFacts) -> None:
        self.namespace = f"{facts.document_url['spdx3']}#"
        self.created = dt.datetime.fromisoformat(facts.created.replace("Z", "+00:00"))
        self.tool = spdx.Tool(spdxId=self.iri("tool"), name=TOOL)
        registry = spdx.Organization(spdxId=self.iri("registry"), name=facts.registry_name)
        self.info = spdx.CreationInfo(
            specVersion="3.0.1",
            created=self.created,
            createdBy=[registry],
            createdUsing=[self.tool],
        )
        self.tool.creationInfo = self.info
        registry.creationInfo = self.info
        self.elements: list[Any] = [self.tool, registry]

    def iri(self, local: str) -> str:
        return self.namespace + slug(local)

    def add(self, element: Any) -> Any:
        self.elements.append(element)
        return element

    def relate(self, source: Any, kind: Any, targets: list[Any], local: str) -> None:
        self.add(
            spdx.Relationship(
                spdxId=self.iri(f"relationship-{local}"),
                creationInfo=self.info,
                from_=source,
                to=targets,
                relationshipType=kind,
            )
        )


def _model(graph: _Graph, facts: SbomFacts, publisher: Any) -> Any:
    properties: dict[str, Any] = {
        "spdxId": graph.iri("model"),
        "creationInfo": graph.info,
        "name": facts.name,
        "software_packageVersion": facts.version,
        "software_downloadLocation": facts.download_url or "NOASSERTION",
        "software_primaryPurpose": spdx.software_SoftwarePurpose.model,
        "suppliedBy": publisher,
        "releaseTime": graph.created,
        "verifiedUsing": [spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=facts.sha256)],
        "externalIdentifier": [
            spdx.ExternalIdentifier(
                externalIdentifierType=spdx.ExternalIdentifierType.packageUrl,
                identifier=facts.purl,
            )
        ],
        "ai_informationAboutApplication": facts.intended_use,
        "ai_safetyRiskAssessment": RISK[facts.risk_tier],
        "ai_standardCompliance": [NIST_AI_RMF],
        "summary": f"AI model trained with {facts.framework}",
    }
    if facts.description:
        properties["description"] = facts.description
    if facts.model_types:
        properties["ai_typeOfModel"] = list(facts.model_types)
    metrics = [(m.name, str(m.value)) for m in facts.metrics]
    if facts.drift_score is not None:
        metrics.append(("drift_score", str(facts.drift_score)))
    if metrics:
        properties["ai_metric"] = [spdx.DictionaryEntry(key=k, value=v) for k, v in metrics]
    # The risk tier's drift threshold: above it, the tier's governance action applies.
    properties["ai_metricDecisionThreshold"] = [
        spdx.DictionaryEntry(key="drift_score", value=str(facts.drift_threshold))
    ]
    if facts.tags:
        properties["ai_domain"] = list(facts.tags)
    return spdx.ai_AIPackage(**properties)


def build_objects(facts: SbomFacts) -> spdx.SHACLObjectSet:
    graph = _Graph(facts)
    publisher = graph.add(
        spdx.Organization(
            spdxId=graph.iri("publisher"), creationInfo=graph.info, name=facts.publisher_name
        )
    )
    model = graph.add(_model(graph, facts, publisher))
    declared = graph.add(
        spdx.simplelicensing_LicenseExpression(
            spdxId=graph.iri("license-declared"),
            creationInfo=graph.info,
            simplelicensing_licenseExpression=facts.license,
        )
    )
    graph.relate(model, spdx.RelationshipType.hasDeclaredLicense, [declared], "declared-license")
    graph.relate(
        model,
        spdx.RelationshipType.hasConcludedLicense,
        [NO_ASSERTION_LICENSE],
        "concluded-license",
    )
    graph.add(
        spdx.Annotation(
            spdxId=graph.iri("annotation-risk-tier"),
            creationInfo=graph.info,
            annotationType=spdx.AnnotationType.other,
            subject=model,
            statement=facts.governance_statement,
        )
    )
    trained: list[Any] = []
    tested: list[Any] = []
    for index, data in enumerate(facts.datasets):
        properties: dict[str, Any] = {
            "spdxId": graph.iri(f"dataset-{index}-{data.name}"),
            "creationInfo": graph.info,
            "name": data.name,
            "software_primaryPurpose": spdx.software_SoftwarePurpose.data,
            "dataset_datasetType": [spdx.dataset_DatasetType.other],
            "builtTime": graph.created,
            "releaseTime": graph.created,
            "software_downloadLocation": data.url or "NOASSERTION",
        }
        if data.sha256:
            properties["verifiedUsing"] = [
                spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=data.sha256)
            ]
        dataset = graph.add(spdx.dataset_DatasetPackage(**properties))
        if data.learned_from:
            trained.append(dataset)
        if facts.tested_on(data):
            tested.append(dataset)
    if trained:
        graph.relate(model, spdx.RelationshipType.trainedOn, trained, "trained-on")
    if tested:
        graph.relate(model, spdx.RelationshipType.testedOn, tested, "tested-on")
    runtime: list[Any] = []
    tools: list[Any] = []
    for index, dep in enumerate(facts.dependencies):
        properties = {
            "spdxId": graph.iri(f"dependency-{index}-{dep.purpose}-{dep.name}"),
            "creationInfo": graph.info,
            "name": dep.name,
            "software_packageVersion": dep.version,
            "software_primaryPurpose": (
                spdx.software_SoftwarePurpose.library
                if dep.purpose == "runtime"
                else spdx.software_SoftwarePurpose.application
            ),
        }
        if dep.purl:
            properties["software_packageUrl"] = dep.purl
        package = graph.add(spdx.software_Package(**properties))
        (runtime if dep.purpose == "runtime" else tools).append(package)
    if runtime:
        graph.relate(model, spdx.RelationshipType.dependsOn, runtime, "depends-on")
    if tools:
        graph.relate(model, spdx.RelationshipType.usesTool, tools, "uses-tool")
    if facts.base_model:
        name, _, version = facts.base_model.partition("@")
        base = graph.add(
            spdx.software_Package(
                spdxId=graph.iri("base-model"),
                creationInfo=graph.info,
                name=name,
                software_packageVersion=version,
                software_primaryPurpose=spdx.software_SoftwarePurpose.model,
                software_downloadLocation=facts.base_model_url or "NOASSERTION",
            )
        )
        graph.relate(model, spdx.RelationshipType.descendantOf, [base], "descendant-of")
    document = spdx.SpdxDocument(
        spdxId=graph.iri("document"),
        creationInfo=graph.info,
        name=f"SBOM of {facts.id}",
        rootElement=[model],
        element=list(graph.elements),
        profileConformance=[
            spdx.ProfileIdentifierType.core,
            spdx.ProfileIdentifierType.software,
            spdx.ProfileIdentifierType.ai,
            spdx.ProfileIdentifierType.dataset,
            spdx.ProfileIdentifierType.simpleLicensing,
        ],
    )
    return spdx.SHACLObjectSet([document, *graph.elements])


def render(facts: SbomFacts) -> str:
    data = spdx.JSONLDSerializer().serialize_data(build_objects(facts))
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
