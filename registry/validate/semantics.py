"""Checks a JSON Schema cannot express: names against folders, paths, specifiers, dates,
references (the license: validate/license.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from registry.findings import Finding, error
from registry.infra.schemafiles import parse_rfc3339
from registry.load.layout import VersionDir
from registry.load.manifest import Manifest
from registry.load.pathrules import path_problem, risky_name
from registry.validate.license import license_problem as license_problem  # its former home

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
            "manifest.name-folder-mismatch",
            f"model_name `{manifest.model_name}` differs from its folder `{version.name}`; "
            "rename one so they are equal",
            "model_name",
        )
    if manifest.version != version.version:
        fail(
            "manifest.version-folder-mismatch",
            f"version `{manifest.version}` differs from its folder `{version.version}`; "
            "rename one so they are equal",
            "version",
        )
    art = manifest.artifact
    if (art.path is None) == (art.url is None):
        fail(
            "artifact.location",
            "artifact needs exactly one of `path` (a file beside the manifest) or `url`",
            "artifact",
        )
    if art.path is not None and any(e.url is not None for e in art.external_data):
        fail(
            "artifact.location",
            "external data has a url while the artifact is a file beside the manifest; keep "
            "the external data beside it too, or name the artifact by url as well",
            "artifact",
            "external_data",
        )
    for path, value in _artifact_paths(manifest):
        bad = path_problem(value)
        if bad:
            fail(bad[0], f"{'.'.join(map(str, path))} `{value}` {bad[1]}", *path)
        elif risky_name(value):
            fail(
                "path.risky-name",
                f"{'.'.join(map(str, path))} `{value}` has a suffix a browser renders or runs; "
                "a model file never needs one: name it for its format (or with no suffix, as "
                "PyTorch names external tensors)",
                *path,
            )
    for runtime, spec in manifest.compatibility_matrix.items():
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
    deprecation, review = manifest.deprecation, manifest.review
    dated: list[tuple[tuple[str, ...], str | None]] = [
        (("deprecation", "effective_at"), deprecation.effective_at if deprecation else None),
        (("governance", "review", "approved_at"), review.approved_at if review else None),
    ]
    for path, found in dated:
        if found is not None and not _is_date(found):
            fail(
                "manifest.invalid-date",
                f"{'.'.join(path)} `{found}` is not an RFC 3339 date (2025-01-31) or date-time "
                "(2025-01-31T12:00:00Z)",
                *path,
            )
    if manifest.redirect_to == manifest.id:
        fail("reference.self", "deprecation.redirect_to names this very version", "deprecation")
    for path, problem in _sbom_values(manifest):
        fail(*problem, *path)
    return findings


def _sbom_values(manifest: Manifest) -> Iterator[tuple[tuple[str | int, ...], tuple[str, str]]]:
    """URLs and package URLs the SBOMs carry, held to what the libraries that write them accept
    (the schema's patterns are looser: RFC 3986's escapes and fragment, packageurl's parser): a
    value they refuse would stop the build after validation passed."""
    data = manifest.data
    urls: list[tuple[tuple[str | int, ...], Any]] = [
        (("artifact", "url"), data.get("artifact", {}).get("url")),
        (("publisher", "url"), (data.get("publisher") or {}).get("url")),
    ]
    for index, entry in enumerate(data.get("artifact", {}).get("external_data") or []):
        urls.append((("artifact", "external_data", index, "url"), entry.get("url")))
    lineage = data.get("lineage") or {}
    for index, dataset in enumerate(lineage.get("datasets") or []):
        urls.append((("lineage", "datasets", index, "url"), dataset.get("url")))
    code = lineage.get("training_code") or {}
    urls.append((("lineage", "training_code", "repository"), code.get("repository")))
    for path, url in urls:
        if isinstance(url, str) and _uri_refused(url):
            message = (
                f"{'.'.join(map(str, path))} `{url}` is not a URI the SBOMs can hold "
                "(a `%` must start two hex digits; one `#` at most): encode it"
            )
            yield path, ("manifest.invalid-url", message)
    for index, dependency in enumerate(data.get("dependencies") or []):
        purl = dependency.get("purl")
        problem = _purl_problem(purl) if isinstance(purl, str) else None
        if problem:
            message = (
                f"dependencies[{index}].purl `{purl}` is not a package URL ({problem}); write "
                "it as pkg:type/namespace/name@version (github.com/package-url/purl-spec)"
            )
            yield ("dependencies", index, "purl"), ("manifest.invalid-purl", message)


# RFC 3986: `%` starts an escape of two hex digits, and one `#` starts the fragment, which holds
# no other. cyclonedx-python-lib's XsUri refuses exactly these (tests/test_sbom_values.py).
_BAD_URI = re.compile(r"%(?![0-9A-Fa-f]{2})|#.*#")  # within a line, as XsUri reads it


def _uri_refused(url: str) -> bool:
    return _BAD_URI.search(url) is not None


def _purl_problem(purl: str) -> str | None:
    from packageurl import PackageURL

    try:
        PackageURL.from_string(purl)
    except ValueError as exc:
        return str(exc)
    return None
