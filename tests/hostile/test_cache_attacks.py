"""The result cache cannot be made to vouch for a file: a cache inside the repository (which a
pull request writes) is never read, and a row this cache did not sign is a miss."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from registry.infra.cache import INDEX_NAME, Cache
from registry.infra.cacheplace import KEY_NAME, cache_root
from registry.load.config import load_config
from registry.load.layout import VersionDir
from registry.validate.resultcache import KIND, version_key
from registry.validate.run import config_context
from tests.factories.attacks import evil_archive
from tests.factories.manifests import dump_manifest
from tests.factories.registries import add_version
from tests.helpers import PROJECT, commit_all, error_codes, git, run, validate_json

EXAMPLE = PROJECT / "models/tiny-convnet/0.1.0"


def _registry(root: Path) -> Path:
    """The example TorchScript version, committed; its folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "registry.yaml").write_text("name: cache attacks\n")
    folder = root / "models/tiny-convnet/0.1.0"
    shutil.copytree(EXAMPLE, folder)
    commit_all(root, "a clean version")
    return folder


def _swap_in_evil(folder: Path) -> None:
    """The pull request: the same version, now an archive whose __setstate__ writes a file."""
    data = evil_archive()
    (folder / "model.pt").write_bytes(data)
    manifest: dict[str, Any] = yaml.safe_load((folder / "manifest.yaml").read_text())
    manifest["artifact"].update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    (folder / "manifest.yaml").write_text(dump_manifest(manifest))


