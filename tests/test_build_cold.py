"""What a cold build no longer checks at every build (issue 19, target 3), checked here instead with
the official validators: every kind of SBOM the build writes, over manifests from the fullest to
the barest and one version per model format, passes spdx-tools, spdx3-validate and
cyclonedx-python-lib's strict 1.6 validator; spdx-tools would have found no duplicate to drop;
each model card is what huggingface_hub writes; each diff is the one of the two records."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.document_utils import create_document_without_duplicates
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from registry.build import hfcard
from registry.build.diff import version_diff
from registry.load.manifest import load_manifest
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import new_registry, write_version
from tests.helpers import assert_spdx3_valid, commit_all, run, spdx3_validation
from tests.test_sbom_mapping import FULL, MODEL

# The fullest manifest, with what SBOMs find awkward: a LicenseRef, the same author twice, a
# dataset with a name and a role only, text with quotes, markup and non-ASCII letters.
EDGE: dict[str, Any] = {
    **copy.deepcopy(FULL),
    "license": "LicenseRef-Internal-Use OR MIT",
    "description": 'Détecteur « mot-clé » with "quotes", <b>markup</b> and `code`.',
    "authors": [{"name": "Ada Lovelace"}, {"name": "Ada Lovelace"}],
    "status": "active",
}
del EDGE["deprecation"]
EDGE["lineage"]["datasets"].append({"name": "bare-set", "role": "validation"})
EDGE["lineage"]["base_model"] = "edge@1.0.0"
EDGE_VERSIONS = ["edge/1.0.0", "edge/1.1.0"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = new_registry(tmp_path_factory.mktemp("cold") / "registry")
    write_version(root, manifest_data(MODEL, "edge", "1.0.0"), MODEL.path)  # the barest
    write_version(root, {**manifest_data(MODEL, "edge", "1.1.0"), **EDGE}, MODEL.path)
    for index, model in enumerate(VALID_REAL_MODELS.values()):  # every format, and its card
        write_version(root, manifest_data(model, f"format-{index}", "0.1.0"), model.path)
    commit_all(root, "versions", "2025-04-05T00:00:00+00:00")
    code, out, err = run("build", "--root", root, "--out", root / "site")
    assert code == 0, out + err
    return root / "site"


def _versions(site: Path) -> list[Path]:
    found = sorted(path.parent for path in site.glob("v1/models/*/*/sbom.cdx.json"))
    assert len(found) == 2 + len(VALID_REAL_MODELS)
    return found


def test_every_cyclonedx_document_passes_the_strict_validator(site: Path) -> None:
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    for folder in _versions(site):
        problem = validator.validate_str((folder / "sbom.cdx.json").read_text())
        assert problem is None, (folder.name, problem)


def test_every_spdx23_document_passes_spdx_tools_with_nothing_to_drop(site: Path) -> None:
    for folder in _versions(site):
        document = parse_file(str(folder / "sbom.spdx.json"))
        assert validate_full_spdx_document(document) == [], folder
        # What spdx-tools' writer would have removed had the build asked it to.
        assert create_document_without_duplicates(document) == document, folder


def test_the_edge_spdx3_documents_pass_spdx3_validate(site: Path) -> None:
    # The other versions' documents have the form test_build checks with the same validator.
    processes = [
        (version, spdx3_validation(site / "v1/models" / version / "sbom.spdx3.json"))
        for version in EDGE_VERSIONS
    ]
    for version, process in processes:
        assert_spdx3_valid(process, version)


def test_each_model_card_is_what_huggingface_hub_writes(site: Path) -> None:
    for folder in _versions(site):
        text = (folder / "README.md").read_text()
        assert hfcard.through_hub(text) == text, folder


def test_a_card_with_a_carriage_return_goes_through_huggingface_hub(tmp_path: Path) -> None:
    # The loader refuses a CR in a manifest (yaml.control-character); a Manifest made otherwise
    # still gets the card huggingface_hub writes, whose line break it chooses from the text.
    path = write_version(tmp_path, manifest_data(MODEL, "edge", "1.0.0")) / "manifest.yaml"
    manifest, findings = load_manifest(path, "manifest.yaml")
    assert manifest is not None, findings
    manifest = dataclasses.replace(manifest, description="one\rtwo\rthree\r")
    text = hfcard.render(manifest, "https://models.example.org/")
    assert "\r" in text
    assert hfcard.through_hub(text) == text


def test_each_diff_is_the_diff_of_the_two_records(site: Path) -> None:
    folder = site / "v1/models/edge"
    old, new = (json.loads((folder / v / "index.json").read_text()) for v in ("1.0.0", "1.1.0"))
    diff = json.loads((folder / "1.1.0/diff.json").read_text())
    assert diff == json.loads(json.dumps(version_diff(old, new)))
