"""Lineage (base models and datasets) and report files: references resolved, graphs drawn."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from registry.build.lineage import LineageGraph
from registry.build.site.lineage_svg import render_svg
from registry.validate.ancestry import Ancestry
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import assert_spdx3_valid, run, spdx3_validation, validate_json

MODEL = VALID_REAL_MODELS["logreg_iris.onnx"]


def add(root: Path, name: str, version: str, **fields: Any) -> Path:
    data = manifest_data(MODEL, name, version)
    data.update(fields)
    return write_version(root, data, MODEL.path)


def codes(report: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    return sorted(
        (f["code"], f["file"], f["line"]) for f in report["findings"] if f["severity"] == "error"
    )


def test_self_reference_and_cycles_are_errors(tmp_path: Path) -> None:
    add(tmp_path, "solo", "1.0.0", lineage={"base_model": "solo@1.0.0"})
    add(tmp_path, "a", "1.0.0", lineage={"base_model": "b@1.0.0"})
    add(tmp_path, "b", "1.0.0", lineage={"base_model": "c@1.0.0"})
    add(tmp_path, "c", "1.0.0", lineage={"base_model": "a@1.0.0"})
    code, report = validate_json(tmp_path)
    assert code == 1
    itself = [f for f in report["findings"] if f["code"] == "lineage.self-reference"]
    assert [f["file"] for f in itself] == ["models/solo/1.0.0/manifest.yaml"]
    text = (tmp_path / itself[0]["file"]).read_text().splitlines()
    assert text[itself[0]["line"] - 1].strip().startswith("base_model:")
    cycles = [f for f in report["findings"] if f["code"] == "lineage.cycle"]
    assert sorted(f["file"] for f in cycles) == [
        f"models/{n}/1.0.0/manifest.yaml" for n in ("a", "b", "c")
    ]
    assert "a@1.0.0 -> b@1.0.0 -> c@1.0.0 -> a@1.0.0" in next(
        f["message"] for f in cycles if f["file"].startswith("models/a/")
    )
    assert all(f["line"] for f in cycles)


def test_unknown_base_model_and_datasets(tmp_path: Path) -> None:
    add(tmp_path, "base", "1.0.0", lineage={"datasets": [{"name": "iris"}]})
    # The base model's datasets count for its descendants.
    add(
        tmp_path,
        "tuned",
        "1.0.0",
        lineage={"base_model": "base@1.0.0"},
        metrics=[{"name": "accuracy", "value": 0.9, "dataset": "iris"}],
    )
    add(tmp_path, "orphan", "1.0.0", lineage={"base_model": "ghost@9.9.9"})
    add(tmp_path, "measured", "1.0.0", metrics=[{"name": "f1", "value": 0.5, "dataset": "mystery"}])
    folder = add(tmp_path, "evaluated", "1.0.0")
    (folder / "reports").mkdir()
    (folder / "reports/2025-01-01-evaluation.yaml").write_text(
        yaml.safe_dump(
            {
                "kind": "evaluation",
                "run_id": "r1",
                "evaluator": "ci",
                "evaluator_version": "1",
                "dataset": "elsewhere",
                "metrics": {"accuracy": 0.5},
                "passed": True,
            },
            sort_keys=False,
        )
    )
    code, report = validate_json(tmp_path)
    assert code == 1
    errors = [(c, f) for c, f, _ in codes(report)]
    assert errors == [
        ("lineage.unknown-dataset", "models/evaluated/1.0.0/reports/2025-01-01-evaluation.yaml"),
        ("lineage.unknown-dataset", "models/measured/1.0.0/manifest.yaml"),
        ("reference.unresolved", "models/orphan/1.0.0/manifest.yaml"),
    ]
    evaluated = next(f for f in report["findings"] if "evaluated" in f["file"])
    assert evaluated["line"] == 5  # the `dataset:` line of the report


def test_invalid_reports_are_findings_with_lines(tmp_path: Path) -> None:
    folder = add(tmp_path, "m", "1.0.0")
    reports = folder / "reports"
    reports.mkdir()
    (reports / "2025-01-01-drift.yaml").write_text(
        "kind: drift\nmeasured_at: '2025-01-01T00:00:00Z'\ndrift_score: high\nwindow: 7d\n"
        "monitor: m\n"
    )
    (reports / "2025-01-02-drift.yaml").write_text("kind: evaluation\n")
    (reports / "notes.yaml").write_text("kind: drift\n")
    (reports / "2025-13-01-drift.yaml").write_text("kind: drift\n")
    (reports / "2025-01-03-drift.yaml").write_text("kind: drift\nkind: drift\n")
    code, report = validate_json(tmp_path)
    assert code == 1
    by_file = {f["file"].rsplit("/", 1)[1]: f for f in report["findings"]}
    assert by_file["2025-01-01-drift.yaml"]["code"].startswith("schema.")
    assert by_file["2025-01-01-drift.yaml"]["line"] == 3
    assert by_file["2025-01-02-drift.yaml"]["code"] == "report.kind-mismatch"
    assert by_file["notes.yaml"]["code"] == "report.name"
    assert by_file["2025-13-01-drift.yaml"]["code"] == "report.name"
    assert by_file["2025-01-03-drift.yaml"]["code"] == "yaml.duplicate-key"


def test_lineage_graphs_are_inline_svg_and_json(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    add(root, "base", "1.0.0", lineage={"datasets": [{"name": "iris"}, {"name": "extra"}]})
    add(root, "base", "1.1.0", lineage={"base_model": "base@1.0.0"})
    add(root, "tuned", "1.0.0", lineage={"base_model": "base@1.1.0"})
    add(root, "alone", "1.0.0")
    site = tmp_path / "site"
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 0, err
    page = (site / "models/base/index.html").read_text()
    svg = re.search(r"<svg class=\"lineage\".*?</svg>", page, re.S)
    assert svg is not None
    graph = svg.group(0)
    for node in ("base@1.0.0", "base@1.1.0", "tuned@1.0.0", "iris", "extra"):
        assert f"<title>{node}" in graph or f">{node}<" in graph
    assert 'href="../tuned/1.0.0/index.html"' in graph
    assert "http" not in graph.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    assert "<svg" not in (site / "models/alone/index.html").read_text()
    whole = (site / "lineage.html").read_text()
    assert "<svg" in whole and "1 model(s) record no lineage" in whole
    document = json.loads((site / "v1/lineage.json").read_text())
    assert {(e["from"], e["to"], e["type"]) for e in document["edges"]} == {
        ("base@1.0.0", "dataset:iris", "trainedOn"),
        ("base@1.0.0", "dataset:extra", "trainedOn"),
        ("base@1.1.0", "base@1.0.0", "derivedFrom"),
        ("tuned@1.0.0", "base@1.1.0", "derivedFrom"),
    }
    record = json.loads((site / "v1/models/base/1.1.0/index.json").read_text())
    assert record["nist_ai_rmf"]["map"]["derived_versions"] == ["tuned@1.0.0"]
    assert record["nist_ai_rmf"]["map"]["base_model"] == "base@1.0.0"
    sboms = site / "v1/models/tuned/1.0.0"
    cdx_text = (sboms / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx_text) is None
    ancestors = json.loads(cdx_text)["metadata"]["component"]["pedigree"]["ancestors"]
    assert [(a["name"], a["version"]) for a in ancestors] == [("base", "1.1.0")]
    assert_spdx3_valid(spdx3_validation(sboms / "sbom.spdx3.json"))
    graph = json.loads((sboms / "sbom.spdx3.json").read_text())["@graph"]
    assert "descendantOf" in {e["relationshipType"] for e in graph if e["type"] == "Relationship"}
    spdx2 = subprocess.run(
        [str(Path(sys.executable).parent / "pyspdxtools"), "-i", str(sboms / "sbom.spdx.json")],
        check=False,
    )
    assert spdx2.returncode == 0


def test_long_chains_are_drawn_without_recursion_and_pages_stay_near() -> None:
    chain = {f"m@1.0.{i}": {"lineage": {"base_model": f"m@1.0.{i - 1}"}} for i in range(1, 3000)}
    chain["m@1.0.0"] = {}
    graph = LineageGraph.of(chain)
    svg = render_svg(graph, set(), lambda node: None, "chain")
    assert svg.count("<rect") == 3000
    near = graph.around({"m@1.0.1500"}, radius=3)
    assert sorted(near.versions) == sorted(f"m@1.0.{i}" for i in range(1497, 1504))


def chain_version(index: int) -> tuple[str, str]:
    return f"m{index // 100:03d}", f"1.0.{index % 100}"


def chain_ref(index: int) -> str:
    return "@".join(chain_version(index))


def chain_file(index: int) -> str:
    return "models/{}/{}/manifest.yaml".format(*chain_version(index))


def write_chain(root: Path, length: int) -> None:
    """`length` versions, each derived from the one before; the first declares the dataset
    every version measures on."""
    for index in range(length):
        lineage: dict[str, Any] = (
            {"base_model": chain_ref(index - 1)} if index else {"datasets": [{"name": "root-data"}]}
        )
        metrics = [{"name": "accuracy", "value": 0.9, "dataset": "root-data"}]
        add(root, *chain_version(index), lineage=lineage, metrics=metrics)


def set_lineage(root: Path, index: int, lineage: dict[str, Any]) -> None:
    manifest = root / chain_file(index)
    data = yaml.safe_load(manifest.read_text())
    data["lineage"] = lineage
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_long_chain_validates_and_changes_deep_in_it_are_seen(tmp_path: Path) -> None:
    length = 2000
    write_chain(tmp_path, length)
    code, report = validate_json(tmp_path)
    assert code == 0, codes(report)[:5]
    assert report["summary"]["versions"] == length
    # The first version's dataset renamed: every version's metric is now unknown, the cached
    # results of the deepest ones included (they depend on the whole chain).
    set_lineage(tmp_path, 0, {"datasets": [{"name": "renamed"}]})
    code, report = validate_json(tmp_path)
    assert code == 1
    unknown = [f["file"] for f in report["findings"] if f["code"] == "lineage.unknown-dataset"]
    assert sorted(unknown) == sorted(chain_file(i) for i in range(length))
    # Back, then a loop through the last ten versions: they are cycles, no one else is.
    set_lineage(tmp_path, 0, {"datasets": [{"name": "root-data"}]})
    set_lineage(tmp_path, length - 10, {"base_model": chain_ref(length - 1)})
    code, report = validate_json(tmp_path)
    assert code == 1
    cycles = {f["file"]: f["message"] for f in report["findings"] if f["code"] == "lineage.cycle"}
    loop = range(length - 1, length - 11, -1)  # from the last version, base by base
    assert sorted(cycles) == sorted(chain_file(i) for i in loop)
    path = " -> ".join(chain_ref(i) for i in [*loop, length - 1])
    assert f"loops: {path};" in cycles[chain_file(length - 1)]
    # The versions of the loop no longer reach the first version's dataset; all others do.
    unknown = [f["file"] for f in report["findings"] if f["code"] == "lineage.unknown-dataset"]
    assert sorted(unknown) == sorted(cycles)


def test_ancestry_follows_deep_chains_and_loops_without_recursion() -> None:
    depth = 100_000
    bases = {f"v{i}": f"v{i - 1}" for i in range(1, depth)}
    bases |= {"a": "b", "b": "c", "c": "a", "tail": "a", "self": "self"}
    datasets = {"v0": {"root"}, "b": {"loop"}}
    ancestry = Ancestry(bases.get, lambda node: datasets.get(node, set()))
    deepest = ancestry.reach(f"v{depth - 1}")
    assert (deepest.versions, deepest.loops) == (depth, False)
    assert ancestry.declares(f"v{depth - 1}", "root")
    assert not ancestry.declares(f"v{depth - 1}", "loop")
    assert ancestry.reach("v0").versions == 1
    assert [(ancestry.reach(n).versions, ancestry.reach(n).loops) for n in ("a", "tail")] == [
        (3, True),
        (4, True),
    ]
    assert ancestry.reach("self").loops
    assert ancestry.declares("tail", "loop") and not ancestry.declares("tail", "root")
    manifests = {node: f"digest of {node}" for node in bases}

    def fingerprint(node: str) -> str:
        return Ancestry(bases.get, lambda _: set()).fingerprint(node, manifests.get)

    before = fingerprint(f"v{depth - 1}")
    assert fingerprint("a") == fingerprint("b") == fingerprint("c") != fingerprint("tail")
    manifests["v0"] = "changed"
    assert fingerprint(f"v{depth - 1}") != before
