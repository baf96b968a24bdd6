"""The manifest: loading, routing by schema_version, and the typed value the engine works with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from registry.findings import Finding, error
from registry.load.manifest_fields import (
    LEARNED_FROM,
    Author,
    Dependency,
    Deprecation,
    Lineage,
    ManifestStatus,
    Metric,
    ModelCard,
    Publisher,
    QuantizationProfile,
    Review,
    implied_role,
)
from registry.load.schemas import validate_against
from registry.load.yamlsafe import DEFAULT_MAX_BYTES, LoadedYaml, load_yaml_file
from registry.tensors import TensorSpec
from registry.versions import LATEST_SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS


@dataclass(frozen=True, slots=True)
class FileRef:
    path: str
    sha256: str
    size: int
    url: str | None = None  # external data of an artifact named by URL


@dataclass(frozen=True, slots=True)
class Artifact:
    sha256: str
    size: int
    path: str | None = None
    url: str | None = None
    external_data: tuple[FileRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest that passed its JSON Schema. `data` keeps every field as written."""

    file: Path
    schema_version: str
    model_name: str
    version: str
    format: str
    framework_name: str
    framework_version: str
    artifact: Artifact
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    license: str
    risk_tier: str
    status: ManifestStatus
    intended_use: str
    publisher: Publisher
    # Every field as written: what the record and the result cache keep, key by key.
    data: Mapping[str, Any] = field(repr=False)
    loaded: LoadedYaml = field(repr=False, compare=False)
    # Typed copies of the optional fields the stages read (registry.load.manifest_fields).
    description: str = ""
    tags: tuple[str, ...] = ()
    lineage: Lineage | None = None
    metrics: tuple[Metric, ...] = ()
    deprecation: Deprecation | None = None
    review: Review | None = None  # governance.review
    compatibility_matrix: Mapping[str, str] = field(default_factory=dict)
    dependencies: tuple[Dependency, ...] = ()
    authors: tuple[Author, ...] = ()
    exported_at: str | None = None  # RFC 3339, as written: when the file was built
    quantization_profile: QuantizationProfile | None = None
    model_card: ModelCard | None = None

    @property
    def id(self) -> str:
        return f"{self.model_name}@{self.version}"

    @property
    def base_model(self) -> str | None:
        return self.lineage.base_model if self.lineage else None

    @property
    def redirect_to(self) -> str | None:
        return self.deprecation.redirect_to if self.deprecation else None

    @property
    def folder(self) -> Path:
        return self.file.parent

    def field_position(self, *path: str | int) -> Any:
        return self.loaded.position(tuple(path))

    @classmethod
    def from_loaded(cls, file: Path, loaded: LoadedYaml) -> Manifest:
        data = loaded.data
        art = data["artifact"]
        lineage, deprecation = data.get("lineage"), data.get("deprecation")
        review = (data.get("governance") or {}).get("review")
        quantization, card = data.get("quantization_profile"), data.get("model_card")
        metrics = tuple(Metric.from_data(m) for m in data.get("metrics", ()))
        measured = frozenset(m.dataset for m in metrics if m.dataset is not None)
        artifact = Artifact(
            sha256=art["sha256"],
            size=art["size"],
            path=art.get("path"),
            url=art.get("url"),
            external_data=tuple(
                FileRef(e["path"], e["sha256"], e["size"], e.get("url"))
                for e in art.get("external_data", [])
            ),
        )
        return cls(
            file=file,
            schema_version=data["schema_version"],
            model_name=data["model_name"],
            version=data["version"],
            format=data["format"],
            framework_name=data["framework"]["name"],
            framework_version=data["framework"]["version"],
            artifact=artifact,
            inputs=tuple(TensorSpec.from_data(t) for t in data["input_shape"]),
            outputs=tuple(TensorSpec.from_data(t) for t in data["output_schema"]),
            license=data["license"],
            risk_tier=data["risk_tier"],
            status=data.get("status", "active"),
            intended_use=data["intended_use"],
            publisher=Publisher.from_data(data["publisher"]),
            description=data.get("description", ""),
            tags=tuple(data.get("tags", ())),
            lineage=Lineage.from_data(lineage, measured) if lineage is not None else None,
            metrics=metrics,
            deprecation=Deprecation.from_data(deprecation) if deprecation is not None else None,
            review=Review.from_data(review) if review is not None else None,
            compatibility_matrix=MappingProxyType(dict(data.get("compatibility_matrix") or {})),
            dependencies=tuple(Dependency.from_data(d) for d in data.get("dependencies", ())),
            authors=tuple(Author.from_data(a) for a in data.get("authors", ())),
            exported_at=data.get("exported_at"),
            quantization_profile=(
                QuantizationProfile.from_data(quantization) if quantization is not None else None
            ),
            model_card=ModelCard.from_data(card) if card is not None else None,
            data=MappingProxyType(data),
            loaded=loaded,
        )


