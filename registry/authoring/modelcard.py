"""A Hugging Face model card (README.md: YAML front matter, then Markdown sections) read into the
fields of a first manifest, with what the card says that no manifest field holds.

The card is parsed by huggingface_hub's ModelCard, the library that defines the format; it is
imported when a card is given, never before (`modelreg add` without --model-card, validate and
--version do not pay for it). The front matter is mapped here, the body's sections by
registry.authoring.cardsections, its license ids by registry.load.hublicenses. What is mapped,
and how, is listed in docs/contributing.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.authoring.cardbody import Body, parse_body
from registry.authoring.cardsections import SectionReader
from registry.errors import ModelregError
from registry.load.hublicenses import is_license_family, spdx_license
from registry.load.layout import referenced_manifest
from registry.load.manifest_fields import Dataset, Lineage, Metric, ModelCard
from registry.load.yamlsafe import load_yaml_text

INSTALL_HINT = "install it with: pip install 'modelreg[build]'"
MAX_CARD_BYTES = 4 * 1024 * 1024  # the longest cards on the Hub are a few hundred kB

_TAG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,49}$")  # schema/manifest/1.2.json tags
_REFERENCE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?@\d+\.\d+\.\d+\S*$")
# Front-matter keys read here; the rest is reported (`model_name` and `metrics` are checked apart).
_MAPPED_KEYS = frozenset(
    {
        "license",
        "license_name",
        "license_link",
        "datasets",
        "base_model",
        "tags",
        "pipeline_tag",
        "library_name",
        "model-index",
        "model_name",
        "metrics",
    }
)
_BASE_LINE = re.compile(r"\*\*Base model:\*\*\s*`?(?P<ref>[^`\s]+@[^`\s]+)`?")


@dataclass(frozen=True, slots=True)
class CardImport:
    """What a model card gave the manifest, and what it said that has no manifest field."""

    license: str | None = None
    intended_use: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    lineage: Lineage | None = None
    metrics: tuple[Metric, ...] = ()
    model_card: ModelCard | None = None
    unmapped: tuple[str, ...] = ()

    def optional_fields(self) -> dict[str, Any]:
        """The optional manifest fields it fills (license and intended_use are required ones:
        the scaffold writes those itself), as manifest data, in the manifest's order."""
        fields: dict[str, Any] = {}
        if self.description:
            fields["description"] = self.description
        if self.tags:
            fields["tags"] = list(self.tags)
        if self.lineage is not None:
            lineage: dict[str, Any] = {}
            if self.lineage.base_model:
                lineage["base_model"] = self.lineage.base_model
            if self.lineage.datasets:
                lineage["datasets"] = [d.to_json() for d in self.lineage.datasets]
            fields["lineage"] = lineage
        if self.metrics:
            fields["metrics"] = [m.to_json() for m in self.metrics]
        if self.model_card is not None:
            fields["model_card"] = _card_json(self.model_card)
        return fields


def _card_json(card: ModelCard) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in ("limitations", "out_of_scope_uses"):
        if getattr(card, key):
            data[key] = getattr(card, key)
    if card.training is not None:
        training: dict[str, Any] = {}
        if card.training.framework is not None:
            training["framework"] = card.training.framework.to_json()
        if card.training.procedure:
            training["procedure"] = card.training.procedure
        if card.training.hyperparameters:
            training["hyperparameters"] = dict(card.training.hyperparameters)
        for key in ("hardware", "duration"):
            if getattr(card.training, key):
                training[key] = getattr(card.training, key)
        data["training"] = training
    if card.energy is not None:
        data["energy"] = card.energy.to_json()
    if card.data_preprocessing:
        data["data_preprocessing"] = list(card.data_preprocessing)
    if card.task:
        data["task"] = card.task
    return data


def read_card(path: Path, root: Path) -> CardImport:
    """Read the model card at `path`; `root` is the registry its base_model may name."""
    try:
        from huggingface_hub import ModelCard as HubModelCard
        from huggingface_hub.repocard import REGEX_YAML_BLOCK
    except ImportError as exc:
        raise ModelregError(
            f"--model-card: reading a Hugging Face model card needs huggingface_hub; {INSTALL_HINT}"
        ) from exc
    text = _card_text(path)
    block = REGEX_YAML_BLOCK.search(text)
    if not block:
        text = "---\n\n---\n" + text  # no front matter: an empty one (the library warns otherwise)
    elif block.group(2).strip():
        # The library's yaml.safe_load keeps aliases as shared references, which expand when
        # the values are read: the project's own safe loader refuses anchors, aliases, tags,
        # duplicate keys and depth first, as for a manifest.
        _, problems = load_yaml_text(block.group(2), str(path))
        if problems:
            first, offset = problems[0], text[: block.start(2)].count("\n")
            raise ModelregError(
                f"{path}: the card's front matter (line {(first.line or 1) + offset}): "
                f"{first.message}"
            )
    try:
        card = HubModelCard(text)
    except Exception as exc:  # noqa: BLE001 - yaml's and the library's own errors, whatever type
        raise ModelregError(f"{path}: not a valid model card: {exc}") from None
    front: dict[str, Any] = card.data.to_dict()  # type: ignore[no-untyped-call]
    results = getattr(card.data, "eval_results", None) or []  # the model-index, read
    return import_card(front, results, card.text, root)


