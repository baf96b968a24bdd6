"""Where each manifest and record field goes in each SBOM, or why it cannot go anywhere.

One table, read three ways: scripts/sbom_mapping.py writes docs/reference/sbom-mapping.md from
it, and tests/test_sbom_mapping.py walks the manifest and record schemas
against it and checks, for a fully populated manifest, that each value arrives where a row says.

A target is either a locator into the document's JSON or, starting with `-`, the reason the
standard cannot hold the field. Locator steps are separated by dots: `key`, `key[]` (every item
of a list) or `key[field=value]` (the items whose field equals value); `a + b` names two places.
"""

from __future__ import annotations

from dataclasses import dataclass

# Short names for the places the rows name most.
_S2 = "packages[SPDXID=SPDXRef-Model]"
_S2_NOTE = f"{_S2}.annotations[].comment"
_S2_DATA = "packages[primaryPackagePurpose=OTHER]"
_S3 = "@graph[type=ai_AIPackage]"
_S3_NOTE = "@graph[type=Annotation].statement"
_S3_DATA = "@graph[type=dataset_DatasetPackage]"
_S3_LICENSE = "@graph[type=simplelicensing_LicenseExpression].simplelicensing_licenseExpression"
_CDX = "metadata.component"
_CARD = f"{_CDX}.modelCard"
_CARD_PROPS = f"{_CARD}.properties[].value"
_CDX_DATA = "components[type=data]"
_CONSIDER = f"{_CARD}.considerations"

_MANIFEST_FILE = "- a property of the manifest file, not of the model"
_NO_SIZE = "- the standard gives a package no byte size (the record's artifact.size holds it)"
_MAIN_FILE = (
    "- the SBOM describes the model by its main file's digest; each external data file's "
    "name, size and digest are in the record (artifact.external_data) and chunks.json"
)
_IDENTITY = (
    "- the identity a signing certificate must name; the record's signature section states "
    "whether model.sig verifies for it (an SBOM carries no verification result)"
)


@dataclass(frozen=True, slots=True)
class Row:
    field: str  # a manifest field (dotted, `[]` for list items, `*` for any key) or `record:...`
    spdx2: str
    spdx3: str
    cyclonedx: str

    def targets(self) -> dict[str, str]:
        return {"spdx2": self.spdx2, "spdx3": self.spdx3, "cyclonedx": self.cyclonedx}


def _nowhere(field: str, reason: str) -> Row:
    """A field none of the three standards can hold, for the same reason."""
    return Row(field, reason, reason, reason)


