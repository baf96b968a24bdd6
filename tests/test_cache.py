"""The content-addressed cache, incremental builds, parallel jobs and shards: every shortcut gives
exactly what the work done again from nothing gives."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from registry.build.site import spare as spare_module
from registry.build.site.spare import claim, spare_path
from registry.infra import cache as cache_module
from registry.infra.cache import RACY_NS, Cache
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import cache_index, commit_all, run, sha256_of, tree_digest

IRIS = VALID_REAL_MODELS["logreg_iris.onnx"]
# Written at each build from the clock and the work done, not from the registry.
PER_BUILD = {"v1/stats.json", "metrics.prom"}


def make_registry(root: Path, count: int) -> list[str]:
    """`count` versions of a real ONNX model, three per name, in one commit; their ids."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "registry.yaml").write_text("name: Cache\nbase_url: https://models.example.org/\n")
    ids = []
    for index in range(count):
        data = manifest_data(IRIS, name=f"iris-{index // 3}", version=f"1.0.{index % 3}")
        data["intended_use"] = f"Version {index} of a registry that tests the cache."
        write_version(root, data, IRIS.path)
        ids.append(f"iris-{index // 3}@1.0.{index % 3}")
    commit_all(root, "models")
    return ids


def built(root: Path, out: Path, *options: str) -> dict[str, str]:
    """A build that does the work even when nothing changed (tests/test_build_unchanged.py)."""
    code, _, err = run("build", "--root", root, "--out", out, "--force", *options)
    assert code == 0, err
    return {k: v for k, v in tree_digest(out).items() if k not in PER_BUILD}


def settle() -> None:
    """Wait until files written now are older than the cache's racy window."""
    time.sleep(RACY_NS / 1e9 + 0.1)


# -- file digests ------------------------------------------------------------------------------
def digest_once(root: Path, path: Path) -> tuple[str, int, int]:
    """SHA-256, hits and misses of one lookup by a new run."""
    with Cache(root) as cache:
        found = cache.digest(path).sha256
        return found, cache.hits, cache.misses


def test_a_path_not_in_utf8_is_hashed_and_not_remembered(tmp_path: Path) -> None:
    """SQLite refuses the lone surrogate Python reads a byte 0xff of a name as: the run that
    hashed such a file crashed when the index was written."""
    model = tmp_path / "x\udcff" / "model.bin"
    model.parent.mkdir()
    model.write_bytes(b"a" * 1000)
    settle()
    assert digest_once(tmp_path, model) == (sha256_of(model), 0, 1)
    assert digest_once(tmp_path, model) == (sha256_of(model), 0, 1)  # never remembered


def test_stored_objects_are_read_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        with Cache(tmp_path) as cache:
            sha = cache.store(b"a site file")
            assert sha is not None
            mode = cache.object_path(sha).stat().st_mode
    finally:
        os.umask(previous)
    assert stat.S_IMODE(mode) == 0o444  # a web server of another user reads the linked site


@pytest.mark.parametrize("kind", ["link", "hard link", "fifo", "earlier file"])
@pytest.mark.parametrize("how", ["store", "adopt"])
def test_what_is_at_an_objects_temporary_name_is_never_written_through(
    tmp_path: Path, kind: str, how: str
) -> None:
    """A name left by a run that died with this pid, or put there, is replaced: never opened
    (a FIFO would hang the build, a link or a hard link would be written through)."""
    victim = tmp_path / "victim"
    victim.write_text("kept")
    source = tmp_path / "model.bin"
    source.write_bytes(b"a model file")
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    with Cache(tmp_path) as cache:
        folder = cache.object_path(sha).parent
        folder.mkdir(parents=True)
        planted = folder / f".{sha}.{os.getpid()}"
        if kind == "link":
            planted.symlink_to(victim)
        elif kind == "hard link":
            os.link(victim, planted)
        elif kind == "fifo":
            os.mkfifo(planted)
        else:
            planted.write_bytes(b"half a mod")
        if how == "store":
            assert cache.store(source.read_bytes()) == sha
        else:
            assert cache.adopt(source, sha)
        stored = cache.object_path(sha)
        assert not stored.is_symlink() and stored.read_bytes() == b"a model file"
        assert not planted.exists()
    assert victim.read_text() == "kept" and victim.stat().st_mode & 0o200


