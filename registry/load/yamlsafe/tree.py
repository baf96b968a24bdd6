"""A YAML document as plain data, built from libyaml parse events with a position per key.

Building from events (not with a constructor) means nothing in the file can instantiate objects,
expand aliases or merge mappings: each of those features is refused where it appears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from registry.findings import Finding, Position, error
from registry.infra.text import describe, first_unsafe
from registry.load.yamlsafe.scalars import read_plain

MAX_DEPTH = 64

YamlPath = tuple[str | int, ...]
MISSING = object()


# Positions are kept as (line, column) tuples while building: one per key, so they stay cheap.
Spot = tuple[int, int]


def mark_position(mark: Any) -> Spot:
    return (mark.line + 1, mark.column + 1)


class TooDeep(Exception):
    def __init__(self, position: Spot) -> None:
        self.position = position


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    path: YamlPath
    depth: int
    key: str | None = None  # the key whose value comes next
    expecting_value: bool = False
    key_lines: dict[str, int] = field(default_factory=dict)
    discard: bool = False  # the value of a refused key: read, then dropped


class TreeBuilder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[Finding] = []
        self.positions: dict[YamlPath, Spot] = {}
        self.plain_non_strings: dict[YamlPath, str] = {}
        self.stack: list[_Frame] = []
        self.root: Any = MISSING
        self.documents = 0

    def fail(self, code: str, message: str, position: Spot) -> None:
        self.findings.append(error(code, message, self.file, Position(*position)))

    def feed(self, event: Any) -> bool:
        """Take one parse event; False once the rest of the stream must be ignored."""
        kind = type(event)
        if kind is yaml.ScalarEvent:
            self.scalar(event)
        elif kind is yaml.MappingStartEvent:
            self.collection_start(event, {})
        elif kind is yaml.SequenceStartEvent:
            self.collection_start(event, [])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self.attach(self.stack.pop().container)
        elif kind is yaml.AliasEvent:
            self.alias(event)
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                self.fail(
                    "yaml.multiple-documents",
                    "a manifest holds exactly one YAML document; remove the `---` and what "
                    "follows, or split it into separate files",
                    mark_position(event.start_mark),
                )
                return False
        return True

    def check_node(self, event: Any) -> None:
        if not event.anchor and not event.tag:
            return
        position = mark_position(event.start_mark)
        if event.anchor:
            self.fail(
                "yaml.alias",
                f"anchor &{event.anchor}: anchors and aliases are not allowed in a manifest; "
                "write the value out in full",
                position,
            )
        if event.tag:
            self.fail(
                "yaml.tag",
                f"explicit tag {event.tag}: tags are not allowed; remove it and quote the value "
                "if it must be a string",
                position,
            )

    def child_path(self, position: Spot) -> YamlPath | None:
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
        position = mark_position(event.start_mark)
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
        frame.key_lines[text] = position[0]
        frame.key, frame.discard, frame.expecting_value = text, False, True
        self.positions[(*frame.path, text)] = position

    def check_text(self, text: str, position: Spot) -> None:
        unsafe = first_unsafe(text)
        if unsafe is not None:
            self.fail(
                "yaml.control-character",
                f"the text holds {describe(unsafe)}, a control or invisible character that can "
                "hide or reorder what a reader sees; remove it",
                position,
            )

    def scalar(self, event: Any) -> None:
        self.check_node(event)
        position = mark_position(event.start_mark)
        self.check_text(event.value, position)
        path = self.child_path(position)
        if path is None:
            self.key(event)
            return
        value = event.value
        if not event.style:  # plain: libyaml reports '', the pure parser None
            value, problem = read_plain(event.value)
            if problem is not None:
                self.fail(problem.code, problem.message, position)
            if not isinstance(value, str) and value is not None:
                self.plain_non_strings[path] = event.value
        self.attach(value)

    def collection_start(self, event: Any, container: dict[str, Any] | list[Any]) -> None:
        self.check_node(event)
        position = mark_position(event.start_mark)
        depth = self.stack[-1].depth + 1 if self.stack else 0
        if depth > MAX_DEPTH:
            raise TooDeep(position)
        path = self.child_path(position)
        if path is None:
            self.fail(
                "yaml.complex-key",
                "a mapping key must be a plain string, not a mapping or a list",
                position,
            )
            frame = self.stack[-1]
            frame.key = f"<complex key at line {position[0]}>"
            frame.discard = True
            path = (*frame.path, frame.key)
        self.stack.append(_Frame(container, path, depth))

    def alias(self, event: Any) -> None:
        position = mark_position(event.start_mark)
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