def schema_for(loaded: LoadedYaml, display: str) -> tuple[str | None, list[Finding]]:
    """The schema file that `schema_version` routes to, or a finding saying why there is none."""
    version = loaded.data.get("schema_version")
    position = loaded.position(("schema_version",))
    supported = ", ".join(f'"{v}"' for v in SUPPORTED_SCHEMA_VERSIONS)
    if version is None:
        return None, [
            error(
                "schema.required",
                f"missing required field `schema_version`; add schema_version: "
                f'"{LATEST_SCHEMA_VERSION}" (supported: {supported})',
                display,
                position,
            )
        ]
    if not isinstance(version, str) and ("schema_version",) in loaded.plain_non_strings:
        text = loaded.plain_non_strings[("schema_version",)]
        return None, [
            error(
                "yaml.unquoted-scalar",
                f'schema_version `{text}` is not a string; quote it: schema_version: "{text}"',
                display,
                position,
            )
        ]
    if not isinstance(version, str):
        return None, [
            error(
                "schema.type",
                f'schema_version must be a string such as "{LATEST_SCHEMA_VERSION}"',
                display,
                position,
            )
        ]
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        return None, [
            error(
                "manifest.unknown-schema-version",
                f'unknown schema_version "{version}"; supported: {supported}',
                display,
                position,
            )
        ]
    return f"manifest/{version}.json", []


def load_manifest(
    path: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[Manifest | None, list[Finding]]:
    """Load and schema-check a manifest. The Manifest is None when any error was found."""
    loaded, findings = load_yaml_file(path, display, max_bytes)
    if loaded is None:
        return None, findings
    schema, findings = schema_for(loaded, display)
    if schema is None:
        return None, findings
    findings = validate_against(schema, loaded, display)
    if findings:
        return None, findings
    return Manifest.from_loaded(path, loaded), []


DATASET_PREFIX = "dataset:"


# For manifests read as plain, unvalidated data (the versions a manifest references, the
# lineage graph); a loaded Manifest has Manifest.lineage.
def base_model(data: Mapping[str, Any] | None) -> str | None:
    lineage = (data or {}).get("lineage")
    base = lineage.get("base_model") if isinstance(lineage, dict) else None
    return base if isinstance(base, str) else None


def plain_datasets(data: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """lineage.datasets of plain data: the entries that are mappings, as written."""
    lineage = (data or {}).get("lineage")
    datasets = lineage.get("datasets") if isinstance(lineage, dict) else None
    return [d for d in datasets if isinstance(d, dict)] if isinstance(datasets, list) else []


def measured_names(data: Mapping[str, Any] | None) -> set[object]:
    """The datasets the metrics of plain data name."""
    metrics = (data or {}).get("metrics")
    listed = metrics if isinstance(metrics, list) else []
    return {m.get("dataset") for m in listed if isinstance(m, dict)}


def dataset_names(data: Mapping[str, Any] | None) -> set[str]:
    return {d["name"] for d in plain_datasets(data) if isinstance(d.get("name"), str)}


def learned_from_names(data: Mapping[str, Any] | None) -> set[str]:
    """The datasets the model was trained or fine-tuned on (by role; before 1.2, the role
    implied_role gives): what the lineage graph draws as "trained on"."""
    measured = measured_names(data)
    return {
        name
        for entry in plain_datasets(data)
        if isinstance(name := entry.get("name"), str)
        and (entry.get("role") or implied_role(name, measured)) in LEARNED_FROM
    }
