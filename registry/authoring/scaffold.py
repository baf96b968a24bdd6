"""A first manifest for a new version, written from what the model file says about itself.

Fields only a person can fill (intended use, publisher, risk tier, license when unknown, and what
a format does not state) are left empty with a `# TODO` comment: validation fails on each until it
is filled, and passes once they all are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.formats.base import ModelInfo
from registry.load.manifest import FileRef
from registry.load.yamlsafe import YamlPath, load_yaml_text
from registry.tensors import UNSTATED_DTYPE, TensorSpec
from registry.versions import LATEST_SCHEMA_VERSION

# Producers (as ModelInfo reports them), the training framework they imply, and whether the
# producer's version is the framework's (pytorch's exporter) or a converter's own (tf2onnx).
_FRAMEWORKS = (
    (r"^pytorch\b", "pytorch", True),
    (r"^torch\.jit\b", "pytorch", False),
    (r"^(tf2onnx|keras2onnx|mlir converted|toco converted)\b", "tensorflow", False),
    (r"^(skl2onnx|onnxmltools)\b", "scikit-learn", False),
    (r"^paddle2onnx\b", "paddlepaddle", False),
)


@dataclass(frozen=True, slots=True)
class NewVersion:
    name: str
    version: str
    info: ModelInfo
    artifact: FileRef  # path is the file name in the version folder
    url: str | None = None  # the artifact lives at this https URL instead of beside the manifest
    external_data: tuple[FileRef, ...] = ()
    license: str | None = None
    risk_tier: str | None = None
    intended_use: str | None = None
    publisher: str | None = None
    publisher_email: str | None = None
    # Optional fields written after the required ones, as manifest data (from a model card).
    optional: Mapping[str, Any] = field(default_factory=dict)


def guess_framework(producer: str) -> tuple[str | None, str | None]:
    """(framework name, version) from a producer string such as `pytorch 2.3.1`, when known."""
    text = producer.strip().lower()
    for pattern, name, own_version in _FRAMEWORKS:
        if re.match(pattern, text):
            version = re.search(r"\b(\d+(?:\.\d+)+)\b", producer) if own_version else None
            return name, version.group(1) if version else None
    return None, None


def _q(value: object) -> str:
    """A YAML scalar that every YAML tool reads the same way (JSON strings are YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _shape(spec: TensorSpec) -> str:
    if spec.shape is None:
        return "null"
    return "[" + ", ".join("null" if d is None else _q(d) for d in spec.shape) + "]"


def _tensors(key: str, specs: tuple[TensorSpec, ...], unnamed: bool) -> Iterator[str]:
    if not specs:
        yield f"{key}: []"
        return
    yield f"{key}:"
    for spec in specs:
        name_note = (
            "  # TODO: the format does not name outputs; give a meaningful name" if unnamed else ""
        )
        yield f"  - name: {_q(spec.name)}{name_note}"
        if spec.dtype == UNSTATED_DTYPE:
            yield '    dtype: ""  # TODO: the format does not state it: float32, int64, ...'
        else:
            yield f"    dtype: {_q(spec.dtype)}"
        note = (
            "  # the format does not state shapes: declare what callers must send"
            if (spec.shape is None and spec.dtype == UNSTATED_DTYPE)
            else ""
        )
        yield f"    shape: {_shape(spec)}{note}"


def _scalar(value: object) -> str:
    """A scalar every YAML tool reads alike: JSON, with floats as 1.0e-05 (YAML 1.1 reads
    `1e-05` as a string)."""
    if isinstance(value, float):
        mantissa, exponent, power = repr(value).partition("e")
        if exponent and "." not in mantissa:
            return f"{mantissa}.0e{'' if power[0] in '+-' else '+'}{power}"
    return _q(value)


def _literal(text: str) -> bool:
    """Whether `text` can be a literal block (`|`), which keeps Markdown readable: several
    lines, nothing YAML would fold, strip or refuse (control characters, trailing blanks,
    leading indentation, more than one final newline)."""
    body = text[:-1] if text.endswith("\n") else text
    return (
        "\n" in body
        and not body.endswith("\n")
        and not body[:1].isspace()
        and all(line == line.rstrip() for line in body.split("\n"))
        and not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]", body)
    )


def _flow(value: Any) -> str:
    if isinstance(value, Mapping | list | tuple):
        return "{}" if isinstance(value, Mapping) else "[]"  # only empty ones are written so
    return _scalar(value)


def _text(head: str, value: str, pad: str) -> Iterator[str]:
    """`head` (`key:` or `-`) and a multi-line string as a literal block."""
    chomp = "" if value.endswith("\n") else "-"  # keep the one final newline, or none
    yield f"{head} |{chomp}"
    yield from (f"{pad}  {line}" if line else "" for line in value.rstrip("\n").split("\n"))


# A key written bare: what YAML 1.1 and 1.2 both read as this very string.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_YAML_WORDS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
)  # read as booleans or null by some YAML tool, in any case


