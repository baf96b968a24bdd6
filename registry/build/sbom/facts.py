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
from registry.governance.policy import Verdict, VersionStatus
from registry.load.manifest_fields import Dataset, Dependency, Metric
from registry.tensors import TensorSpec

NIST_AI_RMF = "NIST AI RMF 1.0"
TOOL = f"modelreg-{__version__}"


@dataclass(frozen=True)
class SbomFacts:
    id: str
    name: str
    version: str
    sha256: str
    size: int
    filename: str
    download_url: str | None  # None: unknown (NOASSERTION)
    purl: str
    created: str  # RFC 3339 UTC, the commit that last changed the version
    registry_name: str
    publisher_name: str
    publisher_email: str | None
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
    model_types: tuple[str, ...]  # inferred from the operators the file uses
    framework: str
    tags: tuple[str, ...]
    metrics: tuple[Metric, ...]
    dependencies: tuple[Dependency, ...]
    datasets: tuple[Dataset, ...]
    # The datasets a metric names: with the evaluation sets, what the model was tested on.
    measured: frozenset[str]
    base_model: str | None
    base_model_url: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    document_url: dict[str, str]
    manifest_digest: str  # of the manifest's content: any metadata change gives new identifiers

    @property
    def governance_statement(self) -> str:
        """The risk assessment in one sentence, for annotations."""
        text = (
            f"risk_tier: {self.risk_tier} (governance per {NIST_AI_RMF}); "
            f"decision: {self.decision}; status: {self.status}"
        )
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


def model_types(operators: tuple[str, ...]) -> tuple[str, ...]:
    """The kind of model its operators reveal (the manifest has no such field), or none."""
    names = {op.rsplit(".", 1)[-1].rsplit("::", 1)[-1].lower() for op in operators}
    for markers, kind in _MODEL_TYPES:
        if names & set(markers):
            return (kind,)
    return ()


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
    declared = manifest.lineage.datasets if manifest.lineage else ()
    datasets = {d.name: d for d in declared}
    base = manifest.base_model
    base_version = catalog.find(base) if base else None
    info = version.model_info
    decision = version.decision
    figures = dict(decision.figures) if decision else {}
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
        registry_name=catalog.config.name,
        publisher_name=manifest.publisher.name,
        publisher_email=manifest.publisher.email,
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
        model_types=model_types(info.operators) if info else (),
        framework=f"{manifest.framework_name} {manifest.framework_version}",
        tags=manifest.tags,
        metrics=manifest.metrics,
        dependencies=manifest.dependencies,
        datasets=tuple(datasets.values()),
        measured=frozenset(m.dataset for m in manifest.metrics if m.dataset is not None),
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
