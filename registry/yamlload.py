"""Safe YAML loading with a position for every key, and refusal of YAML's risky features.

The tree is built from libyaml parse events (not from a constructor), so nothing in the file can
instantiate objects, expand aliases or merge mappings. Plain scalars are resolved with the YAML 1.2
core schema; a plain scalar that YAML 1.1 parsers (PyYAML, many CI tools) would read differently
is refused, so every tool reads a manifest the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from registry.findings import Finding, Position, error

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64

YamlPath = tuple[str | int, ...]

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


@dataclass(frozen=True)
class LoadedYaml:
    """A YAML mapping as plain data, with where each key or item sits in the file."""

    data: dict[str, Any]
    positions: Mapping[YamlPath, Position]
    # Source text of plain scalars that resolved to something other than a string, so that a
    # schema error can show what the author wrote (`1.10`, not `1.1`).
    plain_non_strings: Mapping[YamlPath, str] = field(default_factory=dict)

    def position(self, path: YamlPath) -> Position:
        """The position of `path`, or of its nearest ancestor that has one."""
        while path and path not in self.positions:
            path = path[:-1]
        return self.positions.get(path, Position(1, 1))


def _pos(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


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


def yaml11_reading(text: str) -> str | None:
    """What a YAML 1.1 parser would make of a plain scalar, when it is not a string."""
    tag: str = _YAML11.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return _YAML11_READINGS.get(tag)


def _yaml11_value(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    path: YamlPath
    depth: int
    key: str | None = None  # the key whose value comes next
    expecting_value: bool = False
    key_lines: dict[str, int] = field(default_factory=dict)
    discard: bool = False  # a complex key being skipped


class _TreeBuilder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[Finding] = []
        self.positions: dict[YamlPath, Position] = {}
        self.plain_non_strings: dict[YamlPath, str] = {}
        self.stack: list[_Frame] = []
        self.root: Any = _MISSING
        self.documents = 0

    def fail(self, code: str, message: str, position: Position) -> None:
        self.findings.append(error(code, message, self.file, position))

    def check_node(self, event: Any) -> None:
        position = _pos(event.start_mark)
        if getattr(event, "anchor", None):
            self.fail(
                "yaml.alias",
                f"anchor &{event.anchor}: anchors and aliases are not allowed in a manifest; "
                "write the value out in full",
                position,
            )
        if getattr(event, "tag", None):
            self.fail(
                "yaml.tag",
                f"explicit tag {event.tag}: tags are not allowed; remove it and quote the value "
                "if it must be a string",
                position,
            )

    def child_path(self, position: Position) -> YamlPath | None:
        """Where the next value goes; None when it is a mapping key."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            path = (*frame.path, len(frame.container))
            self.positions[path] = position
            return path
        if not frame.expecting_value or frame.key is None:
            return None
        return (*frame.path, frame.key)

    def attach(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            frame.container.append(value)
        elif frame.expecting_value:
            assert frame.key is not None
            if not frame.discard:
                frame.container[frame.key] = value
            frame.expecting_value = False
        else:
            # A complex key (already reported) just closed: its value comes next.
            frame.expecting_value = True

    def key(self, event: Any) -> None:
        frame = self.stack[-1]
        assert isinstance(frame.container, dict)
        position = _pos(event.start_mark)
        text = event.value
        if not event.style and text == "<<":
            self.fail(
                "yaml.merge-key",
                "merge key `<<` is not allowed; write the merged fields out in full",
                position,
            )
        elif text in frame.key_lines:
            self.fail(
                "yaml.duplicate-key",
                f"duplicate key `{text}` (first at line {frame.key_lines[text]}); keep one of them",
                position,
            )
            # The duplicate's value must not replace the first one silently.
            frame.key, frame.discard, frame.expecting_value = text, True, True
            return
        frame.key_lines[text] = position.line
        frame.key, frame.discard, frame.expecting_value = text, False, True
        self.positions[(*frame.path, text)] = position

    def scalar(self, event: Any) -> None:
        self.check_node(event)
        position = _pos(event.start_mark)
        path = self.child_path(position)
        if path is None:
            self.key(event)
            return
        if not event.style:  # plain: libyaml reports '', the pure parser None
            value = resolve_plain(event.value)
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(
                    "yaml.non-finite-number",
                    f"`{event.value}` is not a finite number; JSON cannot carry it",
                    position,
                )
            if not isinstance(value, str) and value is not None:
                self.plain_non_strings[path] = event.value
                finite = not isinstance(value, float) or math.isfinite(value)
                if (
                    finite
                    and isinstance(value, int | float)
                    and _yaml11_value(event.value) != value
                ):
                    self.fail(
                        "yaml.ambiguous-scalar",
                        f"`{event.value}` is {value!r} in YAML 1.2 but "
                        f"{_yaml11_value(event.value)!r} in YAML 1.1; write it unambiguously "
                        "(no leading zeros; floats as 1.0e+3) or quote it",
                        position,
                    )
            elif isinstance(value, str) and (reading := yaml11_reading(event.value)):
                self.fail(
                    "yaml.ambiguous-scalar",
                    f"`{event.value}` is a string in YAML 1.2 but {reading} in YAML 1.1; "
                    f'quote it ("{event.value}") so every tool reads the same value',
                    position,
                )
        else:
            value = event.value
        self.attach(value)

    def collection_start(self, event: Any, container: dict[str, Any] | list[Any]) -> None:
        self.check_node(event)
        position = _pos(event.start_mark)
        depth = self.stack[-1].depth + 1 if self.stack else 0
        if depth > MAX_DEPTH:
            raise _TooDeep(position)
        path = self.child_path(position)
        if path is None:
            self.fail(
                "yaml.complex-key",
                "a mapping key must be a plain string, not a mapping or a list",
                position,
            )
            frame = self.stack[-1]
            frame.key = f"<complex key at line {position.line}>"
            frame.discard = True
            path = (*frame.path, frame.key)
        self.stack.append(_Frame(container, path, depth))

    def collection_end(self) -> None:
        frame = self.stack.pop()
        self.attach(frame.container)

    def alias(self, event: Any) -> None:
        position = _pos(event.start_mark)
        self.fail(
            "yaml.alias",
            f"alias *{event.anchor}: anchors and aliases are not allowed in a manifest; "
            "write the value out in full",
            position,
        )
        if self.child_path(position) is None:
            frame = self.stack[-1]
            frame.key, frame.discard, frame.expecting_value = "<alias>", True, True
            return
        self.attach(None)


class _TooDeep(Exception):
    def __init__(self, position: Position) -> None:
        self.position = position


_MISSING = object()


def load_yaml_text(text: str, file: str) -> tuple[LoadedYaml | None, list[Finding]]:
    builder = _TreeBuilder(file)
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.DocumentStartEvent):
                builder.documents += 1
                if builder.documents > 1:
                    builder.fail(
                        "yaml.multiple-documents",
                        "a manifest holds exactly one YAML document; remove the `---` and what "
                        "follows, or split it into separate files",
                        _pos(event.start_mark),
                    )
                    break
            elif isinstance(event, yaml.ScalarEvent):
                builder.scalar(event)
            elif isinstance(event, yaml.MappingStartEvent):
                builder.collection_start(event, {})
            elif isinstance(event, yaml.SequenceStartEvent):
                builder.collection_start(event, [])
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                builder.collection_end()
            elif isinstance(event, yaml.AliasEvent):
                builder.alias(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _pos(mark) if mark is not None else Position(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        builder.fail("yaml.syntax", f"YAML syntax error: {problem}", where)
        return None, builder.findings
    except yaml.YAMLError as exc:
        builder.fail("yaml.syntax", f"YAML syntax error: {exc}", Position(1, 1))
        return None, builder.findings
    except _TooDeep as exc:
        builder.fail(
            "yaml.too-deep",
            f"nesting deeper than {MAX_DEPTH} levels; a manifest never needs that",
            exc.position,
        )
        return None, builder.findings
    if not isinstance(builder.root, dict):
        what = "empty" if builder.root is _MISSING or builder.root is None else "not a mapping"
        builder.fail(
            "yaml.not-mapping",
            f"the document is {what}; a manifest is a mapping of fields (`key: value` lines)",
            Position(1, 1),
        )
        return None, builder.findings
    if builder.findings:
        return None, builder.findings
    builder.positions.setdefault((), Position(1, 1))
    return LoadedYaml(builder.root, builder.positions, builder.plain_non_strings), []


def load_yaml_file(
    path: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[LoadedYaml | None, list[Finding]]:
    """Load one YAML file; problems come back as findings naming `display`."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, [
                error(
                    "yaml.too-large",
                    f"the file is {size} bytes, over the limit of {max_bytes} bytes "
                    "(limits.yaml_max_bytes in registry.yaml); a manifest is small: move long "
                    "text elsewhere",
                    display,
                )
            ]
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        return None, [error("yaml.unreadable", f"cannot read the file: {exc.strerror}", display)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [
            error(
                "yaml.encoding",
                f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8",
                display,
            )
        ]
    if text.startswith("\ufeff"):
        text = text[1:]
    return load_yaml_text(text, display)
