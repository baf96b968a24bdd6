"""Manifest migrations between schema versions, as minimal text edits.

The `schema_version` value changes, on its own line, in its own quoting style; every other byte
(comments, key order, indentation) stays as the author wrote it, but for what the target version
requires: going to 1.2, each lineage dataset gets the `role` that 1.0 and 1.1 implied (a
dataset a metric names is an evaluation set, any other a training set), on a line of its own
after its `name`. The edited text must load to exactly the data intended, or nothing is written.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.load.manifest import measured_names, plain_datasets
from registry.load.manifest_fields import implied_role
from registry.load.yamlsafe import LoadedYaml, load_yaml_file, load_yaml_text
from registry.versions import SUPPORTED_SCHEMA_VERSIONS

_VERSION_LINE = re.compile(
    r"^(?P<key>schema_version[ \t]*:[ \t]*)(?P<quote>[\"']?)(?P<value>[0-9.]+)(?P=quote)"
    r"(?P<rest>[ \t]*(?:#.*)?)$"
)
# Fields a schema version introduced: a downgrade must not silently drop them.
_ADDED_IN = {"1.1": ("quantization_profile",), "1.2": ("model_card",)}
# Dataset fields 1.2 introduced (lineage.datasets[]).
_DATASET_FIELDS_1_2 = ("role", "description")


@dataclass(frozen=True, slots=True)
class MigrationResult:
    path: Path
    changed: bool
    message: str
    ok: bool = True


def migrate_file(path: Path, target: str) -> MigrationResult:
    if target not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(SUPPORTED_SCHEMA_VERSIONS)
        return MigrationResult(
            path, False, f"unknown target {target}; supported: {supported}", False
        )
    loaded, findings = load_yaml_file(path, str(path))
    if loaded is None:
        first = findings[0]
        return MigrationResult(
            path, False, f"cannot migrate: line {first.line}: {first.message}", False
        )
    current = loaded.data.get("schema_version")
    if not isinstance(current, str) and ("schema_version",) in loaded.plain_non_strings:
        current = loaded.plain_non_strings[("schema_version",)]  # unquoted 1.0: as written
    if current == target:
        return MigrationResult(path, False, f"already at schema_version {target}")
    if current not in SUPPORTED_SCHEMA_VERSIONS:
        return MigrationResult(
            path, False, f"schema_version {current!r} is not a version this tool knows", False
        )
    if SUPPORTED_SCHEMA_VERSIONS.index(target) < SUPPORTED_SCHEMA_VERSIONS.index(str(current)):
        newer = [f for v, fields in _ADDED_IN.items() if v > target for f in fields]
        present = [f for f in newer if f in loaded.data]
        if target < "1.2" and any(
            key in entry for entry in plain_datasets(loaded.data) for key in _DATASET_FIELDS_1_2
        ):
            present.append("lineage.datasets[].role and .description")
        if present:
            return MigrationResult(
                path,
                False,
                f"cannot go back to {target}: remove {', '.join(present)} first (added later)",
                False,
            )
    line_no = loaded.position(("schema_version",)).line
    # Bytes in, bytes out: line endings (CRLF too) and a BOM stay as they were.
    lines = path.read_bytes().decode("utf-8").split("\n")
    line = lines[line_no - 1]
    body = line.rstrip("\r")
    indent = body[: len(body) - len(body.lstrip(" \t\ufeff"))]
    match = _VERSION_LINE.match(body[len(indent) :])
    if match is None:
        return MigrationResult(
            path,
            False,
            f"line {line_no}: schema_version is not on one line; edit it by hand",
            False,
        )
    quote = match["quote"] or '"'
    new_body = f"{indent}{match['key']}{quote}{target}{quote}{match['rest']}"
    lines[line_no - 1] = new_body + line[len(body) :]
    expected = copy.deepcopy({**loaded.data, "schema_version": target})
    if str(current) < "1.2" <= target:
        problem = _add_roles(loaded, lines, expected)
        if problem is not None:
            return MigrationResult(path, False, problem, False)
    text = "\n".join(lines)
    reloaded, _ = load_yaml_text(text, str(path))
    if reloaded is None or reloaded.data != expected:
        return MigrationResult(
            path, False, "the manifest's layout defeats a safe text edit; edit it by hand", False
        )
    path.write_bytes(text.encode("utf-8"))
    return MigrationResult(path, True, f"schema_version {current} -> {target}")


def _add_roles(loaded: LoadedYaml, lines: list[str], expected: dict[str, Any]) -> str | None:
    """Insert `role: ...` after the `name` line of each dataset without one (in `lines`, from
    the last so that earlier line numbers hold) and into `expected`; a problem, or None."""
    measured = measured_names(expected)
    inserts: list[tuple[int, str]] = []
    for index, entry in enumerate(plain_datasets(expected)):
        if "role" in entry:
            continue
        entry["role"] = role = implied_role(entry.get("name"), measured)
        at = loaded.position(("lineage", "datasets", index, "name"))
        line_no, column = at.line, at.column
        before = lines[line_no - 1][: column - 1]
        if before.strip() not in ("", "-"):  # a flow mapping: {name: ...}
            return (
                f"line {line_no}: lineage.datasets[{index}] is not a block mapping; "
                f"add role: {role} by hand"
            )
        eol = "\r" if lines[line_no - 1].endswith("\r") else ""
        inserts.append((line_no, " " * (column - 1) + f"role: {role}{eol}"))
    for line_no, text in reversed(inserts):
        lines.insert(line_no, text)
    return None