def _key(name: str) -> str:
    """A mapping key from outside (a card's hyperparameter names): bare only when every YAML
    tool reads it back as the same string, else quoted."""
    plain = _PLAIN_KEY.fullmatch(name) and name.lower() not in _YAML_WORDS
    return name if plain else _q(name)


def _block(key: str, value: Any, indent: int = 0) -> Iterator[str]:
    """`key: value` in block style: nested fields indented, each scalar as _scalar writes it,
    multi-line text as a literal block. `key` is written as given: names from outside go
    through _key."""
    pad = " " * indent
    if isinstance(value, Mapping) and value:
        yield f"{pad}{key}:"
        for name, item in value.items():
            yield from _block(_key(str(name)), item, indent + 2)
    elif isinstance(value, list | tuple) and value:
        yield f"{pad}{key}:"
        for item in value:
            yield from _item(item, indent + 2)
    elif isinstance(value, str) and _literal(value):
        yield from _text(f"{pad}{key}:", value, pad)
    else:
        yield f"{pad}{key}: {_flow(value)}"


def _item(value: Any, indent: int) -> Iterator[str]:
    """One item of a block sequence."""
    pad = " " * indent
    if isinstance(value, Mapping) and value:
        lines = [
            line for key, item in value.items() for line in _block(_key(str(key)), item, indent + 2)
        ]
        yield f"{pad}- {lines[0][indent + 2 :]}"
        yield from lines[1:]
    elif isinstance(value, str) and _literal(value):
        yield from _text(f"{pad}-", value, pad)
    else:
        yield f"{pad}- {_flow(value)}"


def _intended_use(text: str | None) -> Iterator[str]:
    if text:
        yield from _block("intended_use", text)
    else:
        yield f"intended_use: {_todo(None, 'what the model is for, and not for (20+ characters)')}"


def _todo(value: str | None, comment: str) -> str:
    return _q(value) if value else f'""  # TODO: {comment}'


def render(new: NewVersion) -> str:
    """The manifest text: valid YAML; every TODO fails validation until it is filled."""
    framework, framework_version = guess_framework(new.info.producer)
    lines = [
        f"# Written by `modelreg add` from {new.artifact.path}: fill every TODO, then run",
        f"# `modelreg validate models/{new.name}/{new.version}`.",
        f"schema_version: {_q(LATEST_SCHEMA_VERSION)}",
        f"model_name: {_q(new.name)}",
        f"version: {_q(new.version)}",
        "framework:",
        f"  name: {_todo(framework, 'the training framework, e.g. pytorch')}",
        f"  version: {_todo(framework_version, 'its version, e.g. 2.3.1')}",
        f"format: {_q(new.info.format)}",
        "artifact:",
    ]
    if new.url is not None:
        lines.append(f"  url: {_q(new.url)}")
    else:
        lines.append(f"  path: {_q(new.artifact.path)}")
    lines += [f"  sha256: {_q(new.artifact.sha256)}", f"  size: {new.artifact.size}"]
    if new.external_data:
        lines.append("  external_data:")
        for entry in new.external_data:
            lines += [
                f"    - path: {_q(entry.path)}",
                f"      sha256: {_q(entry.sha256)}",
                f"      size: {entry.size}",
            ]
    lines += list(_tensors("input_shape", new.info.inputs, False))
    lines += list(_tensors("output_schema", new.info.outputs, "output_names" in new.info.unstated))
    lines += [
        f"license: {_todo(new.license, 'an SPDX license expression, e.g. Apache-2.0')}",
        *_intended_use(new.intended_use),
        "publisher:",
        f"  name: {_todo(new.publisher, 'who publishes this version')}",
    ]
    if new.publisher_email:
        lines.append(f"  email: {_q(new.publisher_email)}")
    lines.append(f"risk_tier: {_todo(new.risk_tier, 'tier-1, tier-2 or tier-3 (registry.yaml)')}")
    for key, value in new.optional.items():
        lines += _block(key, value)
    if new.info.quantization:
        lines.append(
            f"# The file is quantized ({new.info.quantization}); a quantization_profile "
            "(method, calibration_dataset_hash) documents how."
        )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Todo:
    """A field `modelreg add` left for a person: where it is and what to write."""

    path: str  # the full key path, `framework.version`, `input_shape[0].dtype`
    line: int
    hint: str


def _dotted(path: YamlPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def todos(text: str) -> list[Todo]:
    """The fields of a manifest still marked TODO, by full key path: a bare `version:` line
    would read as the model's version when it is `framework.version`."""
    loaded, _ = load_yaml_text(text, "manifest.yaml")
    keys: dict[int, YamlPath] = {}
    if loaded is not None:
        for path, (number, _column) in loaded.positions.items():
            if path and len(path) >= len(keys.get(number, ())):
                keys[number] = path  # the deepest key on the line: `- name:` is the item's name
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        value, marker, hint = line.partition("# TODO: ")
        # Only a comment this module wrote after a quoted value: a card's text holding
        # "# TODO: " sits inside a JSON string (no bare `"` in it) or a literal block (no key).
        if marker and value.endswith('"  ') and number in keys:
            found.append(Todo(_dotted(keys[number]), number, hint.strip()))
    return found
