"""The optional parts of a manifest the stages read (publisher, lineage, metrics, deprecation,
review, dependencies), as frozen values the loader builds once from schema-validated data
(schema/manifest/1.*.json).

Readers use these attributes rather than string keys of `Manifest.data`, so that a misspelt or
renamed field is a type error instead of a silent None. `to_json` gives back the field as the
manifest wrote it (absent keys stay absent) wherever the site publishes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, Literal, Self

ManifestStatus = Literal["active", "deprecated"]
DependencyPurpose = Literal["runtime", "training", "export"]


class _Flat:
    """A field of scalar values, read from and written back to the manifest's mapping by the
    dataclass's own field names: a required one is read as data[name], an optional one as
    data.get(name); `to_json` leaves out what the manifest left out."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        values = {
            f.name: data[f.name] if f.default is MISSING else data.get(f.name, f.default)
            for f in fields(cls)  # type: ignore[arg-type]
        }
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        values = ((f.name, getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]
        return {name: value for name, value in values if value is not None}


@dataclass(frozen=True)
class Publisher(_Flat):
    name: str
    email: str | None = None
    url: str | None = None
    identity: str | None = None  # the email or URI a signing certificate must name


@dataclass(frozen=True)
class Dataset(_Flat):
    """A dataset lineage.datasets declares (what metrics and evaluations may name)."""

    name: str
    url: str | None = None
    sha256: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class TrainingCode(_Flat):
    repository: str
    commit: str


@dataclass(frozen=True)
class Lineage:
    base_model: str | None = None  # `name@version` of this registry
    datasets: tuple[Dataset, ...] = ()
    training_code: TrainingCode | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Lineage:
        code = data.get("training_code")
        return cls(
            base_model=data.get("base_model"),
            datasets=tuple(Dataset.from_data(d) for d in data.get("datasets", [])),
            training_code=TrainingCode.from_data(code) if code is not None else None,
        )

    @property
    def dataset_names(self) -> frozenset[str]:
        return frozenset(d.name for d in self.datasets)


@dataclass(frozen=True)
class Metric(_Flat):
    name: str
    value: int | float  # as written: an int stays an int (the SBOMs print it)
    dataset: str | None = None
    split: str | None = None


@dataclass(frozen=True)
class Deprecation(_Flat):
    reason: str
    effective_at: str  # RFC 3339 date or date-time, as written (semantics checks it)
    redirect_to: str | None = None  # `name@version` to use instead


@dataclass(frozen=True)
class Review(_Flat):
    """governance.review: the human review a risk tier may require."""

    approved_by: str
    approved_at: str  # RFC 3339 date or date-time, as written (semantics checks it)
    ticket: str | None = None


@dataclass(frozen=True)
class Dependency(_Flat):
    name: str
    version: str
    purpose: DependencyPurpose
    purl: str | None = None
