"""Values the schema allows but the SBOM libraries refuse are findings at validation, at their
line, not a crash of the build after validation passed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from registry.validate.semantics import _uri_refused
from tests.factories.registries import add_version, manifest_path, new_registry
from tests.helpers import commit_all, run, validate_json


def _line(root: Path, name: str, *keys: str | int) -> int:
    node: Any = yaml.compose(manifest_path(root, name, "1.0.0").read_text())
    line = 0
    for step in keys:
        if isinstance(step, int):
            node = node.value[step]
            continue
        key, node = next((k, v) for k, v in node.value if k.value == step)
        line = key.start_mark.line + 1
    return line


def test_urls_and_purls_the_sboms_cannot_hold_are_refused(tmp_path: Path) -> None:
    root = new_registry(tmp_path / "registry")
    add_version(
        root, "two-fragments", "1.0.0", publisher={"name": "p", "url": "https://e.org/#a#b"}
    )
    code = {"repository": "https://example.org/%zz", "commit": "abcdef1"}
    add_version(root, "bad-escape", "1.0.0", lineage={"training_code": code})
    dependency = {"name": "x", "version": "1", "purpose": "runtime", "purl": "pkg:pypi/a?b"}
    add_version(root, "bad-purl", "1.0.0", dependencies=[dependency])
    _, report = validate_json(root)
    found = {
        (f["file"].split("/")[1], f["code"], f["line"])
        for f in report["findings"]
        if f["code"] in ("manifest.invalid-url", "manifest.invalid-purl")
    }
    assert found == {
        ("two-fragments", "manifest.invalid-url", _line(root, "two-fragments", "publisher", "url")),
        (
            "bad-escape",
            "manifest.invalid-url",
            _line(root, "bad-escape", "lineage", "training_code", "repository"),
        ),
        ("bad-purl", "manifest.invalid-purl", _line(root, "bad-purl", "dependencies", 0, "purl")),
    }


def test_a_lower_case_rfc3339_time_is_built(tmp_path: Path) -> None:
    root = new_registry(tmp_path / "registry", "name: t\nbase_url: https://models.example.org/\n")
    add_version(root, "lower", "1.0.0", exported_at="2024-01-01t00:00:00z")
    commit_all(root, "lower case")
    code, _, err = run("build", "--root", root, "--out", tmp_path / "site")
    assert code == 0, err
    sbom = (tmp_path / "site/v1/models/lower/1.0.0/sbom.cdx.json").read_text()
    assert "2024-01-01T00:00:00Z" in sbom


URIS = [
    "https://example.org/",
    "https://example.org/a%20b#frag",
    "https://example.org/%zz",
    "https://example.org/%4",
    "https://example.org/%4g",
    "https://example.org/#a#b",
    "https://example.org/a#b?c#",
    "https://example.org/%E2%82%AC",
    "https://example.org/%e2%82%ac",
    "https://example.org/\n#a\n#b",
    "https://example.org/100%",
]


@pytest.mark.parametrize("uri", URIS)
def test_the_uri_rule_is_the_sbom_library_s(uri: str) -> None:
    """Validation runs without the build extra, so it holds URLs to RFC 3986's rule itself:
    it must refuse what cyclonedx-python-lib's XsUri refuses, and only that."""
    from cyclonedx.exception.model import InvalidUriException
    from cyclonedx.model import XsUri

    try:
        XsUri(uri)
        refused = False
    except InvalidUriException:
        refused = True
    assert _uri_refused(uri) is refused
