"""`validate --base REF`: what a base revision published cannot be rewritten by a pull request;
`--changed-since REF` validates only what changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from registry.infra import git as git_module
from registry.validate.history import changed_folders
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import add_version, edit_manifest, write_version
from tests.helpers import commit_all, git, run

OTHER = VALID_REAL_MODELS["okay_nabu.tflite"]


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A registry whose main branch published alpha 1.0.0 and 1.1.0 and beta-net 1.0.0."""
    root = tmp_path / "registry"
    root.mkdir()
    add_version(root, "alpha", "1.0.0")
    add_version(root, "alpha", "1.1.0")
    add_version(root, "beta-net", "1.0.0")
    commit_all(root, "published", "2025-01-01T10:00:00+00:00")
    git(root, "checkout", "-q", "-b", "pull-request")
    return root


def check(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run("validate", "--root", root, "--base", "main", "--format", "json", *extra)
    assert out, err
    return code, json.loads(out)


def codes(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["code"], f["file"]) for f in report["findings"] if f["severity"] == "error")


def test_untouched_registry_passes(published: Path) -> None:
    add_version(published, "alpha", "1.2.0")
    edit_manifest(published, "alpha", "1.0.0", description="Mutable fields may change.")
    code, report = check(published)
    assert code == 0, report["findings"]


def test_immutable_field_change(published: Path) -> None:
    edit_manifest(published, "alpha", "1.0.0", framework={"name": "tensorflow", "version": "2.99"})
    code, report = check(published)
    assert code == 1
    assert codes(report) == [("history.immutable-field", "models/alpha/1.0.0/manifest.yaml")]
    finding = report["findings"][0]
    assert "`framework`" in finding["message"] and "publish a new version" in finding["message"]
    assert finding["line"] == 4  # the `framework:` key of the manifest


def test_a_value_written_as_another_json_type_is_a_change(published: Path) -> None:
    """`size: 821.0` equals 821 in Python, and the schema's integer allows it, but the published
    record would say 821.0: the field changed."""
    manifest = published / "models/alpha/1.0.0/manifest.yaml"
    artifact = yaml.safe_load(manifest.read_text())["artifact"]
    edit_manifest(
        published, "alpha", "1.0.0", artifact={**artifact, "size": artifact["size"] * 1.0}
    )
    assert f"size: {artifact['size']}.0" in manifest.read_text()
    code, report = check(published)
    assert code == 1
    assert codes(report) == [("history.immutable-field", "models/alpha/1.0.0/manifest.yaml")]
    assert "`artifact`" in report["findings"][0]["message"]


def test_replaced_artifact_bytes(published: Path) -> None:
    folder = published / "models/alpha/1.0.0"
    (folder / "nmp.tflite").write_bytes(OTHER.path.read_bytes())
    data = manifest_data(VALID_REAL_MODELS["nmp.tflite"], "alpha", "1.0.0")
    data["artifact"]["sha256"] = __import__("hashlib").sha256(OTHER.path.read_bytes()).hexdigest()
    data["artifact"]["size"] = OTHER.path.stat().st_size
    write_version(published, data)
    _, report = check(published)
    assert ("history.file-changed", "models/alpha/1.0.0/nmp.tflite") in codes(report)
    assert ("history.immutable-field", "models/alpha/1.0.0/manifest.yaml") in codes(report)


def test_removed_version(published: Path) -> None:
    shutil.rmtree(published / "models/alpha/1.1.0")
    code, report = check(published)
    assert code == 1
    assert codes(report) == [("history.version-removed", "models/alpha/1.1.0/manifest.yaml")]
    assert "status: deprecated" in report["findings"][0]["message"]


def test_renamed_version(published: Path) -> None:
    git(published, "mv", "models/alpha/1.1.0", "models/alpha/1.2.0")
    edit_manifest(published, "alpha", "1.2.0", version="1.2.0")
    code, report = check(published)
    assert code == 1
    assert codes(report) == [("history.version-renamed", "models/alpha/1.2.0/manifest.yaml")]