MANIFEST_ROWS = (
    _nowhere("schema_version", _MANIFEST_FILE),
    Row("model_name", f"{_S2}.name", f"{_S3}.name", f"{_CDX}.name"),
    Row("version", f"{_S2}.versionInfo", f"{_S3}.software_packageVersion", f"{_CDX}.version"),
    Row(
        "framework.name",
        f"{_S2_NOTE} + {_S2}.summary",
        f"{_S3_NOTE} + {_S3}.summary",
        f"{_CDX}.properties[name=modelreg:framework].value",
    ),
    Row(
        "framework.version",
        f"{_S2_NOTE} + {_S2}.summary",
        f"{_S3_NOTE} + {_S3}.summary",
        f"{_CDX}.properties[name=modelreg:framework].value",
    ),
    Row(
        "format",
        f"{_S2}.summary",
        f"{_S3}.summary",
        f"{_CDX}.properties[name=modelreg:format].value",
    ),
    Row(
        "artifact.path",
        f"{_S2}.packageFileName",
        "- an SPDX 3 package has no file name; its download location is content-addressed",
        "- a CycloneDX component has no file name; its distribution URL is content-addressed",
    ),
    Row(
        "artifact.url",
        f"{_S2}.downloadLocation",
        f"{_S3}.software_downloadLocation",
        f"{_CDX}.externalReferences[type=distribution].url",
    ),
    Row("artifact.sha256", f"{_S2}.checksums", f"{_S3}.verifiedUsing", f"{_CDX}.hashes"),
    _nowhere("artifact.size", _NO_SIZE),
    *(
        _nowhere(f"artifact.external_data[].{key}", _MAIN_FILE)
        for key in ("path", "sha256", "size", "url")
    ),
    *(
        Row(f"{kind}[].{key}", _S2_NOTE, _S3_NOTE, f"{_CARD}.modelParameters.{side}[].format")
        for kind, side in (("input_shape", "inputs"), ("output_schema", "outputs"))
        for key in ("name", "dtype", "shape")
    ),
    Row("license", f"{_S2}.licenseDeclared", _S3_LICENSE, f"{_CDX}.licenses"),
    Row(
        "intended_use",
        _S2_NOTE,
        f"{_S3}.ai_informationAboutApplication",
        f"{_CONSIDER}.useCases",
    ),
    Row("description", f"{_S2}.description", f"{_S3}.description", f"{_CDX}.description"),
    Row("publisher.name", f"{_S2}.supplier", "@graph[type=Organization].name", f"{_CDX}.supplier"),
    Row(
        "publisher.email",
        f"{_S2}.supplier",
        "@graph[type=Organization].externalIdentifier",
        f"{_CDX}.supplier.contact",
    ),
    Row("publisher.url", _S2_NOTE, _S3_NOTE, f"{_CDX}.supplier.url"),
    _nowhere("publisher.identity", _IDENTITY),
    Row("authors[].name", _S2_NOTE, "@graph[type=Person].name", f"{_CDX}.authors"),
    Row(
        "authors[].email",
        _S2_NOTE,
        "@graph[type=Person].externalIdentifier",
        f"{_CDX}.authors",
    ),
    Row(
        "lineage.base_model",
        "packages[SPDXID=SPDXRef-BaseModel]",
        "@graph[type=software_Package]",
        f"{_CDX}.pedigree.ancestors",
    ),
    Row("lineage.datasets[].name", f"{_S2_DATA}.name", f"{_S3_DATA}.name", f"{_CDX_DATA}.name"),
    Row(
        "lineage.datasets[].url",
        f"{_S2_DATA}.downloadLocation",
        f"{_S3_DATA}.software_downloadLocation",
        f"{_CDX_DATA}.externalReferences",
    ),
    Row(
        "lineage.datasets[].sha256",
        f"{_S2_DATA}.checksums",
        f"{_S3_DATA}.verifiedUsing",
        f"{_CDX_DATA}.hashes",
    ),
    Row(
        "lineage.datasets[].license",
        f"{_S2_DATA}.licenseDeclared",
        _S3_LICENSE,
        f"{_CDX_DATA}.licenses",
    ),
    Row(
        "lineage.datasets[].role",
        f"{_S2_DATA}.comment + relationships[relationshipType=GENERATED_FROM]",
        f"{_S3_DATA}.comment + @graph[relationshipType=trainedOn]",
        f"{_CDX_DATA}.properties",
    ),
    Row(
        "lineage.datasets[].description",
        f"{_S2_DATA}.description",
        f"{_S3_DATA}.description",
        f"{_CDX_DATA}.description",
    ),
    Row(
        "lineage.training_code.repository",
        f"{_S2}.sourceInfo",
        f"{_S3}.externalRef",
        f"{_CDX}.pedigree.commits",
    ),
    Row(
        "lineage.training_code.commit",
        f"{_S2}.sourceInfo",
        f"{_S3}.externalRef",
        f"{_CDX}.pedigree.commits",
    ),
    Row(
        "risk_tier",
        _S2_NOTE,
        f"{_S3_NOTE} + {_S3}.ai_safetyRiskAssessment",
        f"{_CDX}.properties[name=modelreg:risk_tier].value",
    ),
    *(
        Row(
            f"metrics[].{key}",
            _S2_NOTE,
            f"{_S3}.ai_metric",
            f"{_CARD}.quantitativeAnalysis.performanceMetrics",
        )
        for key in ("name", "value", "dataset", "split")
    ),
    Row("compatibility_matrix.*", _S2_NOTE, _S3_NOTE, _CARD_PROPS),
    *(
        Row(f"dependencies[].{key}", "packages[]", "@graph[type=software_Package]", "components[]")
        for key in ("name", "version", "purl")
    ),
    Row(
        "dependencies[].purpose",
        "relationships[]",
        "@graph[type=software_Package].comment + @graph[type=Relationship].relationshipType",
        "components[].properties",
    ),
    Row(
        "exported_at",
        f"{_S2}.builtDate",
        f"{_S3}.builtTime",
        f"{_CDX}.properties[name=modelreg:exported_at].value",
    ),
    Row("tags", _S2_NOTE, _S3_NOTE, f"{_CDX}.tags"),
    Row("status", _S2_NOTE, _S3_NOTE, f"{_CARD}.properties[name=modelreg:status].value"),
    *(
        Row(f"deprecation.{key}", _S2_NOTE, _S3_NOTE, _CARD_PROPS)
        for key in ("reason", "redirect_to", "effective_at")
    ),
    *(
        Row(f"governance.review.{key}", _S2_NOTE, _S3_NOTE, _CARD_PROPS)
        for key in ("approved_by", "approved_at", "ticket")
    ),
    *(
        Row(f"quantization_profile.{key}", _S2_NOTE, _S3_NOTE, _CARD_PROPS)
        for key in ("method", "calibration_dataset_hash")
    ),
    Row(
        "model_card.limitations",
        _S2_NOTE,
        f"{_S3}.ai_limitation",
        f"{_CONSIDER}.technicalLimitations",
    ),
    Row(
        "model_card.out_of_scope_uses",
        _S2_NOTE,
        f"{_S3}.ai_limitation",
        f"{_CONSIDER}.technicalLimitations",
    ),
    *(
        Row(
            f"model_card.training.{key}",
            _S2_NOTE,
            f"{_S3}.ai_informationAboutTraining",
            _CARD_PROPS,
        )
        for key in ("framework.name", "framework.version", "procedure", "hardware", "duration")
    ),
    Row(
        "model_card.training.hyperparameters.*",
        _S2_NOTE,
        f"{_S3}.ai_hyperparameter",
        _CARD_PROPS,
    ),
    *(
        Row(f"model_card.energy.{key}_kwh", _S2_NOTE, f"{_S3}.ai_energyConsumption", _CARD_PROPS)
        for key in ("training", "fine_tuning", "inference")
    ),
    Row("model_card.autonomy", _S2_NOTE, f"{_S3}.ai_autonomyType", _CARD_PROPS),
    Row(
        "model_card.sensitive_personal_information",
        _S2_NOTE,
        f"{_S3}.ai_useSensitivePersonalInformation",
        _CARD_PROPS,
    ),
    Row("model_card.explainability", _S2_NOTE, f"{_S3}.ai_modelExplainability", _CARD_PROPS),
    Row(
        "model_card.data_preprocessing",
        _S2_NOTE,
        f"{_S3}.ai_modelDataPreprocessing",
        _CARD_PROPS,
    ),
    *(
        Row(
            f"model_card.ethical_considerations[].{key}",
            _S2_NOTE,
            _S3_NOTE,
            f"{_CONSIDER}.ethicalConsiderations",
        )
        for key in ("name", "mitigation")
    ),
    *(
        Row(f"model_card.fairness[].{key}", _S2_NOTE, _S3_NOTE, f"{_CONSIDER}.fairnessAssessments")
        for key in ("group_at_risk", "benefits", "harms", "mitigation")
    ),
    Row("model_card.domain", _S2_NOTE, f"{_S3}.ai_domain", _CARD_PROPS),
    Row("model_card.task", _S2_NOTE, f"{_S3}.ai_typeOfModel", f"{_CARD}.modelParameters.task"),
    Row(
        "model_card.architecture",
        _S2_NOTE,
        f"{_S3}.ai_typeOfModel",
        f"{_CARD}.modelParameters.architectureFamily",
    ),
)

