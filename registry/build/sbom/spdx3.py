"""SPDX 3.0.1 JSON-LD with the AI profile, built with spdx-python-model."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from spdx_python_model import v3_0_1 as spdx

from registry.build.sbom.facts import (
    TOOL,
    SbomFacts,
    card_statements,
    hyperparameter_text,
    metric_label,
    slug,
)

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
        self.ids = {self.tool.spdxId, registry.spdxId}

    def iri(self, local: str) -> str:
        return self.namespace + slug(local)

    def add(self, element: Any) -> Any:
        # Identifiers come from names through slug(), which folds some apart (`a_b`, `a-b`): a
        # repeated one would merge two elements into one node of the graph.
        if element.spdxId in self.ids:
            raise ValueError(f"two SPDX 3 elements would be {element.spdxId}")
        self.ids.add(element.spdxId)
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


def _time(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _entries(pairs: Iterable[tuple[str, object]]) -> list[Any]:
    return [spdx.DictionaryEntry(key=key, value=str(value)) for key, value in pairs]


def _presence(value: bool | None) -> Any:
    return spdx.PresenceType.yes if value else spdx.PresenceType.no


def _kwh(value: float | None) -> list[Any]:
    if value is None:
        return []
    return [
        spdx.ai_EnergyConsumptionDescription(
            ai_energyQuantity=float(value), ai_energyUnit=spdx.ai_EnergyUnitType.kilowattHour
        )
    ]


def _card(facts: SbomFacts) -> dict[str, Any]:
    """The AI profile's properties the model card (schema 1.2) states."""
    card = facts.card
    properties: dict[str, Any] = {}
    limits = [text for text in (card.limitations,) if text]
    if card.out_of_scope_uses:
        limits.append(f"Out of scope: {card.out_of_scope_uses}")
    if limits:
        properties["ai_limitation"] = "\n\n".join(limits)
    training = card.training
    if training is not None:
        about = [
            f"{label}: {value}"
            for label, value in (
                ("Framework", training.framework),
                ("Procedure", training.procedure),
                ("Hardware", training.hardware),
                ("Duration", training.duration),
            )
            if value
        ]
        if about:
            properties["ai_informationAboutTraining"] = "\n".join(about)
        if training.hyperparameters:
            properties["ai_hyperparameter"] = _entries(
                (k, hyperparameter_text(v)) for k, v in sorted(training.hyperparameters.items())
            )
    if card.energy is not None:
        properties["ai_energyConsumption"] = spdx.ai_EnergyConsumption(
            ai_trainingEnergyConsumption=_kwh(card.energy.training_kwh),
            ai_finetuningEnergyConsumption=_kwh(card.energy.fine_tuning_kwh),
            ai_inferenceEnergyConsumption=_kwh(card.energy.inference_kwh),
        )
    if card.autonomy is not None:
        properties["ai_autonomyType"] = _presence(card.autonomy)
    if card.sensitive_personal_information is not None:
        properties["ai_useSensitivePersonalInformation"] = _presence(
            card.sensitive_personal_information
        )
    if card.explainability:
        properties["ai_modelExplainability"] = [card.explainability]
    if card.data_preprocessing:
        properties["ai_modelDataPreprocessing"] = list(card.data_preprocessing)
    if card.domain:
        properties["ai_domain"] = list(card.domain)
    return properties


def _model(graph: _Graph, facts: SbomFacts, publisher: Any, authors: list[Any]) -> Any:
    summary = f"AI model, {facts.format_detail}"
    properties: dict[str, Any] = {
        "spdxId": graph.iri("model"),
        "creationInfo": graph.info,
        "name": facts.name,
        "software_packageVersion": facts.version,
        "software_downloadLocation": facts.download_url or "NOASSERTION",
        "software_primaryPurpose": spdx.software_SoftwarePurpose.model,
        "suppliedBy": publisher,
        "releaseTime": _time(facts.released),
        "verifiedUsing": [spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=facts.sha256)],
        "externalIdentifier": [
            spdx.ExternalIdentifier(
                externalIdentifierType=spdx.ExternalIdentifierType.packageUrl,
                identifier=facts.purl,
            )
        ],
        "ai_informationAboutApplication": facts.intended_use,
        "ai_safetyRiskAssessment": RISK[facts.risk_tier],
        "summary": f"{summary}, trained with {facts.trained_with}"
        if facts.trained_with
        else summary,
        **_card(facts),
    }
    if authors:
        properties["originatedBy"] = authors
    if facts.built:
        properties["builtTime"] = _time(facts.built)
    if facts.compliance:
        properties["ai_standardCompliance"] = list(facts.compliance)
    if facts.description:
        properties["description"] = facts.description
    kinds = [kind for kind in (facts.architecture, facts.card.task) if kind]
    if kinds:
        properties["ai_typeOfModel"] = kinds
    metrics = [(metric_label(m), m.value) for m in facts.metrics]
    if facts.drift_score is not None:
        metrics.append(("drift_score", facts.drift_score))
        # The risk tier's threshold, beside the measurement it applies to.
        properties["ai_metricDecisionThreshold"] = _entries(
            [("drift_score", facts.drift_threshold)]
        )
    if metrics:
        properties["ai_metric"] = _entries(metrics)
    if facts.training_code is not None:
        properties["externalRef"] = [
            spdx.ExternalRef(
                externalRefType=spdx.ExternalRefType.vcs,
                locator=[facts.training_code.repository],
                comment=f"training code, commit {facts.training_code.commit}",
            )
        ]
    return spdx.ai_AIPackage(**properties)