def test_version_number_reused_after_deprecation(published: Path) -> None:
    git(published, "checkout", "-q", "main")
    edit_manifest(
        published,
        "alpha",
        "1.0.0",
        status="deprecated",
        deprecation={
            "reason": "broken",
            "redirect_to": "alpha@1.1.0",
            "effective_at": "2025-01-02",
        },
    )
    commit_all(published, "deprecate", "2025-01-02T10:00:00+00:00")
    shutil.rmtree(published / "models/alpha/1.0.0")
    commit_all(published, "remove the deprecated version", "2025-01-03T10:00:00+00:00")
    git(published, "checkout", "-q", "-B", "pull-request")
    add_version(published, "alpha", "1.0.0", description="a different model, same number")
    code, report = check(published)
    assert code == 1
    assert codes(report) == [("history.version-reused", "models/alpha/1.0.0/manifest.yaml")]


def _new_model_named(published: Path, name: str) -> None:
    folder = published / "models" / name / "1.0.0"
    folder.mkdir(parents=True)
    shutil.copy(VALID_REAL_MODELS["nmp.tflite"].path, folder / "nmp.tflite")
    data = manifest_data(VALID_REAL_MODELS["nmp.tflite"], "beta-net", "1.0.0")
    write_version(published, data)  # same manifest as beta-net: the folder name is the problem
    (published / "models/beta-net/1.0.0/manifest.yaml").replace(folder / "manifest.yaml")
    git(published, "checkout", "--", "models/beta-net")


@pytest.mark.parametrize(
    "name",
    [
        *["beta_net", "Beta-Net", "beta--net", "betanet", "bet-anet"],  # case and separators
        *["beta-ne1", "beta-rnet", "bcta-net", "beta-nett", "eta-net"],  # look-alikes, one edit
    ],
)
def test_confusable_model_names(published: Path, name: str) -> None:
    _new_model_named(published, name)
    _, report = check(published)
    assert ("history.confusable-name", f"models/{name}/1.0.0/manifest.yaml") in codes(report)


@pytest.mark.parametrize("allowed", [False, True])
def test_distinct_and_allowed_names(published: Path, allowed: bool) -> None:
    _new_model_named(published, "gamma-net")  # two characters from beta-net: distinct
    _new_model_named(published, "beta-nets")
    if allowed:
        config = published / "registry.yaml"
        text = config.read_text() if config.exists() else "name: names\n"
        config.write_text(text + "similar_names_allowed: [beta-nets]\n")
    _, report = check(published)
    found = {f for code, f in codes(report) if code == "history.confusable-name"}
    expected = set() if allowed else {"models/beta-nets/1.0.0/manifest.yaml"}
    assert found == expected


def test_changed_since_validates_only_changed_versions(published: Path) -> None:
    add_version(published, "alpha", "2.0.0")
    edit_manifest(published, "beta-net", "1.0.0", tags=["pitch"])
    # A broken version that did not change is not looked at.
    commit_all(published, "pr work", "2025-01-05T10:00:00+00:00")
    code, out, _ = run(
        "validate", "--root", published, "--changed-since", "main", "--format", "json"
    )
    report = json.loads(out)
    assert code == 0
    assert [v["id"] for v in report["versions"]] == ["alpha@2.0.0", "beta-net@1.0.0"]
    assert (
        run("validate", "--root", published, "--changed-since", "main", published / "models")[0]
        == 2
    )


def test_unknown_base_is_a_clear_error(published: Path) -> None:
    code, _, err = run("validate", "--root", published, "--base", "origin/nowhere")
    assert code == 1
    assert "cannot find the base revision 'origin/nowhere'" in err and "fetch-depth: 0" in err


