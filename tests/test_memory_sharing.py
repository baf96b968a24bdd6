"""What a large build holds once is not held again: the validation results and the events it
keeps share their strings, and forked workers leave the parent's objects to the parent."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from registry.eventlog import publish
from registry.eventlog.chain import chain, event_hash
from registry.eventlog.derive import DerivedHistory, ShallowHistory, derive
from registry.eventlog.publish import derive_ahead, registry_log
from registry.infra.cache import Cache
from registry.infra.interned import interned
from registry.infra.parallel import forked_map
from registry.infra.runoptions import RunOptions
from registry.load.jsonequal import same_json
from registry.validate.run import validate_registry
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import cache_index, commit_all

IRIS = VALID_REAL_MODELS["logreg_iris.onnx"]


def test_interned_json_is_the_same_json_with_shared_strings() -> None:
    text = (
        '{"name": "iris", "values": [1, 1.0, true, null, -0.0, "float32"],'
        ' "nested": {"dtype": "float32"}}'
    )
    first, second = json.loads(text), json.loads(text)
    assert first["name"] is not second["name"]  # each decoding makes its own strings
    a, b = interned(first), interned(second)
    assert same_json(a, first) and same_json(b, second)  # 1 stays 1, 1.0 stays 1.0, true true
    assert a is not first and a["nested"] is not first["nested"]  # new containers
    assert a["name"] is b["name"] and a["values"][5] is b["nested"]["dtype"]
    key_a = next(k for k in a if k == "nested")
    key_b = next(k for k in b if k == "nested")
    assert key_a is key_b


def _registry(root: Path) -> Path:
    root.mkdir()
    (root / "registry.yaml").write_text("name: Sharing\nbase_url: https://models.example.org/\n")
    for index in range(4):
        data = manifest_data(IRIS, name=f"iris-{index // 2}", version=f"1.0.{index % 2}")
        write_version(root, data, IRIS.path)
    commit_all(root, "models")
    return root


def _same_objects(first: Any, second: Any) -> bool:
    """Whether every string of two equal manifests is one object in both."""
    if isinstance(first, dict):
        return all(
            k1 is k2 and _same_objects(first[k1], second[k2])
            for k1, k2 in zip(first, second, strict=True)
        )
    if isinstance(first, list):
        return all(_same_objects(x, y) for x, y in zip(first, second, strict=True))
    return first is second if isinstance(first, str) else bool(first == second)


def test_results_and_events_a_build_keeps_share_their_strings(tmp_path: Path) -> None:
    root = _registry(tmp_path / "registry")
    for _ in range(2):  # validated by two workers, then read back from the cache
        report = validate_registry(root, options=RunOptions(jobs=2))
        assert [r.ok() for r in report.results] == [True] * 4
        manifests = [r.manifest.data for r in report.results if r.manifest is not None]
        assert manifests[0]["license"] is manifests[3]["license"]
        assert manifests[0]["input_shape"][0]["dtype"] is manifests[3]["input_shape"][0]["dtype"]
    with Cache(root, True) as cache:
        derived, cached = registry_log(root, False, cache), registry_log(root, False, cache)
    for log in (derived, cached):
        published = [e.payload["manifest"] for e in log.events if e.type == "ModelVersioned"]
        assert published and _same_objects(published[0], manifests[1])  # iris-0@1.0.1
    assert [e.to_json() for e in derived.events] == [e.to_json() for e in cached.events]


def _frozen_in_worker(shared: None, item: int) -> int:
    return gc.get_freeze_count()


def test_forked_workers_find_the_parents_objects_frozen() -> None:
    """A worker's cycle collector never walks (and so never copies) what it inherited; the
    parent's collector has them back once the workers are done."""
    held = [{"object": number} for number in range(1000)]
    frozen = list(forked_map(_frozen_in_worker, [1, 2], 2, None, lambda shared: shared))
    assert min(frozen) >= len(held)
    assert gc.get_freeze_count() == 0


