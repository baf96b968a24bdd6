"""What a large build holds once is not held again: the validation results and the events it
keeps share their strings, and forked workers leave the parent's objects to the parent."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

from registry.eventlog.publish import registry_log
from registry.infra.cache import Cache
from registry.infra.interned import interned
from registry.infra.parallel import forked_map
from registry.infra.runoptions import RunOptions
from registry.load.jsonequal import same_json
from registry.validate.run import validate_registry
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import commit_all

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
