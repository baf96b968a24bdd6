"""Manifest migrations between schema versions, as minimal text edits.

Only the `schema_version` value changes, on its own line, in its own quoting style; every other
byte (comments, key order, indentation) stays as the author wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from registry.load.yamlsafe import load_yaml_file
from registry.versions import SUPPORTED_SCHEMA_VERSIONS

_VERSION_LINE = re.compile(
    r"^(?P<key>schema_version[ \t]*:[ \t]*)(?P<quote>[\"']?)(?P<value>[0-9.]+)(?P=quote)"
    r"(?P<rest>[ \t]*(?:#.*)?)$"
)
# Fields a schema version introduced: a downgrade must not silently drop them.
_ADDED_IN = {"1.1": ("quantization_profile",)}


@dataclass(frozen=True)
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
    path.write_bytes("\n".join(lines).encode("utf-8"))
    return MigrationResult(path, True, f"schema_version {current} -> {target}")
