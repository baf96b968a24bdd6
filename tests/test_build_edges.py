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