def test_an_object_folder_removed_during_a_run_is_made_again(tmp_path: Path) -> None:
    with Cache(tmp_path) as cache:
        first = cache.store(b"one")
        assert first is not None
        shutil.rmtree(cache.object_path(first).parent)  # the cache cleared meanwhile
        data = next(  # bytes whose object falls in that same folder
            str(i).encode()
            for i in range(100_000)
            if hashlib.sha256(str(i).encode()).hexdigest()[:2] == first[:2]
        )
        assert cache.store(data) is not None and cache.enabled


def test_stat_fast_path_and_what_invalidates_it(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"a" * 1000)
    first = sha256_of(model)
    assert digest_once(tmp_path, model) == (first, 0, 1)
    assert digest_once(tmp_path, model) == (first, 0, 1)  # too recent to be recorded
    settle()
    assert digest_once(tmp_path, model) == (first, 0, 1)
    assert digest_once(tmp_path, model) == (first, 1, 0)  # not read again

    # Same size, same mtime put back: the ctime still changes, and so does the digest.
    stat = model.stat()
    model.write_bytes(b"b" * 1000)
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert digest_once(tmp_path, model) == (sha256_of(model), 0, 1)

    # Another file renamed over it (a checkout does this): another inode.
    settle()
    digest_once(tmp_path, model)
    other = tmp_path / "other.bin"
    other.write_bytes(b"c" * 1000)
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    other.replace(model)
    assert digest_once(tmp_path, model) == (sha256_of(model), 0, 1)


def test_a_locked_index_never_stops_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "LOCK_SECONDS", 0.2)
    model = tmp_path / "model.bin"
    model.write_bytes(b"a" * 1000)
    with Cache(tmp_path) as first:
        first.put("test", "key", {"value": 1})
    blocker = sqlite3.connect(cache_index(tmp_path), timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another run holding the index
    try:
        cache = Cache(tmp_path)
        cache.put("test", "other", {"value": 2})
        cache.flush()  # gives up after sqlite's timeout, and the run goes on without cache
        assert not cache.enabled
        assert cache.digest(model).sha256 == sha256_of(model)
        cache.close()
    finally:
        blocker.rollback()
        blocker.close()
    with Cache(tmp_path) as after:
        assert after.get("test", "key") == {"value": 1}
        assert after.get("test", "other") is None


def test_damaged_index_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"x" * 100)
    with Cache(tmp_path) as cache:
        cache.put("test", "key", {"value": 1})
    index = cache_index(tmp_path)
    for suffix in ("-wal", "-shm"):
        index.with_name(index.name + suffix).unlink(missing_ok=True)
    index.write_bytes(b"this is not a database" * 100)
    with Cache(tmp_path) as again:
        assert again.get("test", "key") is None  # nothing is trusted from a damaged index
        assert again.digest(model).sha256 == sha256_of(model)
    assert list(index.parent.glob("index-2.damaged-*"))
    sqlite3.connect(index).execute("SELECT count(*) FROM entries").fetchone()


# -- builds -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache") / "registry"
    make_registry(root, 6)
    return root


