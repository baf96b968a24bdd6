"""README.md of a version: a Hugging Face model card generated from its manifest, so that the
same model can be pushed to a Hub repository unchanged.

The front matter is written by huggingface_hub's ModelCardData (the library that defines the
format); the body has the sections of the Hub's card template, and a Provenance section that
links the registry's record and SBOMs. The license is named as the Hub names it
(registry.load.hublicenses). Manifest prose (description, intended use, limitations,
procedure) is Markdown and is copied as written; names, versions and other plain values are
written so that Markdown reads them literally (code spans, escapes), which keeps their meaning.
registry.authoring.modelcard reads such a card back (`modelreg add --model-card`).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING

from registry.build import paths
from registry.errors import ModelregError
from registry.load.hublicenses import hub_license
from registry.load.manifest import Manifest
from registry.load.manifest_fields import LEARNED_FROM, Dataset, ModelCard, Training
from registry.tensors import TensorSpec

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData

INSTALL_HINT = "pip install 'modelreg[build]'"


def render(manifest: Manifest, base_url: str, registry: str | None = None) -> str:
    """The model card of `manifest`; `base_url` (ending in `/`) is where the site is published,
    `registry` its name."""
    front = _front_matter(manifest).to_yaml()
    body = "\n".join(_body(manifest, base_url, registry))
    text = f"---\n{front}\n---\n\n{body}\n"
    # huggingface_hub's ModelCard(text) would read the front matter back and write it again,
    # which gives the same text (tests/test_build_cold.py compares both); it is needed
    # only when a carriage return in the body could make it choose another line break.
    return through_hub(text) if "\r" in text else text


def through_hub(text: str) -> str:
    """`text` as huggingface_hub's ModelCard writes it: its front matter read and dumped again."""
    from huggingface_hub import ModelCard as HubModelCard

    return str(HubModelCard(text))


def _front_matter(manifest: Manifest) -> ModelCardData:
    try:
        from huggingface_hub import EvalResult, ModelCardData
    except ImportError as exc:
        raise ModelregError(
            f"the model cards of the site (README.md) need huggingface_hub: {INSTALL_HINT}"
        ) from exc

    card = manifest.model_card or ModelCard()
    training = card.training or Training()
    datasets = manifest.lineage.datasets if manifest.lineage else ()
    learned = [d.name for d in datasets if d.role in LEARNED_FROM]
    results = []
    for metric in manifest.metrics:  # the model-index holds those measured on a dataset
        if metric.dataset is not None:
            results.append(
                EvalResult(
                    task_type=card.task or "other",
                    dataset_type=metric.dataset,
                    dataset_name=metric.dataset,
                    dataset_split=metric.split,
                    metric_type=metric.name,
                    metric_value=metric.value,
                )
            )
    names = list(dict.fromkeys(m.name for m in manifest.metrics))
    hub_id, license_name, license_link = hub_license(manifest.license)
    return ModelCardData(
        license=hub_id,
        license_name=license_name,
        license_link=license_link,
        library_name=training.framework.name if training.framework else None,
        pipeline_tag=card.task,
        tags=list(manifest.tags) or None,
        datasets=learned or None,
        metrics=names or None,
        model_name=manifest.model_name if results else None,
        eval_results=results or None,
    )


