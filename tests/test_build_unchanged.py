"""A rebuild with nothing changed stops before any per-version work; anything the build would
read differently (a commit, an edit not committed, a new or ignored file, the options, the output
folder, a trust root outside Git) makes it build again."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
from pathlib import Path

import pytest

from registry.build.site.builder import BuildResult, build_site
from registry.build.unchanged import _out_state
from registry.infra.cache import Cache
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import commit_all, git, run
from tests.pki import publisher_files

IRIS = VALID_REAL_MODELS["logreg_iris.onnx"]
SKIPPED = "nothing changed since the last build"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: Unchanged\nbase_url: https://models.example.org/\n")
    for version in ("1.0.0", "1.0.1"):
        write_version(root, manifest_data(IRIS, name="iris", version=version), IRIS.path)
    commit_all(root, "two versions")
    return root


def build(root: Path, out: Path, *options: str) -> str:
    code, stdout, stderr = run("build", "--root", root, "--out", out, *options)
    assert code == 0, stderr
    return stdout


def built_twice(root: Path, out: Path, *options: str) -> str:
    """The output of a second build right after a first one."""
    assert SKIPPED not in build(root, out, *options)
    return build(root, out, *options)


def test_a_second_build_with_nothing_changed_does_nothing(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = build(registry, out)
    written = (out / "v1/index.json").stat().st_mtime_ns
    second = build(registry, out)
    assert SKIPPED in second
    assert second.replace(SKIPPED + ": the site was left as it is\n", "") == first
    assert (out / "v1/index.json").stat().st_mtime_ns == written


def test_an_edit_not_committed_is_built(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert SKIPPED in built_twice(registry, out)
    manifest = registry / "models/iris/1.0.1/manifest.yaml"
    manifest.write_text(manifest.read_text().replace("intended_use:", "intended_use: Edited."))
    assert SKIPPED not in build(registry, out)
    assert "Edited." in (out / "v1/models/iris/1.0.1/index.json").read_text()


def test_a_staged_edit_is_built(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(registry, out)
    manifest = registry / "models/iris/1.0.0/manifest.yaml"
    manifest.write_text(manifest.read_text().replace("intended_use:", "intended_use: Staged."))
    git(registry, "add", "-A")
    assert SKIPPED not in build(registry, out)


def test_a_new_commit_is_built(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(registry, out)
    (registry / "README.md").write_text("A registry.\n")
    commit_all(registry, "a readme")
    assert SKIPPED not in build(registry, out)
    assert SKIPPED in build(registry, out)


@pytest.mark.parametrize("ignored", [False, True])
def test_a_file_git_does_not_track_under_models_is_built(
    registry: Path, tmp_path: Path, ignored: bool
) -> None:
    """The build reads every folder under models/, tracked, untracked or ignored."""
    out = tmp_path / "site"
    build(registry, out)
    if ignored:
        (registry / ".gitignore").write_text("1.0.2/\n")
        commit_all(registry, "ignore a folder")
        build(registry, out)
    write_version(registry, manifest_data(IRIS, name="iris", version="1.0.2"), IRIS.path)
    assert SKIPPED not in build(registry, out)
    assert (out / "v1/models/iris/1.0.2/index.json").is_file()


def test_untracked_files_elsewhere_do_not_matter(registry: Path, tmp_path: Path) -> None:
    out = registry / "site"  # the usual place: inside the registry, not committed
    build(registry, out)
    (registry / "scratch.txt").write_text("notes\n")
    assert SKIPPED in build(registry, out)


def test_other_options_are_built(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(registry, out)
    assert SKIPPED not in build(registry, out, "--base-url", "https://elsewhere.example.org/")
    assert "elsewhere.example.org" in (out / "v1/index.json").read_text()
    assert SKIPPED not in build(registry, tmp_path / "other")
    assert SKIPPED not in build(registry, out, "--no-cache")
    assert SKIPPED not in build(registry, out, "--force")


def test_a_build_that_left_versions_out_is_built_again(registry: Path, tmp_path: Path) -> None:
    """What failed may pass later (a report dated in the future): never taken as unchanged."""
    manifest = registry / "models/iris/1.0.0/manifest.yaml"
    manifest.write_text(manifest.read_text().replace("license:", "licence:"))
    commit_all(registry, "a broken manifest")
    out = tmp_path / "site"
    for _ in range(2):
        stdout = build(registry, out, "--allow-invalid")
        assert "left out (validation errors): iris@1.0.0" in stdout
        assert SKIPPED not in stdout


def test_the_record_is_written_while_the_build_holds_its_turn(
    registry: Path, tmp_path: Path
) -> None:
    """Else a concurrent build could swap its own site in before the record is made."""
    held = []

    def then(result: BuildResult) -> None:
        with (Cache(registry, True).folder / "build.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.append(result.versions)

    build_site(registry, tmp_path / "site", then=then)
    assert held == [2]


def test_a_replaced_or_edited_output_folder_is_built(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(registry, out)
    shutil.rmtree(out)
    assert SKIPPED not in build(registry, out)
    (out / "index.html").unlink()
    assert SKIPPED not in build(registry, out)
    assert (out / "index.html").is_file()


def test_a_changed_trust_root_outside_git_is_built(registry: Path, tmp_path: Path) -> None:
    """Files the settings name are compared by content, even when Git ignores them."""
    root_file = registry / "keys/root.pem"
    root_file.parent.mkdir()
    shutil.copyfile(publisher_files(tmp_path / "pki", "ml@example.org").root, root_file)
    config = registry / "registry.yaml"
    config.write_text(config.read_text() + "governance:\n  trust_roots: [keys/root.pem]\n")
    (registry / ".gitignore").write_text("keys/\n")
    commit_all(registry, "trust a root kept outside Git")
    out = tmp_path / "site"
    assert SKIPPED in built_twice(registry, out)
    root_file.write_text(root_file.read_text() + "\n")
    assert SKIPPED not in build(registry, out)


def test_a_failed_build_is_not_remembered(registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    manifest = registry / "models/iris/1.0.0/manifest.yaml"
    manifest.write_text(manifest.read_text().replace("license:", "licence:"))
    commit_all(registry, "a broken manifest")
    for _ in range(2):
        code, stdout, _ = run("build", "--root", registry, "--out", out)
        assert code != 0 and SKIPPED not in stdout


def test_a_site_file_edited_in_place_is_built_again(registry: Path, tmp_path: Path) -> None:
    """Through its hard link into the cache, with its size kept: the times still move."""
    out = tmp_path / "site"
    build(registry, out)
    record = out / "v1/models/iris/1.0.0/index.json"
    text = record.read_text()
    record.chmod(0o644)
    with record.open("r+") as handle:
        handle.write(text.replace("iris", "IRIS", 1))
    assert SKIPPED not in build(registry, out)
    assert record.read_text() == text


def test_a_rewritten_index_is_built(registry: Path, tmp_path: Path) -> None:
    """What `git lfs pull` does (content where pointers were): the index is written again."""
    out = tmp_path / "site"
    build(registry, out)
    git(registry, "update-index", "--really-refresh")
    index = registry / ".git/index"
    index.write_bytes(index.read_bytes())  # rewritten, whatever git thought of it
    assert SKIPPED not in build(registry, out)
    assert SKIPPED in build(registry, out)


def test_a_registry_in_a_sub_folder_is_skipped_too(tmp_path: Path) -> None:
    top = tmp_path / "repository"
    root = top / "registry"
    root.mkdir(parents=True)
    (root / "registry.yaml").write_text("name: Sub\nbase_url: https://models.example.org/\n")
    write_version(root, manifest_data(IRIS, name="iris", version="1.0.0"), IRIS.path)
    (top / "README.md").write_text("A repository holding a registry.\n")
    commit_all(top, "a registry in a sub-folder")
    out = tmp_path / "site"
    assert SKIPPED in built_twice(root, out)
    (top / "README.md").write_text("Edited.\n")  # a tracked change outside the registry
    assert SKIPPED in build(root, out)
    manifest = root / "models/iris/1.0.0/manifest.yaml"
    manifest.write_text(manifest.read_text().replace("intended_use:", "intended_use: Sub."))
    assert SKIPPED not in build(root, out)


def test_the_walk_of_the_output_folder_sees_a_nested_file_and_stops_when_asked(
    tmp_path: Path,
) -> None:
    """The walk runs beside Git's look at the work tree; a build that follows stops it."""
    out = tmp_path / "site"
    nested = out / "v1/models/iris/1.0.0/index.json"
    nested.parent.mkdir(parents=True)
    nested.write_text("{}")
    before = _out_state(out)
    assert before is not None and _out_state(out) == before
    os.utime(nested, ns=(1, 1))
    assert _out_state(out) not in (None, before)
    stop = threading.Event()
    stop.set()
    assert _out_state(out, stop) is None
    assert _out_state(tmp_path / "absent") is None
