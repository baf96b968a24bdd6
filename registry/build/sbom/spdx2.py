"""SPDX 2.3 JSON, built and validated with spdx-tools."""

from __future__ import annotations

import datetime as dt
import functools
import io
import re

from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter
from spdx_tools.spdx.model.actor import Actor, ActorType
from spdx_tools.spdx.model.annotation import Annotation, AnnotationType
from spdx_tools.spdx.model.checksum import Checksum, ChecksumAlgorithm
from spdx_tools.spdx.model.document import CreationInfo, Document
from spdx_tools.spdx.model.extracted_licensing_info import ExtractedLicensingInfo
from spdx_tools.spdx.model.package import (
    ExternalPackageRef,
    ExternalPackageRefCategory,
    Package,
    PackagePurpose,
)
from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
from spdx_tools.spdx.validation.uri_validators import validate_download_location
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from registry.build.sbom.facts import TOOL, SbomFacts, card_statements, metric_label, slug

MODEL_ID = "SPDXRef-Model"
LICENSE_REF = re.compile(r"(?<![\w:-])LicenseRef-[A-Za-z0-9.-]+")
# Which SPDX 2.3 relationship a dependency has with the model, by its manifest `purpose`.
DEPENDENCY_RELATIONSHIPS = {
    "runtime": RelationshipType.RUNTIME_DEPENDENCY_OF,
    "training": RelationshipType.BUILD_DEPENDENCY_OF,
    "export": RelationshipType.BUILD_TOOL_OF,
}


def _time(timestamp: str) -> dt.datetime:
    # spdx-tools writes naive datetimes as UTC with a trailing Z.
    return dt.datetime.fromisoformat(timestamp).astimezone(dt.UTC).replace(tzinfo=None)


def download_location(url: str | None) -> str | SpdxNoAssertion:
    """spdx-tools' own URL rule decides; localhost or bare-IP URLs become NOASSERTION."""
    if url and not validate_download_location(url):
        return url
    return SpdxNoAssertion()


