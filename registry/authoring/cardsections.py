"""The sections of a model card's body read into manifest fields: the description, the intended
use, and the model_card block (limitations, out-of-scope uses, training, energy, preprocessing);
a section with text that none of them reads is reported, with where its content comes from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from registry.authoring.cardbody import PLACEHOLDERS, Body
from registry.load.manifest_fields import Energy, Framework, Hyperparameter, ModelCard, Training

_BULLET_START = re.compile(r"[ \t]*[-*+][ \t]+")
_STRONG = ("**", "__")
_NAME_END = re.compile(r"(?<!\\):")


def _item(line: str) -> tuple[str, str] | None:
    """(name, value) of `- **name:** value`, `- name: value` or `* **name**: value` (the card
    template's and Trainer's), split at the first `:`: no regex that could backtrack."""
    start = _BULLET_START.match(line)
    if start is None:
        return None
    rest = line[start.end() :]
    colon = _NAME_END.search(rest)  # the first `:` not escaped (`\\:` belongs to the name)
    if colon is None:
        return None
    key, value = rest[: colon.start()].strip(), rest[colon.end() :].strip()
    for mark in _STRONG:
        key = key.removeprefix(mark).removesuffix(mark).strip()
        value = value.removeprefix(mark).strip()
    if not key or key[0] in "*_":
        return None
    return key, value


_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?P<text>.*)$")
_KWH = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*kWh\b", re.IGNORECASE)
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")

_FROM_THE_FILE = "modelreg reads it from the model file and the command line"
_HINTS = {
    "model details": _FROM_THE_FILE,
    "inputs and outputs": _FROM_THE_FILE,
    "evaluation": "metrics are read from the front matter's model-index",
    "results": "metrics are read from the front matter's model-index",
    "metrics": "metrics are read from the front matter's model-index",
    "testing data": "evaluation datasets are read from the front matter's model-index",
    "training data": "training datasets are read from the front matter's `datasets`",
}


def _value(text: str) -> Hyperparameter:
    """A hyperparameter as written: `code` stays a string, numbers and booleans are read."""
    text = text.strip()
    ticks = len(text) - len(text.lstrip("`"))
    if ticks and len(text) > 2 * ticks and text.endswith("`" * ticks):
        inner = text[ticks:-ticks]  # a code span: its text, read once (no backtracking regex)
        return inner[1:-1] if len(inner) > 2 and inner[0] == inner[-1] == " " else inner
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        number = float(text)
        if math.isfinite(number):
            return number
    return text


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # a Markdown backslash escape of punctuation


def _unescape(text: str) -> str:
    """Text as Markdown shows it: `learning\\_rate` is learning_rate."""
    return _ESCAPED.sub(r"\1", text)


def _label(text: str) -> str:
    return _unescape(text.strip().strip("*_`").strip())


class SectionReader:
    """Reads sections of a card's body into fields; `skip` is told what it could not map."""

    def __init__(self, skip: Callable[[str], None]) -> None:
        self.skip = skip

    def description(self, body: Body) -> str | None:
        parts = [body.intro]
        if body.title is not None:
            parts.append(body.take(body.title, whole=False))
        text = "\n\n".join(p for p in parts if p)
        if not text:
            found = body.find("model description", "description", "model summary", "summary")
            text = body.take(found) if found is not None else ""
        return text or None

    def intended_use(self, body: Body) -> str | None:
        found, whole = body.find("direct use", "intended use", "intended uses"), True
        if found is None:  # "Uses" itself, without its subsections (out-of-scope, downstream)
            found, whole = body.find("uses", "use"), False
        if found is None:
            return None
        text = body.take(found, whole)
        if 0 < len(text) < 20:
            title = body.sections[found].title
            self.skip(f"section `{title}`: shorter than the 20 characters intended_use needs")
            return None
        return text or None

    def model_card(self, front: Mapping[str, Any], body: Body) -> ModelCard | None:
        out_of_scope = body.matching(lambda key: "out of scope" in key)
        limits = body.matching(
            lambda key: "limitation" in key and not {"use", "uses"} & set(key.split())
        )
        training = self._training(front, body)
        energy = self._environment(body, training)
        preprocessing = body.find("preprocessing")
        steps = self._steps(body.take(preprocessing)) if preprocessing is not None else ()
        task = front.get("pipeline_tag")
        card = ModelCard(
            limitations=(body.take(limits) or None) if limits is not None else None,
            out_of_scope_uses=(
                (body.take(out_of_scope) or None) if out_of_scope is not None else None
            ),
            training=Training(**training) if training else None,
            energy=energy,
            data_preprocessing=steps,
            task=task if isinstance(task, str) and task.strip() else None,
        )
        return None if card == ModelCard() else card

    def _training(self, front: Mapping[str, Any], body: Body) -> dict[str, Any]:
        training: dict[str, Any] = {}
        library = front.get("library_name")
        if isinstance(library, str) and library.strip():
            training["framework"] = Framework(library.strip())
        procedure = body.find("training procedure")
        if procedure is not None and body.sections[procedure].own:
            training["procedure"] = body.take(procedure, whole=False)
        found = body.find("training hyperparameters", "hyperparameters")
        if found is not None:
            values: dict[str, Hyperparameter] = {}
            title = body.sections[found].title
            for line in body.take(found).splitlines():
                item = _item(line)
                value = item[1] if item else ""
                if item and value and value.lower() not in PLACEHOLDERS:
                    values[_label(item[0])] = _value(value)
                elif line.strip() and not line.rstrip().endswith(":") and not item:
                    self.skip(f"{title}: `{line.strip()}` is not a `- name: value` line")
            if values:
                training["hyperparameters"] = values
        return training

    def _environment(self, body: Body, training: dict[str, Any]) -> Energy | None:
        found = body.find("environmental impact")
        if found is None:
            return None
        title = body.sections[found].title
        energy: dict[str, float] = {}
        for line in body.take(found).splitlines():
            item = _item(line)
            label = _label(item[0]).lower() if item else ""
            value = item[1] if item else ""
            if value.lower() in PLACEHOLDERS:
                continue
            kwh = _KWH.search(line)
            if kwh and math.isfinite(float(kwh.group(1))):
                lower = line.lower()
                kind = (
                    "fine_tuning_kwh"
                    if re.search(r"fine[- ]?tun", lower)
                    else "inference_kwh"
                    if "inference" in lower
                    else "training_kwh"
                )
                energy.setdefault(kind, float(kwh.group(1)))
            elif "hardware" in label:
                training.setdefault("hardware", value)
            elif label in ("hours used", "training time", "training duration", "duration"):
                training.setdefault("duration", f"{value} h" if _FLOAT.match(value) else value)
            elif item:
                self.skip(f"{title}: {_label(item[0])} (energy is mapped in kWh only)")
        return Energy(**energy) if energy else None

    @staticmethod
    def _steps(text: str) -> tuple[str, ...]:
        bullets = [_BULLET.match(line) for line in text.splitlines() if line.strip()]
        if bullets and all(bullets):
            return tuple(_unescape(b.group("text").strip()) for b in bullets if b)
        return (text,) if text else ()

    def unread_sections(self, body: Body) -> None:
        """Reports each section with text of its own that no field took."""
        for index, section in enumerate(body.sections):
            if index in body.used or index == body.title or not section.own:
                continue
            hint = _HINTS.get(section.key, "no manifest field for it")
            self.skip(f"section `{section.title}`: {hint}")
