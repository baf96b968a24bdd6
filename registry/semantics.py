"""Checks a JSON Schema cannot express: names against folders, licenses, paths, specifiers."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath

from license_expression import ExpressionError, Licensing, get_spdx_licensing
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from registry.findings import Finding, error
from registry.layout import VersionDir
from registry.manifest import Manifest
from registry.schemas import parse_rfc3339

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@functools.cache
def spdx_licensing() -> Licensing:
    return get_spdx_licensing()


def license_problem(expression: str) -> str | None:
    """Why `expression` is not a valid SPDX license expression, or None when it is."""
    licensing = spdx_licensing()
    try:
        parsed = licensing.parse(expression, strict=True)
    except ExpressionError as exc:  # the parse errors of license-expression derive from it
        return str(exc)
    except Exception as exc:
        return f"cannot parse it ({exc})"
    if parsed is None:
        return "it is empty"
    unknown = [k for k in licensing.unknown_license_keys(parsed) if not k.startswith("LicenseRef-")]
    if unknown:
        return f"unknown license identifier(s) {', '.join(unknown)}"
    operator = re.search(r"\s(?!AND\s|OR\s|WITH\s)((?i:and|or|with))\s", f" {expression} ")
    if operator:
        return f"operators are upper case: write {operator.group(1).upper()}"
    keys = licensing.license_keys(parsed)
    if any(key not in expression for key in keys):
        return f"identifiers are case-sensitive: write it as {parsed.render('{symbol.key}')}"
    return None


def path_problem(value: str) -> tuple[str, str] | None:
    """(code, reason) when a manifest path is not a plain relative path inside its folder."""
    if "\\" in value:
        return "path.backslash", "uses a backslash; use `/`"
    if "\x00" in value:
        return "path.invalid", "contains a NUL byte"
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        return "path.absolute", "is absolute; give a path relative to the manifest's folder"
    if ".." in PurePosixPath(value).parts:
        return "path.parent-reference", "contains `..`; the file must be inside the version folder"
    if value in ("", ".") or value.endswith("/"):
        return "path.invalid", "does not name a file"
    return None


def _is_date(value: str) -> bool:
    if _DATE.match(value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return parse_rfc3339(value) is not None


def _artifact_paths(manifest: Manifest) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if manifest.artifact.path is not None:
        yield ("artifact", "path"), manifest.artifact.path
    for index, extra in enumerate(manifest.artifact.external_data):
        yield ("artifact", "external_data", index, "path"), extra.path


def check_semantics(manifest: Manifest, version: VersionDir, display: str) -> list[Finding]:
    findings: list[Finding] = []

    def fail(code: str, message: str, *path: str | int) -> None:
        findings.append(error(code, message, display, manifest.field_position(*path)))

    if manifest.model_name != version.name:
        fail(
            "manifest.folder-mismatch",
            f"model_name `{manifest.model_name}` differs from its folder `{version.name}`; "
            "rename one so they are equal",
            "model_name",
        )
    if manifest.version != version.version:
        fail(
            "manifest.folder-mismatch",
            f"version `{manifest.version}` differs from its folder `{version.version}`; "
            "rename one so they are equal",
            "version",
        )
    problem = license_problem(manifest.license)
    if problem:
        fail(
            "license.invalid",
            f"license `{manifest.license}` is not a valid SPDX license expression: {problem} "
            "(see https://spdx.org/licenses/)",
            "license",
        )
    art = manifest.artifact
    if (art.path is None) == (art.url is None):
        fail(
            "artifact.location",
            "artifact needs exactly one of `path` (a file beside the manifest) or `url`",
            "artifact",
        )
    for path, value in _artifact_paths(manifest):
        bad = path_problem(value)
        if bad:
            fail(bad[0], f"{'.'.join(map(str, path))} `{value}` {bad[1]}", *path)
    for runtime, spec in (manifest.data.get("compatibility_matrix") or {}).items():
        try:
            SpecifierSet(spec)
        except InvalidSpecifier:
            fail(
                "manifest.invalid-specifier",
                f"compatibility_matrix.{runtime} `{spec}` is not a PEP 440 version specifier "
                '(e.g. ">=1.16,<2")',
                "compatibility_matrix",
                runtime,
            )
    dated = [("deprecation", "effective_at"), ("governance", "review", "approved_at")]
    for path in dated:
        found: object = manifest.data
        for part in path:
            found = found.get(part) if isinstance(found, Mapping) else None
        if isinstance(found, str) and not _is_date(found):
            fail(
                "manifest.invalid-date",
                f"{'.'.join(path)} `{found}` is not an RFC 3339 date (2025-01-31) or date-time "
                "(2025-01-31T12:00:00Z)",
                *path,
            )
    redirect = (manifest.data.get("deprecation") or {}).get("redirect_to")
    if redirect == manifest.id:
        fail("reference.self", "deprecation.redirect_to names this very version", "deprecation")
    return findings
