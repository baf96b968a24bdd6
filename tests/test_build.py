"""`modelreg build`: the site's layout, its validity for the real validators, determinism and
atomicity."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource

from registry.build.site import modelpages
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import (
    PROJECT,
    assert_spdx3_valid,
    commit_all,
    run,
    sha256_of,
    spdx3_validation,
    tree_digest,
)

VERSIONS = [
    "iris-mlp/1.0.0",
    "iris-mlp/1.1.0",
    "iris-mlp/1.2.0",
    "keyword-dense/2.0.0",
    "tiny-convnet/0.1.0",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "site"
    code, out_text, err = run("build", "--root", PROJECT, "--out", out)
    assert code == 0, err
    assert f"built 5 version(s) into {out}/" in out_text
    return out


def test_layout(site: Path) -> None:
    for version in VERSIONS:
        folder = site / "v1/models" / version
        for name in ["index.json", "sbom.spdx.json", "sbom.spdx3.json", "sbom.cdx.json"]:
            assert (folder / name).is_file(), folder / name
        assert (site / "models" / version / "index.html").is_file()
    for path in [
        "index.html",
        "v1/index.json",
        "v1/openapi.yaml",
        "v1/schema/manifest/1.1.json",
        "v1/schema/api/version-record.json",
        "docs/index.html",
        "docs/reference/manifest.html",
        "static/catalog.js",
        "models/iris-mlp/index.html",
        f"artifacts/sha256/{sha256_of(PROJECT / 'models/iris-mlp/1.1.0/model.onnx')}",
        "_headers",
    ]:
        assert (site / path).is_file(), path
    index = json.loads((site / "v1/index.json").read_text())
    assert [m["name"] for m in index["models"]] == ["iris-mlp", "keyword-dense", "tiny-convnet"]
    iris = index["models"][0]
    assert iris["latest"] == "1.2.0" and iris["versions"] == ["1.0.0", "1.1.0", "1.2.0"]


def test_version_record(site: Path) -> None:
    record = json.loads((site / "v1/models/iris-mlp/1.1.0/index.json").read_text())
    manifest = yaml.safe_load((PROJECT / "models/iris-mlp/1.1.0/manifest.yaml").read_text())
    assert record["id"] == "iris-mlp@1.1.0"
    assert record["digest"] == f"sha256:{manifest['artifact']['sha256']}"
    assert record["manifest"] == manifest
    sha256 = manifest["artifact"]["sha256"]
    assert (
        record["artifact"]["url"] == f"https://modelreg.invalid/registry/artifacts/sha256/{sha256}"
    )
    assert record["artifact"]["path"] == "model.onnx"  # the name fetch restores
    served = (site / "v1/models/iris-mlp/1.1.0" / record["artifact"]["href"]).resolve()
    assert served.read_bytes() == (PROJECT / "models/iris-mlp/1.1.0/model.onnx").read_bytes()
    assert record["model_info"]["inputs"] == [
        {"name": "features", "dtype": "float32", "shape": ["batch", 4]}
    ]
    for name, target in record["links"].items():
        resolved = (site / "v1/models/iris-mlp/1.1.0" / target).resolve()
        assert resolved.is_file(), (name, target)


def test_spdx23_passes_pyspdxtools(site: Path) -> None:
    tool = Path(sys.executable).parent / "pyspdxtools"
    for version in VERSIONS:
        path = site / "v1/models" / version / "sbom.spdx.json"
        done = subprocess.run(
            [str(tool), "-i", str(path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        document = json.loads(path.read_text())
        model = next(p for p in document["packages"] if p["SPDXID"] == "SPDXRef-Model")
        assert model["checksums"] == [
            {
                "algorithm": "SHA256",
                "checksumValue": document["packages"][0]["checksums"][0]["checksumValue"],
            }
        ]
        assert model["externalRefs"][0]["referenceType"] == "purl"
        comments = [a["comment"] for a in model["annotations"]]
        assert any(c.startswith("intended_use: ") for c in comments)
        assert any(c.startswith("risk_tier: ") for c in comments)


def test_spdx23_relationships_per_purpose(site: Path) -> None:
    document = json.loads((site / "v1/models/iris-mlp/1.1.0/sbom.spdx.json").read_text())
    relations = {
        (r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"])
        for r in document["relationships"]
    }
    assert (
        "SPDXRef-Dependency-0-runtime-onnxruntime",
        "RUNTIME_DEPENDENCY_OF",
        "SPDXRef-Model",
    ) in relations
    assert (
        "SPDXRef-Dependency-1-training-scikit-learn",
        "BUILD_DEPENDENCY_OF",
        "SPDXRef-Model",
    ) in relations
    assert ("SPDXRef-Model", "DESCENDANT_OF", "SPDXRef-BaseModel") in relations
    assert ("SPDXRef-Model", "GENERATED_FROM", "SPDXRef-Dataset-0-iris") in relations


def test_spdx3_passes_spdx3_validate(site: Path) -> None:
    processes = [
        (version, spdx3_validation(site / "v1/models" / version / "sbom.spdx3.json"))
        for version in VERSIONS
    ]
    for version, process in processes:
        assert_spdx3_valid(process, version)
    graph = json.loads((site / "v1/models/iris-mlp/1.1.0/sbom.spdx3.json").read_text())["@graph"]
    model = next(e for e in graph if e["type"] == "ai_AIPackage")
    assert "ai_standardCompliance" not in model  # no recorded review: no Govern evidence
    assert model["ai_safetyRiskAssessment"] == "low"
    assert model["ai_informationAboutApplication"].startswith("Teaching example")
    kinds = {e["relationshipType"] for e in graph if e["type"] == "Relationship"}
    assert {"trainedOn", "testedOn", "dependsOn", "descendantOf", "hasDeclaredLicense"} <= kinds


def test_cyclonedx_passes_strict_validator(site: Path) -> None:
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    for version in VERSIONS:
        text = (site / "v1/models" / version / "sbom.cdx.json").read_text()
        assert validator.validate_str(text) is None
        component = json.loads(text)["metadata"]["component"]
        assert component["type"] == "machine-learning-model"
        assert "modelParameters" in component["modelCard"]
        assert component["modelCard"]["considerations"]["useCases"]
    card = json.loads((site / "v1/models/iris-mlp/1.1.0/sbom.cdx.json").read_text())["metadata"][
        "component"
    ]["modelCard"]
    assert card["quantitativeAnalysis"]["performanceMetrics"] == [
        {"slice": "iris/test", "type": "accuracy", "value": "0.35"}
    ]


def _openapi_validators(openapi_file: Path) -> list[tuple[re.Pattern[str], Draft202012Validator]]:
    spec = yaml.safe_load(openapi_file.read_text())
    validate_openapi(spec, base_uri=openapi_file.resolve().as_uri())

    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(json.loads(Path(urllib.parse.urlparse(uri).path).read_text()))

    found = []
    for template, item in spec["paths"].items():
        content = next(iter(item["get"]["responses"]["200"]["content"].values()))
        if "$ref" in content["schema"]:
            schema_file = (openapi_file.parent / content["schema"]["$ref"]).resolve()
            schema = {**json.loads(schema_file.read_text()), "$id": schema_file.as_uri()}
        else:
            schema = content["schema"]
        pattern = re.compile("^" + re.sub(r"\\\{[a-z]+\\\}", "[^/]+", re.escape(template)) + "$")
        registry = Registry(retrieve=retrieve)  # type: ignore[call-arg]
        found.append((pattern, Draft202012Validator(schema, registry=registry)))
    return found


def test_openapi_is_valid_and_describes_every_json_file(site: Path) -> None:
    _openapi_validators(PROJECT / "schema/openapi.yaml")
    validators = _openapi_validators(site / "v1/openapi.yaml")
    checked = 0
    for path in sorted((site / "v1").rglob("*.json")):
        relative = "/" + path.relative_to(site).as_posix()
        matching = [v for pattern, v in validators if pattern.match(relative)]
        assert len(matching) == 1, f"no single OpenAPI path for {relative}"
        errors = list(matching[0].iter_errors(json.loads(path.read_text())))
        assert errors == [], (relative, [e.message for e in errors][:3])
        checked += 1
    # index, search, 3 models, each record with 3 SBOMs and chunks.json, a diff.json for each
    # version but a model's first, iris-mlp's aliases.json, events.json with one page,
    # head.json, stats.json, lineage.json and the published schemas
    schemas = len(list((site / "v1/schema").rglob("*.json")))
    models = json.loads((site / "v1/index.json").read_text())["models"]
    versions = sum(len(m["versions"]) for m in models)
    assert versions == 5
    assert checked == 1 + 1 + 3 + versions * 5 + (versions - 3) + 1 + 2 + 1 + 1 + 1 + schemas


# The build's duration, in the monitoring files, is the one figure taken from the clock.
CLOCK_FILES = {"v1/stats.json", "metrics.prom"}


def test_two_builds_are_byte_identical(site: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert run("build", "--root", PROJECT, "--out", again)[0] == 0
    first, second = tree_digest(site), tree_digest(again)
    assert set(first) == set(second)
    assert {k for k in first if first[k] != second[k]} <= CLOCK_FILES


def test_statistics_and_prometheus_metrics(site: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    stats = json.loads((site / "v1/stats.json").read_text())
    assert stats["versions"] == 5 and stats["models"] == 3
    assert stats["by_format"] == {"onnx": 3, "tflite": 1, "torchscript": 1}
    assert stats["by_risk_tier"] == {"tier-1": 4, "tier-2": 1}
    sizes = [(PROJECT / "models" / v).glob("model.*") for v in VERSIONS]
    assert stats["artifact_bytes"] == sum(p.stat().st_size for found in sizes for p in found)
    families = {
        f.name: f for f in text_string_to_metric_families((site / "metrics.prom").read_text())
    }
    assert families["modelreg_versions"].samples[0].value == 5
    by_format = {
        s.labels["format"]: s.value for s in families["modelreg_versions_by_format"].samples
    }
    assert by_format == {"onnx": 3.0, "tflite": 1.0, "torchscript": 1.0}
    assert families["modelreg_build_duration_seconds"].samples[0].value > 0


class _HeadCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_head = False
        self.first: tuple[str, dict[str, str | None]] | None = None
        self.absolute_links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif self.in_head and self.first is None:
            self.first = (tag, dict(attrs))
        for name, value in attrs:
            if name in ("href", "src") and value and value.startswith("/"):
                self.absolute_links.append(value)


def test_every_page_starts_with_csp_and_links_relatively(site: Path) -> None:
    pages = [p for p in site.rglob("*.html") if "docs" not in p.relative_to(site).parts]
    assert len(pages) == 1 + 1 + 1 + 3 + 5  # home, timeline, lineage, models, versions
    for page in pages:
        check = _HeadCheck()
        check.feed(page.read_text())
        assert check.first is not None
        tag, attrs = check.first
        assert tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy", page
        assert "script-src 'self'" in (attrs.get("content") or "")
        assert check.absolute_links == [], page


def _small_registry(root: Path) -> None:
    model = VALID_REAL_MODELS["nmp.tflite"]
    write_version(root, manifest_data(model, "pitch", "1.0.0"), model.path)
    other = VALID_REAL_MODELS["logreg_iris.onnx"]
    write_version(root, manifest_data(other, "iris", "1.0.0"), other.path)
    (root / "registry.yaml").write_text(
        "name: Small registry\nbase_url: https://models.example.org/r/\n"
    )
    commit_all(root, "two models", "2025-03-04T05:06:07+00:00")


def test_build_refuses_errors_and_allow_invalid_excludes(tmp_path: Path) -> None:
    _small_registry(tmp_path)
    manifest = tmp_path / "models/iris/1.0.0/manifest.yaml"
    manifest.write_text(manifest.read_text().replace("license: MIT", "license: Nope-1.0"))
    out = tmp_path / "site"
    code, _, err = run("build", "--root", tmp_path, "--out", out)
    assert code == 1
    assert "iris@1.0.0: 1 error(s), first: models/iris/1.0.0/manifest.yaml:" in err
    assert "license.invalid" in err and "--allow-invalid" in err
    assert not out.exists()
    code, text, _ = run("build", "--root", tmp_path, "--out", out, "--allow-invalid")
    assert code == 0
    assert "left out (validation errors): iris@1.0.0" in text
    index = json.loads((out / "v1/index.json").read_text())
    assert [m["name"] for m in index["models"]] == ["pitch"]


def test_base_url_and_git_times(tmp_path: Path) -> None:
    _small_registry(tmp_path)
    out = tmp_path / "site"
    assert (
        run(
            "build",
            "--root",
            tmp_path,
            "--out",
            out,
            "--base-url",
            "https://cdn.example.net/teams/ml/registry",
        )[0]
        == 0
    )
    record = json.loads((out / "v1/models/pitch/1.0.0/index.json").read_text())
    sha256 = record["artifact"]["sha256"]
    assert record["artifact"]["url"] == (
        f"https://cdn.example.net/teams/ml/registry/artifacts/sha256/{sha256}"
    )
    assert record["history"]["published"]["timestamp"] == "2025-03-04T05:06:07Z"
    index = json.loads((out / "v1/index.json").read_text())
    assert index["generated_at"] == "2025-03-04T05:06:07Z"
    spdx = json.loads((out / "v1/models/pitch/1.0.0/sbom.spdx.json").read_text())
    assert spdx["creationInfo"]["created"] == "2025-03-04T05:06:07Z"
    assert not (out / "docs").exists()  # this registry has no mkdocs.yml


def test_failed_build_leaves_previous_site_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_registry(tmp_path)
    out = tmp_path / "site"
    assert run("build", "--root", tmp_path, "--out", out)[0] == 0
    before = tree_digest(out)
    calls = []
    original = modelpages._write_version

    def failing(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        original(*args, **kwargs)

    monkeypatch.setattr(modelpages, "_write_version", failing)
    code, _, err = run("build", "--root", tmp_path, "--out", out, "--force")
    # A full disk is the machine's failure, not a bug: exit 1, no traceback (issue 14).
    assert code == 1 and "No space left on device" in err
    assert "Traceback" not in err
    assert len(calls) == 2
    assert tree_digest(out) == before
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".git", "models", "registry.yaml", "site"]


def test_an_output_the_machine_refuses_is_a_failure_naming_the_path(tmp_path: Path) -> None:
    """A target the build cannot create (a file where its parent folder should be; as root, a
    read-only folder would not stop it) is exit 1 with the path, not an internal error."""
    _small_registry(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    code, _, err = run("build", "--root", tmp_path, "--out", blocker / "site")
    assert code == 1, err
    assert f"modelreg build: {blocker}: " in err
    assert "Traceback" not in err and "internal error" not in err
    assert blocker.read_text() == "a file where a folder should be"


def test_broken_docs_config_fails_before_publishing(tmp_path: Path) -> None:
    _small_registry(tmp_path)
    out = tmp_path / "site"
    assert run("build", "--root", tmp_path, "--out", out)[0] == 0
    before = tree_digest(out)
    shutil.copytree(PROJECT / "docs", tmp_path / "docs")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: broken\nnav:\n  - Missing: nowhere.md\ntheme:\n  name: no-such-theme\n"
    )
    code, _, _ = run("build", "--root", tmp_path, "--out", out)
    assert code != 0
    assert tree_digest(out) == before


def test_search_index_is_compact_and_lists_every_model(site: Path) -> None:
    search = json.loads((site / "v1/search.json").read_text())
    assert [m["name"] for m in search["models"]] == ["iris-mlp", "keyword-dense", "tiny-convnet"]
    assert search["count"] == 3
    published = [json.dumps(m, separators=(",", ":"), ensure_ascii=False) for m in search["models"]]
    assert max(len(m.encode()) for m in published) < 600  # a few hundred bytes, as published
    iris = search["models"][0]
    assert iris["versions"] == ["1.0.0", "1.1.0", "1.2.0"]
    assert iris["flags"] == ["drift"]  # 1.0.0's flag, although 1.2.0 is the latest
    assert iris["size"] > 0 and iris["updated"].endswith("Z")  # what the catalog sorts by
    page = (site / "index.html").read_text()
    assert 'data-index="v1/search.json"' in page


def test_a_models_index_links_its_events_instead_of_copying_them(site: Path) -> None:
    model = json.loads((site / "v1/models/iris-mlp/index.json").read_text())
    assert model["events"] and all("payload" not in e for e in model["events"])
    first = model["events"][0]
    page = json.loads((site / "v1/models/iris-mlp" / first["page"]).resolve().read_text())
    assert next(e for e in page["events"] if e["seq"] == first["seq"])["hash"] == first["hash"]


def test_the_registry_index_is_paginated_past_its_page_size(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    shutil.copytree(PROJECT / "models", root / "models")
    (root / "registry.yaml").write_text("name: paged\nindex_page_size: 2\n")
    commit_all(root, "three models", "2026-01-01T00:00:00+00:00")  # after the example's review
    code, out, err = run("build", "--root", root, "--out", tmp_path / "site")
    assert code == 0, out + err
    v1 = tmp_path / "site/v1"
    index = json.loads((v1 / "index.json").read_text())
    assert [m["name"] for m in index["models"]] == ["iris-mlp", "keyword-dense"]
    assert index["count"]["models"] == 3
    assert index["pages"] == {
        "count": 2,
        "page_size": 2,
        "first": "index/1.json",
        "previous": None,
        "next": "index/2.json",
    }
    last = json.loads((v1 / "index/2.json").read_text())
    assert [m["name"] for m in last["models"]] == ["tiny-convnet"]
    assert (last["page"], last["pages"], last["total"]) == (2, 2, 3)
    assert last["links"]["previous"] == "1.json" and last["links"]["next"] is None
    assert json.loads((v1 / "index/1.json").read_text())["models"] == [
        {**m, "url": m["url"].replace("models/", "../models/", 1), "html": "../" + m["html"]}
        for m in index["models"]
    ]
