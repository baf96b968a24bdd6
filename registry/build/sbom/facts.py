"""What every SBOM says about a version, computed once: identifiers, times, URLs, references."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass

from packageurl import PackageURL

from registry import __version__
from registry.build import paths
from registry.build.catalog import Catalog, PublishedVersion
from registry.build.evidence import rmf_evidence, rmf_supported
from registry.governance.licenses import dataset_conflicts
from registry.governance.policy import Verdict, VersionStatus
from registry.load.manifest import Manifest
from registry.load.manifest_fields import (
    Author,
    Dataset,
    Dependency,
    Hyperparameter,
    Metric,
    ModelCard,
    Publisher,
    QuantizationProfile,
    TrainingCode,
)
from registry.tensors import TensorSpec
from registry.times import utc

NIST_AI_RMF = "NIST AI RMF 1.0"
TOOL = f"modelreg-{__version__}"


@dataclass(frozen=True, slots=True)
class SbomFacts:
    """What the three SBOMs say, each value only where the record establishes it."""

    id: str
    name: str
    version: str
    sha256: str
    size: int
    filename: str
    download_url: str | None  # None: unknown (NOASSERTION)
    purl: str
    created: str  # RFC 3339 UTC: when the document's content last changed (its last commit)
    released: str  # RFC 3339 UTC: the version's first publication (its registration event)
    built: str | None  # exported_at: when the file was built, when the manifest says
    registry_name: str
    publisher: Publisher
    authors: tuple[Author, ...]
    license: str
    intended_use: str
    description: str
    risk_tier: str
    status: VersionStatus
    decision: Verdict  # the governance decision
    governance: str  # the decision's reasons, in words
    drift_score: float | None  # the latest drift measurement
    drift_threshold: float  # of the risk tier: above it, the tier's action applies
    format: str
    format_detail: str
    architecture: str | None  # model_card.architecture, or inferred from the operators
    framework: str  # `framework`, as written: the training framework or the export format
    trained_with: str | None  # the training framework, when the manifest establishes it
    compliance: tuple[str, ...]  # standards the record holds the evidence for
    tags: tuple[str, ...]
    metrics: tuple[Metric, ...]
    dependencies: tuple[Dependency, ...]
    datasets: tuple[Dataset, ...]
    # The datasets a metric names: with the evaluation sets, what the model was tested on.
    measured: frozenset[str]
    training_code: TrainingCode | None
    quantization: QuantizationProfile | None
    compatibility: tuple[tuple[str, str], ...]  # compatibility_matrix: runtime -> specifier
    parameter_count: int | None  # counted in the file; None when not inspected
    card: ModelCard
    license_conflicts: tuple[str, ...]  # license.dataset-conflict messages
    # The interface, deprecation and review in words (no SBOM field of their own in SPDX).
    record_statements: tuple[str, ...]
    base_model: str | None
    base_model_url: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    document_url: dict[str, str]
    manifest_digest: str  # of the manifest's content: any metadata change gives new identifiers

    @property
    def governance_statement(self) -> str:
        """The risk assessment in one sentence, for annotations."""
        text = f"risk_tier: {self.risk_tier}; decision: {self.decision}; status: {self.status}"
        return f"{text}; {self.governance}" if self.governance else text

    def tested_on(self, dataset: Dataset) -> bool:
        return dataset.role == "evaluation" or dataset.name in self.measured

    def uuid(self, kind: str) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"{self.document_url[kind]}#{self.manifest_digest}")


# Operators that say what kind of network a model is, most specific first.
_MODEL_TYPES = (
    (("attention", "multiheadattention", "softmax_cross"), "transformer"),
    (
        ("lstm", "gru", "rnn", "lstm_cell", "unidirectional_sequence_lstm"),
        "recurrent neural network",
    ),
    (("conv", "conv_2d", "depthwise_conv_2d", "conv1d", "conv2d"), "convolutional neural network"),
    (("linearclassifier", "linearregressor", "svmclassifier"), "linear model"),
    (("treeensembleclassifier", "treeensembleregressor"), "tree ensemble"),
    (("gemm", "matmul", "fully_connected", "linear"), "feed-forward neural network"),
)


def inferred_architecture(operators: tuple[str, ...]) -> str | None:
    """The architecture family its operators reveal, or None."""
    names = {op.rsplit(".", 1)[-1].rsplit("::", 1)[-1].lower() for op in operators}
    for markers, kind in _MODEL_TYPES:
        if names & set(markers):
            return kind
    return None


# `framework.name` values that name an export format rather than what the model was trained with.
EXPORT_FORMATS = frozenset({"onnx", "tflite", "litert", "tensorflow-lite", "torchscript"})


def trained_with(manifest: Manifest) -> str | None:
    """The training framework: model_card.training.framework, else `framework` unless it is
    only the export format (then the manifest does not say)."""
    training = manifest.model_card.training if manifest.model_card else None
    if training is not None and training.framework is not None:
        return str(training.framework)
    if manifest.framework_name.lower() in EXPORT_FORMATS | {manifest.format.lower()}:
        return None
    return f"{manifest.framework_name} {manifest.framework_version}"


def slug(text: str) -> str:
    """Letters, digits, `.` and `-` only: safe inside SPDX identifiers and bom-refs."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "x"