_IN_RECORD = "- {what}: the record (index.json) holds it"
_VERIFICATION = _IN_RECORD.format(what="a verification result, not a property of the model")

RECORD_ROWS = (
    Row("record:id", f"{_S2}.name + {_S2}.versionInfo", f"{_S3}.name", f"{_CDX}.name"),
    Row("record:name", f"{_S2}.name", f"{_S3}.name", f"{_CDX}.name"),
    Row(
        "record:version", f"{_S2}.versionInfo", f"{_S3}.software_packageVersion", f"{_CDX}.version"
    ),
    Row("record:digest", f"{_S2}.checksums", f"{_S3}.verifiedUsing", f"{_CDX}.hashes"),
    Row("record:status", _S2_NOTE, _S3_NOTE, f"{_CARD}.properties"),
    _nowhere(
        "record:aliases",
        _IN_RECORD.format(
            what="a movable pointer of the registry (aliases.yaml), not a property of the "
            "version: an SBOM of unchanged bytes must not change when `production` moves"
        ),
    ),
    Row(
        "record:artifact.href",
        f"{_S2}.downloadLocation",
        f"{_S3}.software_downloadLocation",
        f"{_CDX}.externalReferences",
    ),
    Row("record:artifact.sha256", f"{_S2}.checksums", f"{_S3}.verifiedUsing", f"{_CDX}.hashes"),
    _nowhere(
        "record:artifact.merkle_root",
        _IN_RECORD.format(what="the registry's own chunked-transfer digest"),
    ),
    Row("record:model_info.parameter_count", _S2_NOTE, _S3_NOTE, _CARD_PROPS),
    Row(
        "record:model_info.format_version", f"{_S2}.summary", f"{_S3}.summary", f"{_CDX}.properties"
    ),
    Row(
        "record:model_info.operators",
        f"{_S2_NOTE} (the architecture they reveal)",
        f"{_S3}.ai_typeOfModel (the architecture they reveal)",
        f"{_CARD}.modelParameters.architectureFamily (the architecture they reveal)",
    ),
    _nowhere(
        "record:model_info (opsets, signatures, custom ops, quantization, ...)",
        _IN_RECORD.format(what="format-specific detail of the file"),
    ),
    Row("record:governance.decision", _S2_NOTE, _S3_NOTE, _CARD_PROPS),
    Row("record:governance.reasons", _S2_NOTE, _S3_NOTE, _CARD_PROPS),
    Row(
        "record:governance.figures.drift_score",
        _S2_NOTE,
        f"{_S3}.ai_metric + {_S3}.ai_metricDecisionThreshold",
        _CARD_PROPS,
    ),
    _nowhere("record:signature", _VERIFICATION),
    Row(
        "record:history.published",
        f"{_S2}.releaseDate",
        f"{_S3}.releaseTime",
        "metadata.timestamp",
    ),
    Row(
        "record:history.updated",
        "creationInfo.created",
        "@graph[type=CreationInfo].created",
        "- CycloneDX has one document time; it states the release (metadata.timestamp)",
    ),
    _nowhere("record:history.events", _VERIFICATION),
    _nowhere("record:findings", _VERIFICATION),
    Row(
        "record:links",
        "documentNamespace",
        "@graph[type=SpdxDocument].spdxId",
        "serialNumber",
    ),
    Row("record:reports", _S2_NOTE, f"{_S3}.ai_metric", _CARD_PROPS),
    Row(
        "record:nist_ai_rmf",
        f"{_S2_NOTE} (standard compliance, only with evidence for Map, Measure and Govern)",
        f"{_S3}.ai_standardCompliance (only with evidence for Map, Measure and Govern)",
        f"{_CARD_PROPS} (standard_compliance, only with that evidence)",
    ),
)

ROWS = MANIFEST_ROWS + RECORD_ROWS


def is_reason(target: str) -> bool:
    return target.startswith("- ")