def _agent(graph: _Graph, kind: Any, local: str, name: str, email: str | None) -> Any:
    properties: dict[str, Any] = {
        "spdxId": graph.iri(local),
        "creationInfo": graph.info,
        "name": name,
    }
    if email:
        properties["externalIdentifier"] = [
            spdx.ExternalIdentifier(
                externalIdentifierType=spdx.ExternalIdentifierType.email, identifier=email
            )
        ]
    return graph.add(kind(**properties))


def _statements(facts: SbomFacts) -> list[tuple[str, str]]:
    """What the AI profile has no property for, as (local id, statement) annotations."""
    found = [
        ("risk-tier", facts.governance_statement),
        ("framework", f"framework: {facts.framework}"),
    ]
    found += [(f"statement-{i}", text) for i, text in enumerate(facts.record_statements)]
    if facts.tags:
        found.append(("tags", "tags: " + ", ".join(facts.tags)))
    if facts.parameter_count is not None:
        found.append(("parameters", f"parameter_count: {facts.parameter_count}"))
    if facts.quantization is not None:
        found.append(
            (
                "quantization",
                f"quantization_profile: method {facts.quantization.method}, calibration data "
                f"{facts.quantization.calibration_dataset_hash}",
            )
        )
    for index, (runtime, spec) in enumerate(facts.compatibility):
        found.append((f"compatibility-{index}-{runtime}", f"compatible with {runtime} {spec}"))
    structured = [
        (label, text)
        for label, text in card_statements(facts.card)
        if label in ("ethical_considerations", "fairness")
    ]
    found += [(f"card-{i}", f"{label}: {text}") for i, (label, text) in enumerate(structured)]
    found += [(f"license-conflict-{i}", text) for i, text in enumerate(facts.license_conflicts)]
    if facts.publisher.url:
        found.append(("publisher-url", f"publisher web page: {facts.publisher.url}"))
    return found


def build_objects(facts: SbomFacts) -> spdx.SHACLObjectSet:
    graph = _Graph(facts)
    publisher = _agent(
        graph, spdx.Organization, "publisher", facts.publisher.name, facts.publisher.email
    )
    authors = [
        _agent(graph, spdx.Person, f"author-{index}-{author.name}", author.name, author.email)
        for index, author in enumerate(facts.authors)
    ]
    model = graph.add(_model(graph, facts, publisher, authors))
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
    for local, statement in _statements(facts):
        graph.add(
            spdx.Annotation(
                spdxId=graph.iri(f"annotation-{local}"),
                creationInfo=graph.info,
                annotationType=spdx.AnnotationType.other,
                subject=model,
                statement=statement,
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
            "software_downloadLocation": data.url or "NOASSERTION",
            "comment": f"role: {data.role}",
        }
        if data.description:
            properties["description"] = data.description
        if data.sha256:
            properties["verifiedUsing"] = [
                spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=data.sha256)
            ]
        dataset = graph.add(spdx.dataset_DatasetPackage(**properties))
        if data.license:
            license_ = graph.add(
                spdx.simplelicensing_LicenseExpression(
                    spdxId=graph.iri(f"license-dataset-{index}"),
                    creationInfo=graph.info,
                    simplelicensing_licenseExpression=data.license,
                )
            )
            graph.relate(
                dataset,
                spdx.RelationshipType.hasDeclaredLicense,
                [license_],
                f"dataset-{index}-license",
            )
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
            "comment": f"{dep.purpose} dependency",
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
                comment=f"base model {facts.base_model} (lineage.base_model)",
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
    return _object_set([document, *graph.elements])


def _object_set(objects: list[Any]) -> spdx.SHACLObjectSet:
    """The set the serializer writes, without the index SHACLObjectSet builds for queries: the
    serializer reads only `objects`, and the index (every object tested against each of the
    model's ~200 classes) cost more than serializing the document."""
    found = spdx.SHACLObjectSet()
    found.objects = set(objects)
    return found


def render(facts: SbomFacts) -> str:
    data = spdx.JSONLDSerializer().serialize_data(build_objects(facts))
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