def build_document(facts: SbomFacts) -> Document:
    created = _time(facts.created)
    tool = Actor(ActorType.TOOL, TOOL)
    publisher = Actor(ActorType.ORGANIZATION, facts.publisher.name, facts.publisher.email)
    licensing = spdx_licensing  # spdx-tools' own instance: building one costs ~40 ms
    namespace = f"{facts.document_url['spdx']}/{facts.manifest_digest[:32]}"
    creation = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=facts.id,
        document_namespace=namespace,
        creators=[tool, Actor(ActorType.ORGANIZATION, facts.registry_name)],
        created=created,
        data_license="CC0-1.0",
        creator_comment=f"Published by the registry {facts.registry_name}.",
    )
    model = Package(
        spdx_id=MODEL_ID,
        name=facts.name,
        version=facts.version,
        file_name=facts.filename,
        download_location=download_location(facts.download_url),
        supplier=publisher,
        files_analyzed=False,
        checksums=[Checksum(ChecksumAlgorithm.SHA256, facts.sha256)],
        license_declared=licensing.parse(facts.license),
        license_concluded=SpdxNoAssertion(),
        external_references=[
            ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", facts.purl)
        ],
        primary_package_purpose=PackagePurpose.FILE,
        release_date=_time(facts.released),
        built_date=_time(facts.built) if facts.built else None,
        summary=f"AI model, {facts.format_detail}"
        + (f", trained with {facts.trained_with}" if facts.trained_with else ""),
        description=facts.description or None,
        source_info=(
            f"trained by the code at {facts.training_code.repository}, commit "
            f"{facts.training_code.commit}"
            if facts.training_code
            else None
        ),
        comment=f"Download: {facts.download_url or 'unknown'}",
    )
    packages = [model]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, MODEL_ID)]
    for index, dep in enumerate(facts.dependencies):
        dep_id = f"SPDXRef-Dependency-{index}-{dep.purpose}-{slug(dep.name)}"
        refs = (
            [ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", dep.purl)]
            if dep.purl
            else []
        )
        packages.append(
            Package(
                dep_id,
                dep.name,
                SpdxNoAssertion(),
                version=dep.version,
                files_analyzed=False,
                external_references=refs,
                comment=f"{dep.purpose} dependency",
            )
        )
        relationships.append(Relationship(dep_id, DEPENDENCY_RELATIONSHIPS[dep.purpose], MODEL_ID))
    for index, data in enumerate(facts.datasets):
        data_id = f"SPDXRef-Dataset-{index}-{slug(data.name)}"
        packages.append(
            Package(
                data_id,
                data.name,
                download_location(data.url),
                files_analyzed=False,
                checksums=[Checksum(ChecksumAlgorithm.SHA256, data.sha256)] if data.sha256 else [],
                license_declared=licensing.parse(data.license) if data.license else None,
                primary_package_purpose=PackagePurpose.OTHER,
                description=data.description,
                comment=f"dataset, role: {data.role}",
            )
        )
        if data.learned_from:
            relationships.append(
                Relationship(
                    MODEL_ID, RelationshipType.GENERATED_FROM, data_id, comment="trained on"
                )
            )
        if facts.tested_on(data):
            relationships.append(
                Relationship(
                    data_id, RelationshipType.TEST_OF, MODEL_ID, comment="the model is tested on it"
                )
            )
    if facts.base_model:
        name, _, version = facts.base_model.partition("@")
        packages.append(
            Package(
                "SPDXRef-BaseModel",
                name,
                download_location(facts.base_model_url),
                version=version,
                files_analyzed=False,
                comment=f"base model {facts.base_model} (lineage.base_model)",
            )
        )
        relationships.append(
            Relationship(MODEL_ID, RelationshipType.DESCENDANT_OF, "SPDXRef-BaseModel")
        )
    annotations = [
        Annotation(MODEL_ID, AnnotationType.OTHER, tool, created, statement)
        for statement in _statements(facts)
    ]
    return Document(
        creation,
        packages=packages,
        relationships=relationships,
        annotations=annotations,
        extracted_licensing_info=_license_refs(facts),
    )


def _statements(facts: SbomFacts) -> list[str]:
    """What SPDX 2.3 has no field for, one annotation each ("field: value")."""
    card = facts.card
    found = [
        f"intended_use: {facts.intended_use}",
        facts.governance_statement,
        f"framework: {facts.framework}",
        *facts.record_statements,
    ]
    found += [f"author: {a.name}" + (f" <{a.email}>" if a.email else "") for a in facts.authors]
    if facts.publisher.url:
        found.append(f"publisher web page: {facts.publisher.url}")
    found += [f"metric {metric_label(m)} = {m.value}" for m in facts.metrics]
    if facts.drift_score is not None:
        found.append(
            f"drift_score {facts.drift_score}; the {facts.risk_tier} threshold is "
            f"{facts.drift_threshold}"
        )
    if facts.compliance:
        found.append("standard compliance: " + ", ".join(facts.compliance))
    if facts.architecture:
        found.append(f"architecture: {facts.architecture}")
    if facts.tags:
        found.append("tags: " + ", ".join(facts.tags))
    if facts.parameter_count is not None:
        found.append(f"parameter_count: {facts.parameter_count}")
    if facts.quantization is not None:
        found.append(
            f"quantization_profile: method {facts.quantization.method}, calibration data "
            f"{facts.quantization.calibration_dataset_hash}"
        )
    found += [f"compatible with {runtime} {spec}" for runtime, spec in facts.compatibility]
    found += [f"{label}: {text}" for label, text in card_statements(card)]
    found += [f"license conflict: {text}" for text in facts.license_conflicts]
    return found


def _license_refs(facts: SbomFacts) -> list[ExtractedLicensingInfo]:
    """SPDX 2.3 wants the text of every LicenseRef- it mentions; the manifest has only the id."""
    expressions = [facts.license, *(d.license for d in facts.datasets if d.license)]
    references = sorted({ref for text in expressions for ref in LICENSE_REF.findall(text)})
    return [
        ExtractedLicensingInfo(
            license_id=ref,
            extracted_text="NOASSERTION: a license of the publisher's own; its text is not "
            "part of the registry",
            license_name=ref.removeprefix("LicenseRef-"),
        )
        for ref in references
    ]


@functools.cache
def _converter() -> DocumentConverter:
    """spdx-tools' converter holds no state of a document: one for every document."""
    return DocumentConverter()  # type: ignore[no-untyped-call]


def render(facts: SbomFacts) -> str:
    """The document as JSON, written by spdx-tools. Not validated at every build (that cost as
    much as writing it): the tests run spdx-tools' validator on every kind of document this
    module writes (tests/test_build_cold.py). No duplicates to drop either (spdx-tools
    would deep-copy the document to look for them): every list it would look into (creators,
    checksums, external references of a package) is built here with one entry, or distinct ones."""
    stream = io.StringIO()
    document = build_document(facts)
    write_document_to_stream(
        document, stream, validate=False, converter=_converter(), drop_duplicates=False
    )
    return stream.getvalue() + "\n"