def _card_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_CARD_BYTES:
            raise ModelregError(
                f"{path}: {size} bytes; a model card is at most {MAX_CARD_BYTES} bytes"
            )
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelregError(
            f"{path}: not UTF-8 text ({exc.reason}); save the card as UTF-8"
        ) from None
    except FileNotFoundError:
        raise ModelregError(f"--model-card {path}: no such file") from None


def import_card(
    front: Mapping[str, Any], eval_results: Sequence[Any], body: str, root: Path
) -> CardImport:
    """The manifest fields of a card: its front matter (as ModelCardData.to_dict gives it), its
    model-index as huggingface_hub's EvalResults, and its Markdown body."""
    return _Importer(root).run(front, eval_results, body)


def _brief(value: Any) -> str:
    """A front-matter value in a few words, for the list of what was not mapped."""
    if isinstance(value, Mapping):
        value = list(value)  # its keys
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class _Importer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.unmapped: list[str] = []

    def skip(self, what: str) -> None:
        self.unmapped.append(what)

    def run(self, front: Mapping[str, Any], results: Sequence[Any], body_text: str) -> CardImport:
        body = parse_body(body_text)
        license_id, tags = self._license(front), self._tags(front.get("tags"))
        datasets: dict[str, Dataset] = {}
        for name in _as_list(front.get("datasets")):
            if isinstance(name, str) and name.strip():
                datasets.setdefault(name.strip(), Dataset(name.strip(), role="training"))
            else:
                self.skip(f"datasets: {name!r} is not a dataset name")
        metrics = tuple(self._metrics(results, datasets))
        measured = {m.name for m in metrics}
        for name in _as_list(front.get("metrics")):
            if name not in measured:
                self.skip(f"metrics: `{name}` has no value in the model-index")
        base = self._base_model(front.get("base_model"), body)
        for key, value in front.items():
            if key not in _MAPPED_KEYS:
                self.skip(f"{key}: {_brief(value)}: no manifest field for it")
        sections = SectionReader(self.skip)
        description = sections.description(body)
        intended_use = sections.intended_use(body)
        card = sections.model_card(front, body)
        sections.unread_sections(body)
        return CardImport(
            license=license_id,
            intended_use=intended_use,
            description=description,
            tags=tags,
            lineage=Lineage(base, tuple(datasets.values())) if base or datasets else None,
            metrics=metrics,
            model_card=card,
            unmapped=tuple(self.unmapped),
        )

    def _license(self, front: Mapping[str, Any]) -> str | None:
        value = front.get("license")
        if value is None:
            return None
        if not isinstance(value, str):
            self.skip(f"license: {value!r} is not one license id")
            return None
        if value.strip().lower() == "other" and isinstance(front.get("license_name"), str):
            named = spdx_license(front["license_name"])
            if named is None:
                self.skip(
                    f"license: other, license_name `{front['license_name']}` is not an SPDX "
                    "license identifier"
                )
            return named
        found = spdx_license(value)
        if found is None:
            reason = (
                "a family of licenses, not one"
                if is_license_family(value)
                else "not on the SPDX license list"
            )
            self.skip(f"license: `{value}` is {reason}; give --license")
        return found

    def _tags(self, value: Any) -> tuple[str, ...]:
        tags: list[str] = []
        for tag in _as_list(value):
            text = "-".join(str(tag).lower().split())
            if isinstance(tag, str) and _TAG.match(text):
                if text not in tags:
                    tags.append(text)
            else:
                self.skip(f"tags: `{tag}` is not a manifest tag (a-z, 0-9, `.`, `_`, `-`)")
        return tuple(tags)

    def _base_model(self, value: Any, body: Body) -> str | None:
        candidates = _as_list(value)
        provenance = body.find("provenance")
        if provenance is not None:  # a card modelreg wrote names the registry's base model here
            found = _BASE_LINE.search(body.take(provenance))
            if not candidates and found:
                candidates = [found.group("ref")]
        chosen = None
        for candidate in candidates:
            text = str(candidate).strip()
            if (
                chosen is None
                and _REFERENCE.match(text)
                and referenced_manifest(self.root, text) is not None
            ):
                chosen = text
            else:
                self.skip(
                    f"base_model: `{text}` is not a version of this registry (name@version); "
                    "lineage.base_model names one"
                )
        return chosen

    def _metrics(self, results: Sequence[Any], datasets: dict[str, Dataset]) -> Iterator[Metric]:
        seen = set()
        for result in results:
            value, dataset = result.metric_value, str(result.dataset_type or "").strip()
            name, split = str(result.metric_type or "").strip(), result.dataset_split
            what = f"model-index: {name} on {dataset}"
            if not (name and dataset):
                self.skip(f"{what}: a metric needs a type and a dataset type")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.skip(f"{what}: the value {value!r} is not a number")
                continue
            if not math.isfinite(value):
                self.skip(f"{what}: the value {value!r} is not a finite number")
                continue
            metric = Metric(name, value, dataset, str(split) if split not in (None, "") else None)
            if (metric.name, metric.dataset, metric.split) in seen:
                self.skip(f"{what}: stated twice, the first value is kept")
                continue
            seen.add((metric.name, metric.dataset, metric.split))
            datasets.setdefault(dataset, Dataset(dataset, role="evaluation"))
            yield metric