def _tensor(spec: TensorSpec) -> str:
    shape = spec.shape
    dims = "?" if shape is None else ",".join("?" if d is None else str(d) for d in shape)
    return f"{spec.name}: {spec.dtype}[{dims}]"


def collect(catalog: Catalog, version: PublishedVersion) -> SbomFacts:
    manifest = version.manifest
    commit = version.history.updated or catalog.commit
    created = commit.timestamp if commit else catalog.generated_at
    first = version.history.published
    datasets = manifest.lineage.datasets if manifest.lineage else ()
    base = manifest.base_model
    base_version = catalog.find(base) if base else None
    info = version.model_info
    decision = version.decision
    figures = dict(decision.figures) if decision else {}
    card = manifest.model_card or ModelCard()
    filename = manifest.artifact.path or manifest.artifact.url or "model"
    canonical = json.dumps(
        dict(manifest.data), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    base_url = catalog.config.base_url
    return SbomFacts(
        id=version.id,
        name=version.name,
        version=version.version,
        sha256=manifest.artifact.sha256,
        size=manifest.artifact.size,
        filename=filename.rsplit("/", 1)[-1],
        download_url=catalog.artifact_url(
            version, manifest.artifact.path, manifest.artifact.sha256
        ),
        purl=PackageURL(
            type="generic",
            name=version.name,
            version=version.version,
            qualifiers={"checksum": f"sha256:{manifest.artifact.sha256}"},
        ).to_string(),
        created=created,
        released=first.timestamp if first else created,
        built=utc(manifest.exported_at) if manifest.exported_at else None,
        registry_name=catalog.config.name,
        publisher=manifest.publisher,
        authors=manifest.authors,
        license=manifest.license,
        intended_use=manifest.intended_use,
        description=manifest.description,
        risk_tier=manifest.risk_tier,
        status=version.status,
        decision=decision.decision if decision else "allow",
        governance="; ".join(decision.reasons) if decision and decision.reasons else "",
        drift_score=figures.get("drift_score"),
        drift_threshold=catalog.config.governance.tiers[manifest.risk_tier].drift_threshold,
        format=manifest.format,
        format_detail=f"{manifest.format} ({info.format_version})" if info else manifest.format,
        architecture=card.architecture or (inferred_architecture(info.operators) if info else None),
        framework=f"{manifest.framework_name} {manifest.framework_version}",
        trained_with=trained_with(manifest),
        compliance=(NIST_AI_RMF,) if rmf_supported(rmf_evidence(catalog, version)) else (),
        tags=manifest.tags,
        metrics=manifest.metrics,
        dependencies=manifest.dependencies,
        datasets=datasets,
        measured=frozenset(m.dataset for m in manifest.metrics if m.dataset is not None),
        training_code=manifest.lineage.training_code if manifest.lineage else None,
        quantization=manifest.quantization_profile,
        compatibility=tuple(sorted(manifest.compatibility_matrix.items())),
        parameter_count=info.parameter_count if info else None,
        card=card,
        license_conflicts=tuple(
            conflict.message for conflict in dataset_conflicts(manifest.license, datasets)
        ),
        record_statements=tuple(_record_statements(manifest)),
        base_model=base,
        base_model_url=(
            base_url + paths.version_json(base_version.name, base_version.version)
            if base_version
            else None
        ),
        inputs=tuple(_tensor(t) for t in manifest.inputs),
        outputs=tuple(_tensor(t) for t in manifest.outputs),
        document_url={
            kind: base_url + paths.sbom(version.name, version.version, kind)
            for kind in paths.SBOM_FILES
        },
        manifest_digest=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def metric_label(metric: Metric) -> str:
    """A metric's name with where it was measured: `accuracy on iris/test`."""
    where = "/".join(p for p in (metric.dataset, metric.split) if p is not None)
    return f"{metric.name} on {where}" if where else metric.name


def _record_statements(manifest: Manifest) -> list[str]:
    found = [f"input {_tensor(t)}" for t in manifest.inputs]
    found += [f"output {_tensor(t)}" for t in manifest.outputs]
    if manifest.deprecation is not None:
        deprecation = manifest.deprecation
        text = f"deprecated from {deprecation.effective_at}: {deprecation.reason}"
        found.append(text + (f"; use {deprecation.redirect_to}" if deprecation.redirect_to else ""))
    if manifest.review is not None:
        review = manifest.review
        text = f"reviewed by {review.approved_by} on {review.approved_at}"
        found.append(text + (f" (ticket {review.ticket})" if review.ticket else ""))
    return found


def hyperparameter_text(value: Hyperparameter) -> str:
    """As YAML and JSON write it: true, not Python's True."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def card_statements(card: ModelCard) -> list[tuple[str, str]]:
    """The model card as (field, text) pairs, for documents that have no field of their own
    for it (SPDX 2.3 annotations, CycloneDX properties)."""
    found: list[tuple[str, str]] = []
    training = card.training
    for label, value in (
        ("limitations", card.limitations),
        ("out_of_scope_uses", card.out_of_scope_uses),
        ("training.framework", training.framework if training else None),
        ("training.procedure", training.procedure if training else None),
        ("training.hardware", training.hardware if training else None),
        ("training.duration", training.duration if training else None),
        ("explainability", card.explainability),
        ("task", card.task),
    ):
        if value:
            found.append((label, str(value)))
    if training is not None:
        found += [
            (f"training.hyperparameters.{k}", hyperparameter_text(v))
            for k, v in sorted(training.hyperparameters.items())
        ]
    if card.energy is not None:
        for label, kwh in (
            ("training", card.energy.training_kwh),
            ("fine_tuning", card.energy.fine_tuning_kwh),
            ("inference", card.energy.inference_kwh),
        ):
            if kwh is not None:
                found.append((f"energy.{label}_kwh", f"{kwh}"))
    for label, flag in (
        ("autonomy", card.autonomy),
        ("sensitive_personal_information", card.sensitive_personal_information),
    ):
        if flag is not None:
            found.append((label, "yes" if flag else "no"))
    found += [("data_preprocessing", step) for step in card.data_preprocessing]
    found += [("domain", domain) for domain in card.domain]
    for risk in card.ethical_considerations:
        text = risk.name + (f"; mitigation: {risk.mitigation}" if risk.mitigation else "")
        found.append(("ethical_considerations", text))
    for item in card.fairness:
        parts = [f"group at risk: {item.group_at_risk}"] + [
            f"{label}: {value}"
            for label, value in (
                ("benefits", item.benefits),
                ("harms", item.harms),
                ("mitigation", item.mitigation),
            )
            if value
        ]
        found.append(("fairness", "; ".join(parts)))
    return found
