"""The optional parts of a manifest the stages read (publisher, lineage, metrics, deprecation,
review, dependencies), as frozen values the loader builds once from schema-validated data
(schema/manifest/1.*.json).

Readers use these attributes rather than string keys of `Manifest.data`, so that a misspelt or
renamed field is a type error instead of a silent None. `to_json` gives back the field as the
manifest wrote it (absent keys stay absent) wherever the site publishes it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Literal, Self

# Fields that may never change once a version is merged (DESIGN.md); the rest may, as events.
IMMUTABLE_FIELDS = frozenset(
    {"model_name", "version", "format", "framework", "artifact", "input_shape", "output_schema"}
)

ManifestStatus = Literal["active", "deprecated"]
DependencyPurpose = Literal["runtime", "training", "export"]
# What the model did with a dataset (lineage.datasets[].role, schema 1.2).
DatasetRole = Literal["training", "fine-tuning", "validation", "evaluation"]
# The roles whose datasets the model learned from: the only ones published as "trained on".
LEARNED_FROM: tuple[DatasetRole, ...] = ("training", "fine-tuning")


def implied_role(name: object, measured: Collection[object]) -> DatasetRole:
    """The role a manifest before 1.2 implies for a dataset it declares: an evaluation set if
    a metric names it, else a training set (the loader, the lineage graph and migrate agree)."""
    return "evaluation" if name in measured else "training"


class _Flat:
    """A field of scalar values, read from and written back to the manifest's mapping by the
    dataclass's own field names: a required one is read as data[name], an optional one as
    data.get(name); `to_json` leaves out what the manifest left out."""

    __slots__ = ()  # the slotted dataclasses below would otherwise still carry a __dict__

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


@dataclass(frozen=True, slots=True)
class Publisher(_Flat):
    name: str
    email: str | None = None
    url: str | None = None
    identity: str | None = None  # the email or URI a signing certificate must name


@dataclass(frozen=True, slots=True)
class Dataset(_Flat):
    """A dataset lineage.datasets declares (what metrics and evaluations may name)."""

    name: str
    url: str | None = None
    sha256: str | None = None
    license: str | None = None
    role: DatasetRole | None = None  # None only before Lineage.from_data settles it (< 1.2)
    description: str | None = None

    @property
    def learned_from(self) -> bool:
        """Whether the model was trained or fine-tuned on it."""
        return self.role in LEARNED_FROM


@dataclass(frozen=True, slots=True)
class TrainingCode(_Flat):
    repository: str
    commit: str


@dataclass(frozen=True, slots=True)
class Lineage:
    base_model: str | None = None  # `name@version` of this registry
    datasets: tuple[Dataset, ...] = ()
    training_code: TrainingCode | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any], measured: frozenset[str] = frozenset()) -> Lineage:
        """`measured`: the datasets metrics name. A manifest before 1.2 states no role: a
        dataset a metric names is an evaluation set, any other a training set."""
        code = data.get("training_code")
        datasets = []
        for entry in data.get("datasets", []):
            dataset = Dataset.from_data(entry)
            if dataset.role is None:
                dataset = replace(dataset, role=implied_role(dataset.name, measured))
            datasets.append(dataset)
        return cls(
            base_model=data.get("base_model"),
            datasets=tuple(datasets),
            training_code=TrainingCode.from_data(code) if code is not None else None,
        )

    @property
    def dataset_names(self) -> frozenset[str]:
        return frozenset(d.name for d in self.datasets)


@dataclass(frozen=True, slots=True)
class Metric(_Flat):
    name: str
    value: int | float  # as written: an int stays an int (the SBOMs print it)
    dataset: str | None = None
    split: str | None = None


@dataclass(frozen=True, slots=True)
class Deprecation(_Flat):
    reason: str
    effective_at: str  # RFC 3339 date or date-time, as written (semantics checks it)
    redirect_to: str | None = None  # `name@version` to use instead


@dataclass(frozen=True, slots=True)
class Review(_Flat):
    """governance.review: the human review a risk tier may require."""

    approved_by: str
    approved_at: str  # RFC 3339 date or date-time, as written (semantics checks it)
    ticket: str | None = None


@dataclass(frozen=True, slots=True)
class Dependency(_Flat):
    name: str
    version: str
    purpose: DependencyPurpose
    purl: str | None = None


@dataclass(frozen=True, slots=True)
class Author(_Flat):
    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class QuantizationProfile(_Flat):
    method: str
    calibration_dataset_hash: str  # sha256:<hex>


@dataclass(frozen=True, slots=True)
class Framework(_Flat):
    name: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


Hyperparameter = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Training:
    """model_card.training: how the model was trained."""

    framework: Framework | None = None
    procedure: str | None = None
    hyperparameters: Mapping[str, Hyperparameter] = field(default_factory=dict)
    hardware: str | None = None
    duration: str | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Training:
        framework = data.get("framework")
        return cls(
            framework=Framework.from_data(framework) if framework is not None else None,
            procedure=data.get("procedure"),
            hyperparameters=MappingProxyType(dict(data.get("hyperparameters") or {})),
            hardware=data.get("hardware"),
            duration=data.get("duration"),
        )


@dataclass(frozen=True, slots=True)
class Energy(_Flat):
    """model_card.energy, in kWh."""

    training_kwh: float | None = None
    fine_tuning_kwh: float | None = None
    inference_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class EthicalConsideration(_Flat):
    name: str
    mitigation: str | None = None


@dataclass(frozen=True, slots=True)
class FairnessAssessment(_Flat):
    group_at_risk: str
    benefits: str | None = None
    harms: str | None = None
    mitigation: str | None = None


@dataclass(frozen=True, slots=True)
class ModelCard:
    """model_card (schema 1.2): the sections a reader needs beyond the interface."""

    limitations: str | None = None
    out_of_scope_uses: str | None = None
    training: Training | None = None
    energy: Energy | None = None
    autonomy: bool | None = None
    sensitive_personal_information: bool | None = None
    explainability: str | None = None
    data_preprocessing: tuple[str, ...] = ()
    ethical_considerations: tuple[EthicalConsideration, ...] = ()
    fairness: tuple[FairnessAssessment, ...] = ()
    domain: tuple[str, ...] = ()
    task: str | None = None
    architecture: str | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ModelCard:
        training, energy = data.get("training"), data.get("energy")
        return cls(
            limitations=data.get("limitations"),
            out_of_scope_uses=data.get("out_of_scope_uses"),
            training=Training.from_data(training) if training is not None else None,
            energy=Energy.from_data(energy) if energy is not None else None,
            autonomy=data.get("autonomy"),
            sensitive_personal_information=data.get("sensitive_personal_information"),
            explainability=data.get("explainability"),
            data_preprocessing=tuple(data.get("data_preprocessing", ())),
            ethical_considerations=tuple(
                EthicalConsideration.from_data(e) for e in data.get("ethical_considerations", ())
            ),
            fairness=tuple(FairnessAssessment.from_data(f) for f in data.get("fairness", ())),
            domain=tuple(data.get("domain", ())),
            task=data.get("task"),
            architecture=data.get("architecture"),
        )