def test_saved_values_are_read_from_the_index_not_kept_in_memory(tmp_path: Path) -> None:
    """Once flushed, an entry is read back from the index, MAC checked: what the process wrote
    does not stay in memory to the end of a build (nor outlive a change to the index)."""
    with Cache(tmp_path) as cache:
        for number in range(1500):  # past one automatic flush
            cache.put("test", f"key-{number}", {"number": number})
        cache.flush()
        assert [cache.get("test", f"key-{n}") for n in (0, 1499)] == [
            {"number": 0},
            {"number": 1499},
        ]
        with sqlite3.connect(cache_index(tmp_path)) as db:
            db.execute("UPDATE entries SET value = '{\"number\": -1}' WHERE key = 'key-0'")
        assert cache.get("test", "key-0") is None  # not its own copy: the changed, unsigned row
        sha = cache.store(b"an object")
        assert sha is not None and cache.known(sha)
        cache.flush()
        assert cache.known(sha)


def test_a_worker_hands_its_values_over_and_keeps_what_it_stored(tmp_path: Path) -> None:
    with Cache(tmp_path) as parent:
        worker = parent.worker()
        worker.put("test", "key", {"from": "worker"})
        sha = worker.store(b"an object of the worker")
        assert sha is not None
        writes = worker.drain()
        assert worker.get("test", "key") is None  # handed over, not yet in the index
        assert worker.known(sha)  # its object: kept, or it would be stored a second time
        parent.apply(writes)
        parent.flush()
        assert worker.get("test", "key") == {"from": "worker"} == parent.get("test", "key")
        worker.close()


def test_events_hold_the_results_manifest_when_it_is_the_same_json(tmp_path: Path) -> None:
    """The event that published a version carries its manifest: given the validation results'
    (as a build gives them), the log holds that dict, derived or from the cache, and every
    event writes and hashes as it did."""
    root = _registry(tmp_path / "registry")
    report = validate_registry(root, options=RunOptions(jobs=2))
    own = {r.version.relative: r.manifest.loaded.data for r in report.results if r.manifest}
    with Cache(root, True) as cache:
        alone = registry_log(root, False, cache)
        derived = registry_log(root, False, None, own)
        cached = registry_log(root, False, cache, own)
    for log in (derived, cached):
        carrying = [e for e in log.events if "manifest" in e.payload]
        assert sorted(f"models/{e.model}/{e.version}" for e in carrying) == sorted(own)
        assert all(e.payload["manifest"] is own[f"models/{e.model}/{e.version}"] for e in carrying)
        assert [e.to_json() for e in log.events] == [e.to_json() for e in alone.events]
        assert all(event_hash(e.body()) == e.hash for e in log.events)
    assert not any(e.payload.get("manifest") is m for e in alone.events for m in own.values())


def test_an_event_keeps_its_manifest_when_the_json_differs(tmp_path: Path) -> None:
    """Python's == holds 588 == 588.0 and 1 == True; the JSON the event was hashed over does
    not: a manifest that only compares equal is not shared."""
    root = _registry(tmp_path / "registry")
    report = validate_registry(root, options=RunOptions(jobs=2))
    other = {}
    for result in report.results:
        assert result.manifest is not None
        data = json.loads(json.dumps(dict(result.manifest.data)))
        data["artifact"]["size"] = float(data["artifact"]["size"])
        assert data == result.manifest.data
        other[result.version.relative] = data
    alone, log = registry_log(root, False), registry_log(root, False, None, other)
    assert [e.to_json() for e in log.events] == [e.to_json() for e in alone.events]
    kept = [e.payload["manifest"] for e in log.events if "manifest" in e.payload]
    assert len(kept) == 4
    assert not any(m is data for m in kept for data in other.values())


def test_a_derived_log_is_saved_at_once(tmp_path: Path) -> None:
    """The log's cache entry (about 1 KB an event) is in the index as soon as it is derived:
    its text does not wait in memory for the build's next thousand writes."""
    root = _registry(tmp_path / "registry")
    with Cache(root, True) as cache:
        log = registry_log(root, False, cache)
        with sqlite3.connect(cache_index(root)) as db:
            (stored,) = db.execute("SELECT value FROM entries WHERE kind = 'events'").fetchone()
        assert json.loads(stored)["events"] == [e.to_json() for e in log.events]


def _derive_recording_pid(root: Path, allow_shallow: bool = False) -> DerivedHistory:
    (root / "derived-in").write_text(str(os.getpid()))
    return derive(root, allow_shallow=allow_shallow)


