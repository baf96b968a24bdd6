"""Property: for any history of registry operations, replaying the derived events gives exactly
the state read from the final tree."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.eventlog.chain import chain, verify_chain
from registry.eventlog.derive import derive
from registry.eventlog.state import replay, tree_state
from tests.helpers import commit_all, git, merge

EXAMPLES = int(os.environ.get("REPLAY_EXAMPLES", "25"))

operation = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(
        st.just("edit"),
        st.integers(0, 50),
        st.sampled_from(
            ["description", "tags", "metrics", "license", "drop-description", "null-description"]
        ),
    ),
    st.tuples(st.just("deprecate"), st.integers(0, 50)),
    st.tuples(st.just("remove"), st.integers(0, 50)),
    st.tuples(st.just("report"), st.integers(0, 50), st.sampled_from(["evaluation", "drift"])),
    st.tuples(st.just("branch-add"), st.integers(0, 2), st.integers(4, 6)),
    st.tuples(st.just("garble"), st.integers(0, 50)),
    # Governance: a riskier tier (validation refuses lowering one), a new version at tier-3.
    st.tuples(st.just("raise-tier"), st.integers(0, 50)),
    st.tuples(st.just("add-tier-3"), st.integers(0, 2), st.integers(7, 9)),
    # Aliases: assigned or moved to any version (even one deprecated, blocked or removed later),
    # dropped, or the file garbled or deleted.
    st.tuples(st.just("alias"), st.integers(0, 50), st.sampled_from(["production", "staging"])),
    st.tuples(st.just("unalias"), st.integers(0, 2), st.sampled_from(["production", "staging"])),
    st.tuples(st.just("alias-file"), st.integers(0, 2), st.sampled_from(["garble", "delete"])),
)
TIERS = ("tier-1", "tier-2", "tier-3")


def _manifest(name: str, version: str, salt: int, tier: str = "tier-1") -> dict[str, Any]:
    return {
        "schema_version": "1.1",
        "model_name": name,
        "version": version,
        "framework": {"name": "onnx", "version": "1.17"},
        "format": "onnx",
        "artifact": {"path": "model.onnx", "sha256": f"{salt:064x}", "size": salt},
        "input_shape": [],
        "output_schema": [{"name": "y", "dtype": "float32", "shape": [1]}],
        "license": "MIT",
        "intended_use": "Property test manifest, never used for anything.",
        "publisher": {"name": "prop"},
        "risk_tier": tier,
    }


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _live(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "models").glob("*/*/manifest.yaml"))


def _aliases(root: Path, op: tuple[Any, ...], live: list[Path]) -> None:
    kind = op[0]
    if kind == "alias":
        if not live:
            return
        folder = live[op[1] % len(live)]
        path = folder.parent / "aliases.yaml"
    else:
        path = root / "models" / f"model-{op[1]}" / "aliases.yaml"
        if not path.parent.is_dir():
            return
    try:
        loaded = yaml.safe_load(path.read_text()) if path.is_file() else None
    except yaml.YAMLError:  # garbled by an earlier step
        loaded = None
    table = loaded if isinstance(loaded, dict) else {}
    if kind == "alias":
        table[op[2]] = folder.name
    elif kind == "unalias":
        table.pop(op[2], None)
    elif op[2] == "delete":
        path.unlink(missing_ok=True)
        return
    else:
        path.write_text("production: [1.0.0\n")
        return
    path.write_text(yaml.safe_dump(table, sort_keys=True))


def _apply(root: Path, op: tuple[Any, ...], step: int) -> None:
    live = _live(root)
    kind = op[0]
    if kind in ("alias", "unalias", "alias-file"):
        _aliases(root, op, live)
        return
    if kind in ("add", "branch-add", "add-tier-3"):
        name, version = f"model-{op[1]}", f"1.{op[2]}.0"
        folder = root / "models" / name / version
        if folder.exists():
            return
        if kind == "branch-add":
            git(root, "checkout", "-q", "-b", f"side-{step}")
        tier = "tier-3" if kind == "add-tier-3" else "tier-1"
        _write(folder / "manifest.yaml", _manifest(name, version, step, tier))
        if kind == "branch-add":
            commit_all(root, f"side {step}", f"2025-02-01T00:{step:02d}:00+00:00")
            git(root, "checkout", "-q", "main")
            merge(root, f"side-{step}", f"merge {step}", f"2025-02-01T01:{step:02d}:00+00:00")
        return
    if not live:
        return
    folder = live[op[1] % len(live)]
    manifest = folder / "manifest.yaml"
    loaded = yaml.safe_load(manifest.read_text()) if kind != "garble" else None
    data = loaded if isinstance(loaded, dict) else None
    if kind == "edit" and data is not None:
        field = op[2]
        if field == "drop-description":
            data.pop("description", None)
        elif field == "null-description":
            data["description"] = None
        else:
            data[field] = {
                "description": f"step {step}",
                "tags": [f"t{step}"],
                "metrics": [{"name": "acc", "value": step / 100}],
                "license": "Apache-2.0",
            }[field]
        _write(manifest, data)
    elif kind == "deprecate" and data is not None:
        data.update(
            status="deprecated",
            deprecation={"reason": f"step {step}", "effective_at": "2025-03-01"},
        )
        _write(manifest, data)
    elif kind == "remove":
        shutil.rmtree(folder)
    elif kind == "report":
        body = (
            {"kind": "evaluation", "run_id": f"r{step}", "passed": step % 2 == 0}
            if op[2] == "evaluation"
            else {"kind": "drift", "drift_score": step / 100}
        )
        _write(folder / "reports" / f"2025-01-{step % 28 + 1:02d}-{op[2]}-{step}.yaml", body)
    elif kind == "raise-tier" and data is not None and data.get("risk_tier") in TIERS:
        data["risk_tier"] = TIERS[min(TIERS.index(data["risk_tier"]) + 1, 2)]
        _write(manifest, data)
    elif kind == "garble":
        manifest.write_text("schema_version: '1.1'\nmodel_name: a\nmodel_name: b\n")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=EXAMPLES <= 25,
)
@given(st.lists(operation, min_size=1, max_size=10))
def test_replay_of_derived_events_equals_the_tree(operations: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "models").mkdir()
        (root / "models/.keep").write_text("")
        commit_all(root, "empty registry", "2025-01-01T00:00:00+00:00")
        for step, op in enumerate(operations, start=1):
            _apply(root, op, step)
            commit_all(root, f"step {step}", f"2025-01-02T00:{step:02d}:00+00:00")
        events = chain(derive(root).records)
        assert verify_chain([e.to_json() for e in events]) is None
        assert replay(events) == tree_state(root)