def test_rebuilds_equal_a_build_without_cache(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    cold = built(registry, site)
    spare = spare_path(site)
    warm = built(registry, site)  # the first site is kept as the spare...
    assert spare.is_dir()
    again = built(registry, site)  # ...and updated in place by the next build
    assert cold == warm == again == built(registry, tmp_path / "fresh", "--no-cache")
    record = site / "v1/models/iris-0/1.0.0/index.json"
    assert record.stat().st_nlink > 1  # linked from the cache's object store, not rewritten


def test_a_changed_version_is_rebuilt_and_nothing_stale_survives(
    tmp_path: Path, registry: Path
) -> None:
    root = tmp_path / "registry"
    make_registry(root, 6)
    site = tmp_path / "site"
    built(root, site)
    built(root, site)
    manifest = root / "models/iris-1/1.0.2/manifest.yaml"
    manifest.write_text(manifest.read_text().replace("Version 5 of", "The fifth version of"))
    commit_all(root, "describe version 5", "2025-02-01T00:00:00+00:00")
    after = built(root, site)
    assert after == built(root, tmp_path / "fresh", "--no-cache")
    record = json.loads((site / "v1/models/iris-1/1.0.2/index.json").read_text())
    assert record["manifest"]["intended_use"].startswith("The fifth version of")
    page = (site / "models/iris-1/1.0.2/index.html").read_text()
    assert "The fifth version of" in page


def test_a_site_file_changed_in_place_is_not_published_again(
    registry: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    expected = built(registry, site)
    record = site / "v1/models/iris-0/1.0.1/index.json"
    assert record.stat().st_nlink > 1
    text = record.read_text()
    record.chmod(0o644)  # the object store's files are read-only: an editor would do this
    with record.open("r+") as handle:  # the same size, written through the link
        handle.write(text.replace('"1.0.1"', '"9.9.9"', 1))
    assert built(registry, site) == expected
    assert built(registry, site) == expected


def test_an_interrupted_update_of_the_spare_is_not_reused(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    expected = built(registry, site)
    built(registry, site)
    spare = spare_path(site)
    cache = Cache(registry)
    assert claim(cache, spare) is not None  # marked as being changed, then the build "dies"
    cache.close()
    (spare / "v1/models/iris-0/1.0.0/index.json").unlink()
    (spare / "half-written.tmp").write_text("")
    assert built(registry, site) == expected
    assert built(registry, site) == expected
    assert not (site / "half-written.tmp").exists() and not (spare / "half-written.tmp").exists()


def test_the_record_of_a_tree_is_kept_in_parts(
    registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large site's record is saved in parts (spare.PART files each): read back whole, and a
    record with a part missing is not trusted (the spare is removed, the next build writes a
    fresh tree)."""
    monkeypatch.setattr(spare_module, "PART", 7)
    site = tmp_path / "site"
    built(registry, site)
    built(registry, site)  # the first site is the spare now
    spare = spare_path(site)
    held = {p.relative_to(spare).as_posix() for p in spare.rglob("*") if p.is_file()}
    cache = Cache(registry)
    key = spare_module.tree_id(spare)
    entry = cache.get(spare_module.KIND, key)
    assert entry is not None and entry["parts"] > 3
    files = spare_module.claim(cache, spare)
    assert files is not None and len(files) > 7 * 3
    assert set(files) == {relative for relative in held if not relative.startswith("docs/")}
    spare_module.record(cache, spare, files)
    assert spare_module.claim(cache, spare) == files  # each file's digest, size and inode
    spare_module.record(cache, spare, files)
    entry = cache.get(spare_module.KIND, key)
    assert entry is not None
    with sqlite3.connect(cache_index(registry)) as db:
        part = f"{key}:{entry['record']}:1"
        db.execute("DELETE FROM entries WHERE kind = ? AND key = ?", (spare_module.PART_KIND, part))
    assert spare_module.claim(cache, spare) is None
    cache.close()
    assert not spare.exists()


def test_a_record_this_code_did_not_write_is_not_trusted(registry: Path, tmp_path: Path) -> None:
    """A part whose file has no digest (a record of another version's format): the spare is
    removed, not read as far as it goes."""
    site = tmp_path / "site"
    expected = built(registry, site)
    built(registry, site)
    spare = spare_path(site)
    cache = Cache(registry)
    key = spare_module.tree_id(spare)
    entry = cache.get(spare_module.KIND, key)
    assert entry is not None
    part = f"{key}:{entry['record']}:0"
    files = cache.get(spare_module.PART_KIND, part)
    assert files
    relative, (sha, size, inode) = next((r, e) for r, e in files.items() if e[0])  # an object
    cache.put(spare_module.PART_KIND, part, {**files, relative: [sha[:40], size, inode]})
    assert spare_module.claim(cache, spare) is None
    cache.close()
    assert not spare.exists()
    assert built(registry, site) == expected


def test_files_added_to_a_published_site_do_not_come_back(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    expected = built(registry, site)
    (site / "stray.txt").write_text("added by hand")
    (site / "v1/models/iris-0/9.9.9").mkdir()
    (site / "v1/models/iris-0/9.9.9/index.json").write_text("{}")
    (site / "v1/link").symlink_to(site / "v1/models")
    assert built(registry, site) == expected  # the first site is now the spare...
    assert built(registry, site) == expected  # ...updated in place: nothing stray survives
    assert not (site / "v1/link").exists() and not (site / "v1/models/iris-0/9.9.9").exists()


def test_links_planted_in_the_spare_are_not_followed(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    expected = built(registry, site)
    built(registry, site)
    spare = spare_path(site)
    outside = tmp_path / "outside"
    outside.mkdir()
    for folder in (spare / "v1/models/iris-1", spare / "artifacts/sha256"):
        shutil.rmtree(folder)
        folder.symlink_to(outside)
    assert built(registry, site) == expected
    assert list(outside.iterdir()) == []  # nothing written through the links


def test_folders_of_stopped_builds_are_removed(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    for leftover in (".site.tmp-0badf00d", ".site.old-0badf00d"):
        (tmp_path / leftover / "v1").mkdir(parents=True)  # a build stopped while swapping
    built(registry, site)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_lost_index_is_rebuilt_with_its_objects(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    built(registry, site)
    for index in cache_index(registry).parent.glob(cache_index(registry).name + "*"):
        index.unlink()
    expected = built(registry, site)
    assert built(registry, site) == expected
    assert (site / "v1/models/iris-0/1.0.0/index.json").stat().st_nlink > 1  # linked again


def test_concurrent_builds_take_turns(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    expected = built(registry, site)
    built(registry, site)  # now there is a spare for both to want
    command = [sys.executable, "-m", "registry", "--quiet", "build", "--out", str(site)]
    builds = [subprocess.Popen(command, cwd=registry, stderr=subprocess.PIPE) for _ in range(2)]
    for build in builds:
        _, err = build.communicate(timeout=300)
        assert build.returncode == 0, err.decode()
    assert {k: v for k, v in tree_digest(site).items() if k not in PER_BUILD} == expected


def test_a_folder_the_cache_does_not_know_is_never_touched(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    spare = spare_path(site)
    spare.mkdir()
    (spare / "mine.txt").write_text("someone else's")
    expected = built(registry, site)
    assert built(registry, site) == expected
    assert [p.name for p in spare.iterdir()] == ["mine.txt"]


def test_parallel_jobs_give_the_same_report_and_site(registry: Path, tmp_path: Path) -> None:
    reports = []
    for jobs in ("1", "2"):
        code, out, err = run(
            "validate", "--format", "json", "--root", registry, "--jobs", jobs, "--no-cache"
        )
        assert code == 0, err
        reports.append(json.loads(out))
    assert reports[0] == reports[1]
    one = built(registry, tmp_path / "one", "--jobs", "1", "--no-cache")
    assert one == built(registry, tmp_path / "two", "--jobs", "2", "--no-cache")
    assert one == built(registry, tmp_path / "cached", "--jobs", "2")
    assert one == built(registry, tmp_path / "cached", "--jobs", "2")


# -- shards -------------------------------------------------------------------------------------
def test_shards_partition_the_registry(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    ids = make_registry(root, 12)
    (root / "models/notes.txt").write_text("a stray file: a registry-wide finding")
    shards = []
    for index in (1, 2, 3):
        code, out, _ = run("validate", "--format", "json", "--root", root, "--shard", f"{index}/3")
        report = json.loads(out)
        shards.append(report)
        stray = [f["file"] for f in report["findings"] if f["code"] == "layout.unexpected-file"]
        assert code == 0
        assert stray == (["models/notes.txt"] if index == 1 else [])  # reported once
    held = [{v["id"] for v in report["versions"]} for report in shards]
    assert set().union(*held) == set(ids)
    assert sum(len(h) for h in held) == len(ids)  # disjoint
    assert all(held)  # 12 versions over 3 shards: none empty with this hash
    code, out, _ = run("validate", "--format", "json", "--root", root, "--shard", "2/3")
    assert {v["id"] for v in json.loads(out)["versions"]} == held[1]  # deterministic


@pytest.mark.parametrize(
    ("option", "value", "hint"),
    [("--shard", v, "I/N") for v in ["0/3", "4/3", "1", "a/b", "1/0"]]
    + [("--jobs", v, "number of processes") for v in ["-1", "two"]],
)
def test_a_wrong_shard_or_jobs_is_a_usage_error(
    registry: Path, option: str, value: str, hint: str
) -> None:
    code, _, err = run("validate", "--root", registry, option, value)
    assert code == 2
    assert f"argument {option}" in err and hint in err


def test_an_inspection_depends_on_the_files_beside_the_model(tmp_path: Path) -> None:
    """ONNX reads its external data: adding or changing it must not find the old inspection."""
    from tests.test_external_data import _external_model, _manifest

    folder = tmp_path / "models/ext/1.0.0"
    _external_model(folder)
    weights = (folder / "weights.bin").read_bytes()
    complete = _manifest(folder)
    (folder / "weights.bin").unlink()
    write_version(tmp_path, {**complete, "artifact": {**complete["artifact"], "external_data": []}})
    code, out, _ = run("validate", "--format", "json", "--root", tmp_path)
    assert code == 1
    assert "format.external-data" in {f["code"] for f in json.loads(out)["findings"]}
    (folder / "weights.bin").write_bytes(weights)
    write_version(tmp_path, complete)
    code, out, _ = run("validate", "--format", "json", "--root", tmp_path)
    assert code == 0, json.loads(out)["findings"]
    (folder / "weights.bin").write_bytes(weights[: len(weights) // 2])  # truncated
    code, out, _ = run("validate", "--format", "json", "--root", tmp_path)
    assert code == 1