@pytest.mark.parametrize("base", [":/published", "main^{tree}", "main:models"])
def test_a_base_is_any_revision_naming_a_commit(published: Path, base: str) -> None:
    """`:/<text>` (the newest commit whose message matches) names main's commit; a tree does
    not name a commit, and says so."""
    edit_manifest(published, "alpha", "1.0.0", framework={"name": "tensorflow", "version": "2.99"})
    code, out, err = run("validate", "--root", published, "--base", base, "--format", "json")
    if base.startswith(":/"):
        assert code == 1 and codes(json.loads(out)) == codes(check(published)[1]) != []
    else:
        assert code == 1 and f"cannot find the base revision {base!r}" in err


@pytest.mark.parametrize("cache", [[], ["--no-cache"]])
def test_changed_since_validates_versions_not_committed_yet(
    published: Path, cache: list[str]
) -> None:
    """Untracked files count as changes (git lists them apart from its diff, at once). Without
    the cache, the sandbox starts for the tracked change before the untracked files are listed:
    the untracked version, of another format, is inspected too."""
    edit_manifest(published, "beta-net", "1.0.0", tags=["pitch"])  # edited, not committed
    add_version(published, "alpha", "2.0.0", model=OTHER)  # untracked, TFLite
    code, out, _ = run(
        "validate", "--root", published, "--changed-since", "main", "--format", "json", *cache
    )
    assert code == 0
    report = json.loads(out)
    assert [v["id"] for v in report["versions"]] == ["alpha@2.0.0", "beta-net@1.0.0"]
    assert report["findings"] == []


def test_the_untracked_listing_started_ahead_is_the_one_diffed(tmp_path: Path) -> None:
    """`validate --changed-since` starts listing untracked files before its modules load; the
    diff must take that listing, not walk the working tree a second time (a registry in a
    folder of its repository: the paths Git is given start with the folder)."""
    repository = tmp_path / "repository"
    root = repository / "registry"
    root.mkdir(parents=True)
    add_version(root, "alpha", "1.0.0")
    commit_all(repository, "published", "2025-01-01T10:00:00+00:00")
    add_version(root, "alpha", "2.0.0")  # untracked
    with git_module.snapshot():
        git_module.list_untracked_ahead(root)
        started = set(git_module._SNAPSHOT or {})  # the answers on their way
        folders = changed_folders(root, "main")
        read = set(git_module._SNAPSHOT or {})
    assert started == {("untracked", str(root), "registry/models")}
    assert {key for key in read - started if key[0] == "untracked"} == set()
    assert [f.relative for f in folders] == ["models/alpha/2.0.0"]


@pytest.mark.parametrize("folder", [":(top)r", "r*", ":(exclude)r"])
def test_a_registry_in_a_folder_named_like_pathspec_magic(tmp_path: Path, folder: str) -> None:
    """Git reads `:(top)r/models` as the top's r/models, `r*/models` as a glob: every path
    modelreg gives Git is literal, so the registry's own changes are the ones seen."""
    repository = tmp_path / "repository"
    root = repository / folder
    root.mkdir(parents=True)
    add_version(root, "alpha", "1.0.0")
    (repository / "r").mkdir()  # what the magic would name instead
    add_version(repository / "r", "alpha", "1.0.0")
    commit_all(repository, "published", "2025-01-01T10:00:00+00:00")
    git(repository, "checkout", "-q", "-b", "pull-request")
    edit_manifest(root, "alpha", "1.0.0", framework={"name": "tensorflow", "version": "2.99"})
    add_version(root, "alpha", "2.0.0")
    commit_all(repository, "pr work", "2025-01-05T10:00:00+00:00")
    code, report = check(root, "--changed-since", "main")
    assert code == 1
    assert [v["id"] for v in report["versions"]] == ["alpha@1.0.0", "alpha@2.0.0"]
    assert codes(report) == [("history.immutable-field", "models/alpha/1.0.0/manifest.yaml")]
