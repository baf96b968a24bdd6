"""Plain scalars: YAML 1.2 core-schema resolution, and what YAML 1.1 tools would read instead."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

# Longer numbers are refused before int() sees them (Python caps int parsing at 4,300 digits).
MAX_NUMBER_LENGTH = 100

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_BOOL_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF_NAN = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
# PyYAML's resolver implements YAML 1.1: what it reads as a non-string is what 1.1 tools see.
_YAML11 = yaml.resolver.Resolver()
_YAML11_READINGS = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
}


@dataclass(frozen=True, slots=True)
class ScalarProblem:
    code: str
    message: str


def _is_number(text: str) -> bool:
    return any(p.match(text) for p in (_INT10, _INT8, _INT16, _FLOAT))


def resolve_plain(text: str) -> Any:
    """Resolve a plain scalar with the YAML 1.2 core schema."""
    if _NULL.match(text):
        return None
    if _BOOL_TRUE.match(text):
        return True
    if _BOOL_FALSE.match(text):
        return False
    if _INT10.match(text):
        return int(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF_NAN.match(text):
        return float(text.lower().replace(".", ""))
    return text


def _yaml11_tag(text: str) -> str:
    tag: str = _YAML11.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


def _yaml11_value(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)  # the safe C loader, one scalar


@functools.lru_cache(maxsize=8192)  # manifests repeat the same words: float32, batch, onnx...
def read_plain(text: str) -> tuple[Any, ScalarProblem | None]:
    """The value of a plain scalar, and why it is refused when it is ambiguous or unusable."""
    if len(text) > MAX_NUMBER_LENGTH and _is_number(text):
        return text, ScalarProblem(
            "yaml.number-too-large",
            f"a number of {len(text)} characters; no manifest field needs one",
        )
    value = resolve_plain(text)
    if isinstance(value, float) and not math.isfinite(value):
        return value, ScalarProblem(
            "yaml.non-finite-number", f"`{text}` is not a finite number; JSON cannot carry it"
        )
    if isinstance(value, bool) or value is None:
        return value, None
    if isinstance(value, int | float):
        older = _yaml11_value(text)
        if older != value:
            return value, ScalarProblem(
                "yaml.ambiguous-scalar",
                f"`{text}` is {value!r} in YAML 1.2 but {older!r} in YAML 1.1; write it "
                "unambiguously (no leading zeros; floats as 1.0e+3) or quote it",
            )
        return value, None
    reading = _YAML11_READINGS.get(_yaml11_tag(text))
    if reading:
        return value, ScalarProblem(
            "yaml.ambiguous-scalar",
            f'`{text}` is a string in YAML 1.2 but {reading} in YAML 1.1; quote it ("{text}") '
            "so every tool reads the same value",
        )
    return value, None
