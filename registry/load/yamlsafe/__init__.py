"""Safe YAML loading with a position for every key, and refusal of YAML's risky features.

Plain scalars are resolved with the YAML 1.2 core schema; one that YAML 1.1 parsers (PyYAML, many
CI tools) would read differently is refused, so every tool reads a manifest the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from registry.findings import Finding, Position, error
from registry.load.yamlsafe.tree import MAX_DEPTH, MISSING, TooDeep, TreeBuilder, YamlPath

DEFAULT_MAX_BYTES = 1024 * 1024

__all__ = [
    "DEFAULT_MAX_BYTES",
    "LoadedYaml",
    "YamlPath",
    "load_yaml_bytes",
    "load_yaml_file",
    "load_yaml_text",
]


@dataclass(frozen=True, slots=True)
class LoadedYaml:
    """A YAML mapping as plain data, with where each key or item sits in the file."""

    data: dict[str, Any]
    positions: Mapping[YamlPath, tuple[int, int]]  # (line, column) of each key or item
    # Source text of plain scalars that resolved to something other than a string, so that a
    # schema error can show what the author wrote (`1.10`, not `1.1`).
    plain_non_strings: Mapping[YamlPath, str] = field(default_factory=dict)

    def position(self, path: YamlPath) -> Position:
        """The position of `path`, or of its nearest ancestor that has one."""
        while path and path not in self.positions:
            path = path[:-1]
        return Position(*self.positions.get(path, (1, 1)))


def load_yaml_text(text: str, file: str) -> tuple[LoadedYaml | None, list[Finding]]:
    builder = TreeBuilder(file)
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if not builder.feed(event):
                break
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit, met while reading ahead
            builder.fail(
                "yaml.too-deep",
                f"nesting deeper than {MAX_DEPTH} levels; a manifest never needs that",
                where,
            )
        else:
            builder.fail("yaml.syntax", f"YAML syntax error: {problem}", where)
        return None, builder.findings
    except yaml.YAMLError as exc:
        builder.fail("yaml.syntax", f"YAML syntax error: {exc}", (1, 1))
        return None, builder.findings
    except TooDeep as exc:
        builder.fail(
            "yaml.too-deep",
            f"nesting deeper than {MAX_DEPTH} levels; a manifest never needs that",
            exc.position,
        )
        return None, builder.findings
    if not isinstance(builder.root, dict):
        what = "empty" if builder.root is MISSING or builder.root is None else "not a mapping"
        builder.fail(
            "yaml.not-mapping",
            f"the document is {what}; it must be a mapping of fields (`key: value` lines)",
            (1, 1),
        )
        return None, builder.findings
    if builder.findings:
        return None, builder.findings
    builder.positions.setdefault((), (1, 1))
    return LoadedYaml(builder.root, builder.positions, builder.plain_non_strings), []


def _too_large(size: int, max_bytes: int, display: str) -> Finding:
    return error(
        "yaml.too-large",
        f"the file is {size} bytes, over the limit of {max_bytes} bytes "
        "(limits.yaml_max_bytes in registry.yaml); a manifest is small: move long text elsewhere",
        display,
    )


def load_yaml_bytes(
    raw: bytes, display: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[LoadedYaml | None, list[Finding]]:
    """Load YAML from bytes (a file's, or a blob from Git history)."""
    if len(raw) > max_bytes:
        return None, [_too_large(len(raw), max_bytes, display)]
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
    return load_yaml_text(text.removeprefix("\ufeff"), display)


def load_yaml_file(
    path: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[LoadedYaml | None, list[Finding]]:
    """Load one YAML file; problems come back as findings naming `display`."""
    try:
        size = path.stat().st_size
        if size > max_bytes:  # refused before a byte is read
            return None, [_too_large(size, max_bytes, display)]
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        return None, [error("yaml.unreadable", f"cannot read the file: {exc.strerror}", display)]
    return load_yaml_bytes(raw, display, max_bytes)