def test_the_log_is_derived_in_a_child_and_decoded_one_event_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deriving holds every event twice over: a forked child does it. What it hands over, and
    the cache entry read back piece by piece, are the log derived here."""
    root = _registry(tmp_path / "registry")
    here = [e.to_json() for e in chain(derive(root).records)]
    monkeypatch.setattr(publish, "derive", _derive_recording_pid)
    with Cache(root, True) as cache:
        derived = registry_log(root, False, cache)
        assert int((root / "derived-in").read_text()) != os.getpid()
        (root / "derived-in").unlink()
        cached = registry_log(root, False, cache)
        assert not (root / "derived-in").exists()  # from the cache: nothing derived
        stored = cache.get_text("events", _events_key(root))
    assert [e.to_json() for e in derived.events] == here
    assert [e.to_json() for e in cached.events] == here
    assert stored is not None and json.loads(stored) == {"events": here, "partial": False}
    assert stored == json.dumps({"events": here, "partial": False}, separators=(",", ":"))


def _events_key(root: Path) -> str:
    with sqlite3.connect(cache_index(root)) as db:
        (key,) = db.execute("SELECT key FROM entries WHERE kind = 'events'").fetchone()
    return str(key)


def test_a_cached_log_of_another_shape_is_decoded_whole(tmp_path: Path) -> None:
    """The entry is read piece by piece only in the shape the log writes: another (an older
    writer's spacing, members in another order) is decoded as a whole, to the same events."""
    root = _registry(tmp_path / "registry")
    with Cache(root, True) as cache:
        first = registry_log(root, False, cache)
        key = _events_key(root)
        events = [e.to_json() for e in first.events]
        cache.put_text("events", key, json.dumps({"partial": False, "events": events}, indent=1))
        again = registry_log(root, False, cache)
    assert [e.to_json() for e in again.events] == events and again.partial is False


@pytest.mark.parametrize(
    "entry",
    [
        '{"events":["abc],"partial":false}',
        '{"events":[{"a":1} {"b":2}],"partial":false}',
        '{"events":[1,"two",null],"partial":false}',
        '{"events": {"a": 1}, "partial": false}',
        "[1, 2]",
        '{"events":[' + "[" * 100_000 + "]" * 100_000 + '],"partial":false}',
    ],
    ids=["into-tail", "no-comma", "not-events", "no-list", "not-an-object", "deep"],
)
def test_a_malformed_cached_log_is_derived_again(tmp_path: Path, entry: str) -> None:
    """A value that runs into the entry's tail, two without a comma between them, values that
    are not events, no list of events: not what a log writes, so not read as one; the log is
    derived again and the entry written over; nested past the decoder's recursion limit too."""
    root = _registry(tmp_path / "registry")
    with Cache(root, True) as cache:
        first = registry_log(root, False, cache)
        key = _events_key(root)
        cache.put_text("events", key, entry)
        again = registry_log(root, False, cache)
        rewritten = cache.get_text("events", key)
    assert [e.to_json() for e in again.events] == [e.to_json() for e in first.events]
    assert rewritten is not None and json.loads(rewritten)["events"] == [
        e.to_json() for e in first.events
    ]


def test_the_log_derived_ahead_is_the_log_a_build_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build derives the log into the cache before it validates (while its process is small:
    the forked child that derives it holds a copy of its parent); registry_log then reads it
    from there, forking nothing, and gives the events derived without a cache."""
    root = _registry(tmp_path / "registry")
    alone = registry_log(root, False)
    with Cache(root, True) as cache:
        derive_ahead(root, False, cache)
        derive_ahead(root, False, cache)  # found: not derived again
        monkeypatch.setattr(publish, "forked_map", None)  # a call would fail
        ahead = registry_log(root, False, cache)
    assert [e.to_json() for e in ahead.events] == [e.to_json() for e in alone.events]
    assert any(e.type == "ModelVersioned" for e in ahead.events)


def test_a_log_that_cannot_be_derived_ahead_is_reported_where_it_was(tmp_path: Path) -> None:
    """A shallow clone: nothing is stored ahead, and registry_log refuses it as before."""
    root = _registry(tmp_path / "registry")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{root}", str(clone)], check=True)
    with Cache(clone, True) as cache:
        derive_ahead(clone, False, cache)
        assert not cache.holds("events", publish._key(clone, False) or "")
        with pytest.raises(ShallowHistory):
            registry_log(clone, False, cache)
