"""`modelreg build` at its edges: where it may write, odd but valid manifests, broken configuration,
and registry-wide errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from registry.build.sbom.spdx2 import download_location
from tests.factories.https_server import Served
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import add_version, write_version
from tests.helpers import PROJECT, commit_all, run, tree_digest

MODEL = VALID_REAL_MODELS["nmp.tflite"]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: Edges\nbase_url: https://models.example.org/\n")
    add_version(root, "pitch", "1.0.0")
    commit_all(root, "pitch", "2025-01-01T00:00:00+00:00")
    return root


@pytest.mark.parametrize("target", [".", "..", "models", "models/pitch", "registry.yaml"])
def test_output_that_would_destroy_the_registry_is_refused(registry: Path, target: str) -> None:
    before = tree_digest(registry)
    code, _, err = run("build", "--root", registry, "--out", registry / target)
    assert code == 1
    assert "--out" in err
    assert tree_digest(registry) == before


def test_output_that_is_not_a_site_is_refused(registry: Path, tmp_path: Path) -> None:
    other = tmp_path / "documents"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    code, _, err = run("build", "--root", registry, "--out", other)
    assert code == 1 and "not a site built by modelreg" in err
    assert (other / "thesis.tex").read_text() == "precious"
    site = tmp_path / "site"
    assert run("build", "--root", registry, "--out", site)[0] == 0
    assert run("build", "--root", registry, "--out", site)[0] == 0  # a previous site: replaced


def test_license_ref_and_repeated_dependency_names(registry: Path, tmp_path: Path) -> None:
    data = manifest_data(MODEL, "pitch", "2.0.0")
    data["license"] = "LicenseRef-Internal-Use OR MIT"
    data["dependencies"] = [
        {"name": "numpy", "version": "1.26", "purpose": "runtime"},
        {"name": "numpy", "version": "2.0", "purpose": "runtime"},
        {"name": "foo bar", "version": "1", "purpose": "training"},
        {"name": "foo-bar", "version": "1", "purpose": "training"},
    ]
    write_version(registry, data, MODEL.path)
    commit_all(registry, "pitch 2", "2025-01-02T00:00:00+00:00")
    code, _, err = run("build", "--root", registry, "--out", tmp_path / "site")
    assert code == 0, err
    spdx = json.loads((tmp_path / "site/v1/models/pitch/2.0.0/sbom.spdx.json").read_text())
    assert spdx["hasExtractedLicensingInfos"][0]["licenseId"] == "LicenseRef-Internal-Use"
    ids = [p["SPDXID"] for p in spdx["packages"]]
    assert len(ids) == len(set(ids))


def test_url_only_artifact_keeps_its_url_in_every_sbom(
    registry: Path, tmp_path: Path, served: Served
) -> None:
    url = served.url("pitch/nmp.tflite")
    served.files["pitch/nmp.tflite"] = MODEL.path.read_bytes()
    with (registry / "registry.yaml").open("a") as config:
        config.write(f"artifacts:\n  allowed_hosts: ['{served.host}']\n")
    data = manifest_data(MODEL, "remote", "1.0.0")
    del data["artifact"]["path"]
    data["artifact"]["url"] = url
    write_version(registry, data)
    commit_all(registry, "remote", "2025-01-02T00:00:00+00:00")
    code, _, err = run("build", "--root", registry, "--out", tmp_path / "site")
    assert code == 0, err
    folder = tmp_path / "site/v1/models/remote/1.0.0"
    assert json.loads((folder / "index.json").read_text())["artifact"]["url"] == url
    spdx = json.loads((folder / "sbom.spdx.json").read_text())
    # spdx-tools' own URI rule refuses loopback and bare-IP hosts (the test server's): SPDX 2.3
    # then says NOASSERTION; a public URL is kept as it is.
    assert spdx["packages"][0]["downloadLocation"] == "NOASSERTION"
    public = "https://downloads.example.org/pitch/nmp.tflite"
    assert download_location(public) == public
    assert url in (folder / "sbom.spdx3.json").read_text()
    assert url in (folder / "sbom.cdx.json").read_text()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (
            lambda r: (r / "registry.yaml").write_text(
                "name: x\nartifact_url_template: 'https://cdn.example.org/{md5}/{path}'\n"
            ),
            "unknown placeholder(s) md5",
        ),
        (lambda r: (r / "mkdocs.yml").write_text("site_name: x\n"), "docs/ is not"),
        (
            lambda r: (
                shutil.copytree(PROJECT / "docs", r / "docs"),
                (r / "mkdocs.yml").write_text("site_name: x\ntheme:\n  name: no-such\n"),
            ),
            "mkdocs.config.unsafe: theme must be one of",
        ),
        (
            lambda r: (
                shutil.copytree(PROJECT / "docs", r / "docs"),
                (r / "mkdocs.yml").write_text(
                    "site_name: x\nmarkdown_extensions:\n  - toc:\n      no_such_option: 1\n"
                ),
            ),
            "documentation build",
        ),
    ],
)
def test_broken_configuration_is_a_clear_error(
    registry: Path, tmp_path: Path, setup: object, message: str
) -> None:
    setup(registry)  # type: ignore[operator]
    code, _, err = run("build", "--root", registry, "--out", tmp_path / "site")
    assert code == 1, err
    assert message in err
    assert 'File "' not in err  # a message, not a traceback


def test_source_date_epoch_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "plain"
    add_version(root, "pitch", "1.0.0")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run("build", "--root", root, "--out", tmp_path / "site")[0] == 0
    index = json.loads((tmp_path / "site/v1/index.json").read_text())
    assert index["generated_at"] == "2023-11-14T22:13:20Z"
    assert json.loads((tmp_path / "site/v1/log/head.json").read_text())["partial"] is True
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    code, _, err = run("build", "--root", root, "--out", tmp_path / "site")
    assert code == 1 and "SOURCE_DATE_EPOCH" in err


def test_registry_wide_errors_refuse_even_with_allow_invalid(
    registry: Path, tmp_path: Path
) -> None:
    (registry / "models/evil").symlink_to("/etc")
    commit_all(registry, "a link", "2025-01-03T00:00:00+00:00")
    for extra in ((), ("--allow-invalid",)):
        code, _, err = run("build", "--root", registry, "--out", tmp_path / "site", *extra)
        assert code == 1
        assert "models/evil: security.symlink" in err
    assert not (tmp_path / "site").exists()


def test_changed_since_still_checks_links(registry: Path) -> None:
    (registry / "models/evil").symlink_to("/etc")
    code, out, _ = run(
        "validate", "--root", registry, "--changed-since", "HEAD", "--format", "json"
    )
    assert code == 1
    assert ("security.symlink", "models/evil") in {
        (f["code"], f["file"]) for f in json.loads(out)["findings"]
    }


def test_docs_pages_start_with_a_csp(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run("build", "--root", PROJECT, "--out", site)[0] == 0
    for page in (site / "docs").rglob("*.html"):
        head = page.read_text().split("<head>", 1)[1].lstrip()
        assert head.startswith('<meta http-equiv="Content-Security-Policy"'), page


def test_cyclonedx_dependency_graph_is_complete(registry: Path, tmp_path: Path) -> None:
    """The model depends on every component its BOM lists, so cyclonedx-python-lib finds the
    graph complete (before, a model with datasets but no runtime library made it warn, a
    UserWarning printed by `modelreg build`)."""
    import warnings

    from cyclonedx.model.bom import Bom

    add_version(
        registry,
        "trained",
        "1.0.0",
        schema_version="1.2",
        lineage={"datasets": [{"name": "speech", "role": "training"}]},
        dependencies=[{"name": "tensorflow", "version": "2.15.0", "purpose": "training"}],
    )
    add_version(
        registry,
        "evaluated",
        "1.0.0",
        schema_version="1.2",
        lineage={"datasets": [{"name": "holdout", "role": "evaluation"}]},
    )
    commit_all(registry, "datasets", "2025-01-02T00:00:00+00:00")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, _, err = run("build", "--root", registry, "--out", tmp_path / "site", "--no-cache")
    assert code == 0, err
    assert "Warning" not in err
    for name in ("pitch", "trained", "evaluated"):
        document = json.loads((tmp_path / f"site/v1/models/{name}/1.0.0/sbom.cdx.json").read_text())
        graph = {entry["ref"]: entry.get("dependsOn", []) for entry in document["dependencies"]}
        listed = {component["bom-ref"] for component in document.get("components", [])}
        assert set(graph["model"]) == listed and set(graph) == listed | {"model"}, name
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the library's own completeness check, now silent
            assert Bom.from_json(document).validate()  # type: ignore[attr-defined]


def _links(document: dict[str, object]) -> dict[str, str]:
    links = document["links"]
    assert isinstance(links, dict)
    return {key: value for key, value in links.items() if value is not None}


def test_every_index_link_is_a_file_of_the_site(registry: Path, tmp_path: Path) -> None:
    """A static host has no listing of a folder: `links.schemas` names the schemas' index,
    which refers to every published schema (before: `schema/`, a 404)."""
    from jsonschema import Draft202012Validator

    add_version(registry, "other", "1.0.0")
    with (registry / "registry.yaml").open("a") as config:
        config.write("index_page_size: 1\n")  # pages too, with their own links
    commit_all(registry, "other", "2025-01-02T00:00:00+00:00")
    site = tmp_path / "site"
    code, _, err = run("build", "--root", registry, "--out", site)
    assert code == 0, err
    documents = [site / "v1/index.json", *sorted((site / "v1/index").glob("*.json"))]
    assert len(documents) == 3
    for document in documents:
        for key, href in _links(json.loads(document.read_text())).items():
            target = (document.parent / href).resolve()
            assert target.is_file() and target.is_relative_to(site), (document.name, key, href)
    schemas = site / "v1/schema"
    index_file = (site / "v1" / _links(json.loads(documents[0].read_text()))["schemas"]).resolve()
    assert index_file == schemas / "index.json"
    index = json.loads(index_file.read_text())
    Draft202012Validator.check_schema(index)  # OpenAPI says every file of v1/schema/ is one
    published = {p.relative_to(schemas).as_posix() for p in schemas.rglob("*.json")}
    assert set(index["$defs"]) == published - {"index.json"}
    for relative, entry in index["$defs"].items():
        assert entry["$ref"] == relative
        assert entry["title"] == json.loads((schemas / relative).read_text())["title"]


@pytest.mark.parametrize("base_url", ["https://host.example/registry/", "https://host.example/"])
def test_docs_error_page_works_under_any_base_path(
    registry: Path, tmp_path: Path, base_url: str
) -> None:
    """MkDocs writes 404.html with absolute paths from site_url: served anywhere else than
    base_url (`http.server -d site`, a copy on disk), it had no styles, scripts or links."""
    import re

    shutil.copytree(PROJECT / "docs", registry / "docs")
    shutil.copy(PROJECT / "mkdocs.yml", registry / "mkdocs.yml")
    site = tmp_path / "site"
    code, _, err = run("build", "--root", registry, "--out", site, "--base-url", base_url)
    assert code == 0, err
    page = (site / "docs/404.html").read_text()
    references = re.findall(r'(?:href|src)="([^"]+)"', page)
    config = json.loads(re.findall(r'<script id="__config"[^>]*>(.*?)</script>', page)[0])
    references.append(config["search"])
    local = [r for r in references if not r.startswith(("https:", "#"))]
    assert len(local) > 10 and any(r.endswith(".css") for r in local)
    for reference in local:
        assert not reference.startswith("/"), reference  # relative, as every other page
        assert (site / "docs" / reference.split("#")[0]).is_file(), reference
    assert config["base"] == "."
    assert '__md_scope=new URL(".",location)' in page
    assert "host.example" not in page