def _code(text: str) -> str:
    """`text` as a code span, read literally whatever it holds."""
    text = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def _plain(text: str) -> str:
    """One line of text that Markdown shows as written: its markup characters escaped."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~&])", r"\\\1", " ".join(text.split()))


def _url(url: str) -> str:
    """A link destination: characters that would end it or change it percent-encoded."""
    return urllib.parse.quote(url, safe=":/?#[]@!$&'*+,;=%~")


def _link(label: str, url: str) -> str:
    return f"[{_plain(label)}](<{_url(url)}>)"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _code(str(value))


def _shape(spec: TensorSpec) -> str:
    if spec.shape is None:
        return "unknown"
    return "[" + ", ".join("?" if d is None else str(d) for d in spec.shape) + "]"


def _cell(text: str) -> str:
    return _plain(text) if text else ""


def _code_cell(text: str) -> str:
    """A code span in a table cell: GFM splits cells at every unescaped `|`, in code too."""
    return _code(text).replace("|", "\\|")


def _body(manifest: Manifest, base_url: str, registry: str | None) -> Iterator[str]:
    card = manifest.model_card or ModelCard()
    yield f"# {_plain(manifest.model_name)} {_plain(manifest.version)}"
    if manifest.description.strip():
        yield ""
        yield manifest.description.strip("\n")
    yield from _details(manifest, card)
    yield from _section("Uses", None)
    yield from _section("Direct Use", manifest.intended_use, 3)
    if card.out_of_scope_uses:
        yield from _section("Out-of-Scope Use", card.out_of_scope_uses, 3)
    if card.limitations:
        yield from _section("Bias, Risks, and Limitations", card.limitations)
    if card.ethical_considerations or card.fairness:
        yield from _ethics(card)
    yield from _training(manifest, card)
    yield from _evaluation(manifest)
    yield from _environment(card)
    yield from _provenance(manifest, base_url, registry)


def _section(title: str, text: str | None, level: int = 2) -> Iterator[str]:
    yield ""
    yield f"{'#' * level} {title}"
    if text and text.strip():
        yield ""
        yield text.strip("\n")


def _details(manifest: Manifest, card: ModelCard) -> Iterator[str]:
    yield from _section("Model Details", None)
    yield ""
    yield f"- **Model:** {_code(manifest.id)}"
    yield f"- **Published by:** {_plain(manifest.publisher.name)}"
    if manifest.authors:
        yield f"- **Authors:** {', '.join(_plain(a.name) for a in manifest.authors)}"
    yield f"- **Format:** {_code(manifest.format)}"
    yield f"- **Framework:** {_plain(manifest.framework_name)} {_plain(manifest.framework_version)}"
    training = card.training
    if training is not None and training.framework is not None:
        yield f"- **Trained with:** {_plain(str(training.framework))}"
    if card.architecture:
        yield f"- **Architecture:** {_plain(card.architecture)}"
    if card.domain:
        yield f"- **Domain:** {', '.join(_plain(d) for d in card.domain)}"
    if card.explainability:
        yield f"- **Explainability:** {_plain(card.explainability)}"
    for label, flag in (
        ("Acts without a human in the loop", card.autonomy),
        ("Sensitive personal information", card.sensitive_personal_information),
    ):
        if flag is not None:
            yield f"- **{label}:** {'yes' if flag else 'no'}"
    yield f"- **License:** {_code(manifest.license)} (SPDX)"
    yield f"- **Risk tier:** {_code(manifest.risk_tier)}"
    if manifest.deprecation is not None:
        note = f"- **Deprecated** since {_plain(manifest.deprecation.effective_at)}: "
        note += _plain(manifest.deprecation.reason)
        if manifest.deprecation.redirect_to:
            note += f"; use {_code(manifest.deprecation.redirect_to)} instead"
        yield note
    if manifest.inputs or manifest.outputs:
        yield from _section("Inputs and Outputs", None, 3)
        yield ""
        yield "| | name | dtype | shape |"
        yield "|---|---|---|---|"
        for side, specs in (("input", manifest.inputs), ("output", manifest.outputs)):
            for spec in specs:
                name, dtype = _code_cell(spec.name), _code_cell(spec.dtype)
                yield f"| {side} | {name} | {dtype} | {_code_cell(_shape(spec))} |"


def _datasets(manifest: Manifest, evaluation: bool) -> list[Dataset]:
    """The datasets of the lineage the model was measured on only, or the others."""
    datasets = manifest.lineage.datasets if manifest.lineage else ()
    return [d for d in datasets if (d.role == "evaluation") == evaluation]


def _dataset_lines(datasets: list[Dataset]) -> Iterator[str]:
    yield ""
    for dataset in datasets:
        line = f"- {_code(dataset.name)} ({dataset.role})"
        if dataset.description:
            line += f": {_plain(dataset.description)}"
        if dataset.url:
            line += f" {_link('source', dataset.url)}"
        if dataset.license:
            line += f", license {_code(dataset.license)}"
        if dataset.sha256:
            line += f", SHA-256 {_code(dataset.sha256)}"
        yield line


def _training(manifest: Manifest, card: ModelCard) -> Iterator[str]:
    training = card.training or Training()
    datasets = _datasets(manifest, evaluation=False)
    procedure = training.procedure or training.hyperparameters or card.data_preprocessing
    if not (datasets or procedure):
        return
    yield from _section("Training Details", None)
    if datasets:
        yield from _section("Training Data", None, 3)
        yield from _dataset_lines(datasets)
    if procedure:
        yield from _section("Training Procedure", training.procedure, 3)
    if card.data_preprocessing:
        yield from _section("Preprocessing", None, 4)
        yield ""
        yield from (f"- {_plain(step)}" for step in card.data_preprocessing)
    if training.hyperparameters:
        yield from _section("Training Hyperparameters", None, 4)
        yield ""
        for name, value in training.hyperparameters.items():
            # A `:` in the name is escaped: the first bare one ends it (cardsections reads so).
            label = _plain(name).replace(":", "\\:")
            yield f"- {label}: {_value(value)}"


def _ethics(card: ModelCard) -> Iterator[str]:
    yield from _section("Ethical Considerations", None)
    yield ""
    for risk in card.ethical_considerations:
        line = f"- {_plain(risk.name)}"
        yield line + (f"; mitigation: {_plain(risk.mitigation)}" if risk.mitigation else "")
    for group in card.fairness:
        parts = [f"- Group at risk: {_plain(group.group_at_risk)}"]
        for label, text in (
            ("benefits", group.benefits),
            ("harms", group.harms),
            ("mitigation", group.mitigation),
        ):
            if text:
                parts.append(f"{label}: {_plain(text)}")
        yield "; ".join(parts)


def _evaluation(manifest: Manifest) -> Iterator[str]:
    datasets = _datasets(manifest, evaluation=True)
    if not (manifest.metrics or datasets):
        return
    yield from _section("Evaluation", None)
    if datasets:
        yield from _section("Testing Data", None, 3)
        yield from _dataset_lines(datasets)
    if manifest.metrics:
        yield from _section("Results", None, 3)
        yield ""
        yield "| metric | value | dataset | split |"
        yield "|---|---|---|---|"
    for metric in manifest.metrics:
        dataset = _code_cell(metric.dataset) if metric.dataset else ""
        split = _cell(metric.split or "")
        yield f"| {_cell(metric.name)} | {metric.value!r} | {dataset} | {split} |"


def _environment(card: ModelCard) -> Iterator[str]:
    energy, training = card.energy, card.training or Training()
    lines = []
    if energy is not None:
        for label, kwh in (
            ("Training energy", energy.training_kwh),
            ("Fine-tuning energy", energy.fine_tuning_kwh),
            ("Inference energy (one inference)", energy.inference_kwh),
        ):
            if kwh is not None:
                lines.append(f"- **{label}:** {kwh!r} kWh")
    if training.hardware:
        lines.append(f"- **Hardware Type:** {_plain(training.hardware)}")
    if training.duration:
        lines.append(f"- **Training time:** {_plain(training.duration)}")
    if lines:
        yield from _section("Environmental Impact", None)
        yield ""
        yield from lines


def _provenance(manifest: Manifest, base_url: str, registry: str | None) -> Iterator[str]:
    name, version = manifest.model_name, manifest.version
    where = f' in the registry "{_plain(registry)}"' if registry else ""
    yield from _section("Provenance", None)
    yield ""
    yield f"Generated by modelreg from the manifest of {_code(manifest.id)}{where}. The record"
    yield "also holds the governance decision, the signature check and the version's history."
    yield ""
    yield f"- **Registry record:** <{_url(base_url + paths.version_json(name, version))}>"
    yield f"- **Catalog page:** <{_url(base_url + paths.version_page(name, version))}>"
    art = manifest.artifact
    file = art.path or art.url or "model"
    yield (
        f"- **Model file:** {_code(file.rsplit('/', 1)[-1])} ({art.size} bytes), "
        f"SHA-256 {_code(art.sha256)}"
    )
    if manifest.base_model:
        base_name, _, base_version = manifest.base_model.partition("@")
        record = base_url + paths.version_json(base_name, base_version)
        yield f"- **Base model:** {_code(manifest.base_model)} ({_link('record', record)})"
    code = manifest.lineage.training_code if manifest.lineage else None
    if code is not None:
        yield f"- **Training code:** {_code(code.repository)} at commit {_code(code.commit)}"
    sboms = ", ".join(
        _link(label, base_url + paths.sbom(name, version, kind))
        for kind, label in (("spdx", "SPDX 2.3"), ("spdx3", "SPDX 3.0.1"), ("cdx", "CycloneDX 1.6"))
    )
    yield f"- **SBOMs:** {sboms}"