def _rows(index: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(index) as db:
        return list(db.execute("SELECT kind, key, value, mac FROM entries WHERE kind = ?", (KIND,)))


def _key(root: Path) -> str:
    """The key a result of models/tiny-convnet/0.1.0 is stored under: computable by anyone
    from public values, which is why keys alone prove nothing."""
    with Cache(root) as cache:
        version = VersionDir(root, "tiny-convnet", "0.1.0")
        key = version_key(cache, version, config_context(root, load_config(root)), True, False)
    assert key is not None
    return key


def test_a_result_forged_into_the_cache_is_a_miss(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    folder = _registry(root)
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    index = Cache(root, enabled=False).folder / INDEX_NAME
    [(kind, _, clean_result, mac)] = _rows(index)
    _swap_in_evil(folder)
    commit_all(root, "the same version, other bytes")
    forged = _key(root)
    with sqlite3.connect(index) as db:  # the clean result under the new key, its MAC copied
        db.execute("INSERT INTO entries VALUES (?, ?, ?, ?)", (kind, forged, clean_result, mac))
    code, report = validate_json(root)
    assert code == 1 and "security.torchscript-op" in error_codes(report)


def test_a_cache_committed_in_the_repository_is_never_read(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    folder = _registry(root)
    code, _ = validate_json(root)
    assert code == 0
    planted = root / ".modelreg-cache"  # what a pull request can commit
    shutil.copytree(Cache(root, enabled=False).folder, planted)
    shutil.copy(cache_root() / KEY_NAME, planted / KEY_NAME)  # even the real key
    _swap_in_evil(folder)
    commit_all(root, "a forged cache")
    forged = _key(root)
    with sqlite3.connect(planted / INDEX_NAME) as db:
        [(kind, _, value, _)] = _rows(planted / INDEX_NAME)
        db.execute("INSERT INTO entries VALUES (?, ?, ?, ?)", (kind, forged, value, "0" * 64))
    before = (planted / INDEX_NAME).read_bytes()
    code, out, err = run("validate", "--root", root, "--cache-dir", planted, "--format", "json")
    assert code == 1 and "security.torchscript-op" in out
    assert "inside the repository" in err
    assert (planted / INDEX_NAME).read_bytes() == before  # not even opened for writing


@pytest.mark.parametrize("top", ["top\n", "top\n\n", "top ", "top\udcff"])
def test_a_cache_in_the_repository_beside_the_registry_is_refused(tmp_path: Path, top: str) -> None:
    """The repository's top folder is read from git byte for byte: a name ending in line breaks
    or spaces, or not in UTF-8, must not make a cache beside the registry look outside it."""
    repository, root = _nested(tmp_path, top)
    code, _, err = run("validate", "--root", root, "--cache-dir", repository / "cache")
    assert code == 0 and "inside the repository" in err, err
    assert not (repository / "cache").exists() or not any((repository / "cache").iterdir())


def _nested(tmp_path: Path, name: str = "repository") -> tuple[Path, Path]:
    """A repository (folder `name`) with the registry in a sub-folder: (repository, registry)."""
    repository = tmp_path / name
    root = repository / "registry"
    root.mkdir(parents=True)
    (root / "registry.yaml").write_text("name: nested\n")
    add_version(root, "alpha", "1.0.0")
    git(repository, "init", "-q", "-b", "main")
    commit_all(repository, "alpha")
    return repository, root


@pytest.mark.parametrize("how", ["GIT_DIR", "GIT_CEILING_DIRECTORIES", "worktree", "submodule"])
def test_what_git_is_told_or_how_it_is_checked_out_hides_no_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The repository around the registry is found on disk too: git's answer alone changes with
    the environment, and a linked worktree or a submodule sits in another work tree."""
    repository, root = _nested(tmp_path)
    if how == "GIT_DIR":
        monkeypatch.setenv("GIT_DIR", str(repository / ".git"))
    elif how == "GIT_CEILING_DIRECTORIES":
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(repository))
    elif how == "worktree":
        git(repository, "worktree", "add", "-q", str(repository / "linked"))
        root = repository / "linked" / "registry"
    else:
        outer = tmp_path / "outer"
        outer.mkdir()
        git(outer, "init", "-q", "-b", "main")
        git(
            outer,
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            str(repository),
            "sub",
        )
        commit_all(outer, "the registry as a submodule")
        repository, root = outer, outer / "sub" / "registry"
    cache = repository / "cache"
    _, _, err = run("validate", "--root", root, "--cache-dir", cache)
    assert "inside the repository" in err, err
    assert not (cache / KEY_NAME).exists()


def test_a_loop_of_links_as_the_cache_folder_is_not_a_crash(tmp_path: Path) -> None:
    _, root = _nested(tmp_path)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    code, _, err = run("validate", "--root", root, "--cache-dir", tmp_path / "a")
    assert code == 0 and "internal error" not in err, err


def test_a_cache_copied_from_another_machine_is_not_trusted(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    _registry(root)
    with Cache(root) as cache:
        cache.put("test", "key", {"value": 1})
    other_root = tmp_path / "other-machine"  # another cache root: another secret
    with Cache(root, cache_dir=other_root) as elsewhere:
        elsewhere.folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(Cache(root, enabled=False).folder / INDEX_NAME, elsewhere.folder / INDEX_NAME)
    with Cache(root, cache_dir=other_root) as elsewhere:
        assert elsewhere.enabled and elsewhere.get("test", "key") is None
    with Cache(root) as here:
        assert here.get("test", "key") == {"value": 1}


def test_a_forged_file_digest_is_computed_again(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    model = _registry(root) / "model.pt"
    with Cache(root) as cache:
        real = cache.digest(model)
    found = model.stat()
    stat_fields = (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
    index = Cache(root, enabled=False).folder / INDEX_NAME
    with sqlite3.connect(index) as db:  # "this file is unchanged and has another SHA-256"
        db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (str(model.resolve()), *stat_fields, "0" * 64, "0" * 64, "f" * 64),
        )
    with Cache(root) as cache:
        assert cache.digest(model) == real
        assert cache.misses == 1


def test_a_key_others_can_read_turns_the_cache_off(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    _registry(root)
    cache_dir = tmp_path / "shared-cache"
    with Cache(root, cache_dir=cache_dir) as cache:
        assert cache.enabled
    (cache_dir / KEY_NAME).chmod(0o644)
    code, _, err = run("validate", "--root", root, "--cache-dir", cache_dir)
    assert code == 0
    assert "0600" in err
    assert stat.S_IMODE((cache_dir / KEY_NAME).stat().st_mode) == 0o644
