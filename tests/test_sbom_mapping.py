"""Every manifest field maps to each SBOM or says why it cannot; a fully populated 1.2 manifest
arrives where registry/build/sbom/mapping.py says, and the three documents stay valid."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from registry.build.sbom.mapping import MANIFEST_ROWS, RECORD_ROWS, is_reason
from registry.infra.schemadir import schema_dir
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import new_registry, write_version
from tests.helpers import PROJECT, assert_spdx3_valid, commit_all, run, script, spdx3_validation

MODEL = VALID_REAL_MODELS["nmp.tflite"]
DOCUMENTS = {"spdx2": "sbom.spdx.json", "spdx3": "sbom.spdx3.json", "cyclonedx": "sbom.cdx.json"}

# Every optional field of schema 1.2 set (but artifact.url and external_data: this artifact is a
# single file named by path).
FULL: dict[str, Any] = {
    "schema_version": "1.2",
    "description": "Keyword spotter used to check that every field reaches the SBOMs.",
    "publisher": {
        "name": "Acme Models",
        "email": "models@acme.example",
        "url": "https://acme.example/models",
        "identity": "models@acme.example",
    },
    "authors": [{"name": "Ada Lovelace", "email": "ada@acme.example"}],
    "lineage": {
        "base_model": "full@1.0.0",
        "datasets": [
            {
                "name": "speech-train",
                "role": "training",
                "url": "https://data.acme.example/speech-train",
                "sha256": "ab" * 32,
                "license": "CC-BY-4.0",
                "description": "Two seconds of speech per clip, 40,000 clips.",
            },
            {
                "name": "speech-eval",
                "role": "evaluation",
                "url": "https://data.acme.example/speech-eval",
                "license": "CC0-1.0",
                "description": "Held-out speakers.",
            },
        ],
        "training_code": {"repository": "https://git.acme.example/kws", "commit": "0a1b2c3d4e5f"},
    },
    "metrics": [{"name": "accuracy", "value": 0.93, "dataset": "speech-eval", "split": "test"}],
    # Two runtimes whose names slug() folds together: two SPDX 3 ids all the same.
    "compatibility_matrix": {"tflite-runtime": ">=2.14", "tflite_runtime": ">=2.13"},
    "dependencies": [
        {
            "name": "tflite-runtime",
            "version": "2.14.0",
            "purpose": "runtime",
            "purl": "pkg:pypi/tflite-runtime@2.14.0",
        }
    ],
    "exported_at": "2025-04-02T10:11:12Z",
    "tags": ["audio", "wake-word"],
    "status": "deprecated",
    "deprecation": {
        "reason": "superseded by a quieter model",
        "effective_at": "2025-09-01",
        "redirect_to": "full@1.0.0",
    },
    "governance": {
        "review": {
            "approved_by": "board@acme.example",
            "approved_at": "2025-04-03",
            "ticket": "GOV-77",
        }
    },
    "quantization_profile": {
        "method": "int8-static",
        "calibration_dataset_hash": "sha256:" + "cd" * 32,
    },
    "model_card": {
        "limitations": "Trained on **adult** speakers only. <script>alert(1)</script>",
        "out_of_scope_uses": "Speaker identification.",
        "training": {
            "framework": {"name": "tensorflow", "version": "2.15.0"},
            "procedure": "Adam, cosine schedule, early stopping.",
            "hyperparameters": {"learning_rate": 0.001, "epochs": 30, "augment": True},
            "hardware": "1x T4",
            "duration": "3 h",
        },
        "energy": {"training_kwh": 1.5, "fine_tuning_kwh": 0.25, "inference_kwh": 0.0001},
        "autonomy": False,
        "sensitive_personal_information": True,
        "explainability": "Saliency maps over the MFCC frames.",
        "data_preprocessing": ["16 kHz resampling", "40 MFCC per frame"],
        "ethical_considerations": [
            {"name": "Always-on listening", "mitigation": "On-device only."}
        ],
        "fairness": [
            {
                "group_at_risk": "children",
                "benefits": "hands-free use",
                "harms": "missed wake words",
                "mitigation": "child speech in the next release",
            }
        ],
        "domain": ["speech"],
        "task": "audio-classification",
        "architecture": "convolutional neural network",
    },
}


def _schema_fields(node: dict[str, Any], defs: dict[str, Any], path: str = "") -> Iterator[str]:
    """Each leaf of a manifest schema as a mapping row names it (`a.b`, `a[].b`, `a.*`)."""
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    items = node.get("items", {})
    if "$ref" in items:
        items = defs[items["$ref"].rsplit("/", 1)[-1]]
    if "properties" in node:
        for key, child in node["properties"].items():
            yield from _schema_fields(child, defs, f"{path}.{key}" if path else key)
    elif "properties" in items:
        yield from _schema_fields(items, defs, f"{path}[]")
    elif isinstance(node.get("additionalProperties"), dict):
        yield f"{path}.*"
    else:
        yield path


def test_every_manifest_field_is_mapped_or_explained() -> None:
    rows = {row.field for row in MANIFEST_ROWS}
    fields: set[str] = set()
    for version in ("1.0", "1.1", "1.2"):
        schema = json.loads((schema_dir() / f"manifest/{version}.json").read_text())
        fields |= set(_schema_fields(schema, schema["$defs"]))
    assert sorted(fields - rows) == [], "fields with no row in registry/build/sbom/mapping.py"
    assert sorted(rows - fields) == [], "rows for fields no schema has"
    for row in MANIFEST_ROWS:
        for target in row.targets().values():
            assert target.strip() and (is_reason(target) or "." in target or "[" in target), row


def test_every_record_field_is_mapped_or_explained() -> None:
    record = json.loads((schema_dir() / "api/version-record.json").read_text())
    covered = {row.field.removeprefix("record:").split(".")[0].split(" ")[0] for row in RECORD_ROWS}
    assert sorted(set(record["properties"]) - covered - {"api_version", "manifest"}) == []


def test_the_mapping_page_is_up_to_date() -> None:
    done = script("scripts/sbom_mapping.py", "--check")
    assert done.returncode == 0, done.stdout


def _find(document: Any, locator: str) -> list[Any]:
    """The JSON values a mapping locator names (see registry/build/sbom/mapping.py)."""
    nodes = [document]
    for step in locator.split(" ")[0].split("."):
        key, _, selector = step.partition("[")
        nodes = [n[key] for n in nodes if isinstance(n, dict) and key in n]
        if selector:
            wanted = selector.rstrip("]")
            items = [item for n in nodes if isinstance(n, list) for item in n]
            if wanted:
                field, _, value = wanted.partition("=")
                items = [i for i in items if isinstance(i, dict) and str(i.get(field)) == value]
            nodes = items
    return nodes


def _values(data: Any, field: str) -> list[str]:
    """The leaf values of `field` in manifest data, as the SBOMs print them."""
    nodes = [data]
    for step in field.split("."):
        key = step.removesuffix("[]")
        if key == "*":
            nodes = [v for n in nodes for v in n.values()]
            continue
        nodes = [n[key] for n in nodes if isinstance(n, dict) and key in n]
        if step.endswith("[]"):
            nodes = [item for n in nodes for item in n]
    found = []
    for node in nodes:
        for leaf in node if isinstance(node, list) else [node]:
            if isinstance(leaf, bool) and field.startswith("model_card.training"):
                found.append(json.dumps(leaf))  # a hyperparameter, as YAML writes it
            elif isinstance(leaf, bool):
                found.append("yes" if leaf else "no")  # a presence: SPDX 3's yes/no
            elif leaf is not None:
                found.append(str(leaf))
    return found


@pytest.fixture(scope="module")
def full_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    root = new_registry(tmp_path_factory.mktemp("full") / "registry")
    write_version(root, manifest_data(MODEL, "full", "1.0.0"), MODEL.path)
    commit_all(root, "base version", "2025-04-01T00:00:00+00:00")
    data = {**manifest_data(MODEL, "full", "1.1.0"), **FULL}
    write_version(root, data, MODEL.path)
    commit_all(root, "the fully populated version", "2025-04-05T00:00:00+00:00")
    code, out, err = run("build", "--root", root, "--out", root / "site")
    assert code == 0, out + err
    return data, root / "site/v1/models/full/1.1.0"


def test_each_value_arrives_where_the_mapping_says(full_site: tuple[dict[str, Any], Path]) -> None:
    data, folder = full_site
    documents = {kind: json.loads((folder / name).read_text()) for kind, name in DOCUMENTS.items()}
    missing = []
    for row in MANIFEST_ROWS:
        values = _values(data, row.field)
        for kind, target in row.targets().items():
            if is_reason(target) or not values:
                continue
            places = [n for part in target.split(" + ") for n in _find(documents[kind], part)]
            text = json.dumps(places, ensure_ascii=False)
            missing += [(row.field, kind, v) for v in values if v not in text]
    assert missing == [], missing


def test_the_fully_populated_documents_pass_their_validators(
    full_site: tuple[dict[str, Any], Path],
) -> None:
    _, folder = full_site
    spdx3 = spdx3_validation(folder / "sbom.spdx3.json")
    tool = Path(sys.executable).parent / "pyspdxtools"
    done = subprocess.run(
        [str(tool), "-i", str(folder / "sbom.spdx.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (folder / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert_spdx3_valid(spdx3, "full@1.1.0")


# What the SBOMs claimed before manifest 1.2 and no longer may (each assertion fails on the
# documents of the version before it).


def _graph(folder: Path) -> list[dict[str, Any]]:
    graph: list[dict[str, Any]] = json.loads((folder / "sbom.spdx3.json").read_text())["@graph"]
    return graph


def _named(graph: list[dict[str, Any]], kind: str) -> dict[str, str]:
    return {e["spdxId"]: e.get("name", "") for e in graph if e["type"] == kind}


def test_only_training_data_is_trained_on(full_site: tuple[dict[str, Any], Path]) -> None:
    _, folder = full_site
    graph = _graph(folder)
    datasets = _named(graph, "dataset_DatasetPackage")
    related = {
        e["relationshipType"]: sorted(datasets[t] for t in e["to"] if t in datasets)
        for e in graph
        if e["type"] == "Relationship"
    }
    assert related["trainedOn"] == ["speech-train"]
    assert related["testedOn"] == ["speech-eval"]
    spdx2 = json.loads((folder / "sbom.spdx.json").read_text())
    names = {p["SPDXID"]: p["name"] for p in spdx2["packages"]}
    kinds = {
        (r["relationshipType"], names.get(r["relatedSpdxElement"]), names.get(r["spdxElementId"]))
        for r in spdx2["relationships"]
    }
    assert ("GENERATED_FROM", "speech-train", "full") in kinds
    assert ("GENERATED_FROM", "speech-eval", "full") not in kinds
    assert ("TEST_OF", "full", "speech-eval") in kinds
    lineage = json.loads((folder.parents[3] / "v1/lineage.json").read_text())
    assert "dataset:speech-eval" not in json.dumps(lineage)
    assert "dataset:speech-train" in json.dumps(lineage)


def test_release_is_the_first_publication_and_build_is_exported_at(
    full_site: tuple[dict[str, Any], Path],
) -> None:
    _, folder = full_site
    graph = _graph(folder)
    model = next(e for e in graph if e["type"] == "ai_AIPackage")
    assert model["releaseTime"] == "2025-04-05T00:00:00Z"  # the commit that published it
    assert model["builtTime"] == "2025-04-02T10:11:12Z"  # exported_at
    for dataset in (e for e in graph if e["type"] == "dataset_DatasetPackage"):
        assert "releaseTime" not in dataset and "builtTime" not in dataset
    spdx2 = json.loads((folder / "sbom.spdx.json").read_text())
    package = next(p for p in spdx2["packages"] if p["SPDXID"] == "SPDXRef-Model")
    assert (package["releaseDate"], package["builtDate"]) == (
        "2025-04-05T00:00:00Z",
        "2025-04-02T10:11:12Z",
    )
    cdx = json.loads((folder / "sbom.cdx.json").read_text())
    assert cdx["metadata"]["timestamp"].startswith("2025-04-05T00:00:00")


def test_a_later_report_does_not_move_the_release(tmp_path: Path) -> None:
    root = new_registry(tmp_path / "registry")
    write_version(root, manifest_data(MODEL, "late", "1.0.0"), MODEL.path)
    commit_all(root, "publish", "2025-01-01T00:00:00+00:00")
    reports = root / "models/late/1.0.0/reports"
    reports.mkdir()
    (reports / "2025-06-01-drift.yaml").write_text(
        "kind: drift\nmeasured_at: '2025-06-01T00:00:00Z'\ndrift_score: 0.01\nwindow: 7d\n"
        "monitor: test\n"
    )
    commit_all(root, "a drift report", "2025-06-02T00:00:00+00:00")
    code, out, err = run("build", "--root", root, "--out", root / "site")
    assert code == 0, out + err
    model = next(
        e for e in _graph(root / "site/v1/models/late/1.0.0") if e["type"] == "ai_AIPackage"
    )
    assert model["releaseTime"] == "2025-01-01T00:00:00Z"


def test_only_what_is_known_is_stated(full_site: tuple[dict[str, Any], Path]) -> None:
    _, folder = full_site
    model = next(e for e in _graph(folder) if e["type"] == "ai_AIPackage")
    assert model["summary"] == "AI model, tflite (schema 3), trained with tensorflow 2.15.0"
    assert model["ai_domain"] == ["speech"]  # model_card.domain, not the free tags
    assert model["ai_typeOfModel"] == ["convolutional neural network", "audio-classification"]
    assert model["ai_standardCompliance"] == ["NIST AI RMF 1.0"]  # datasets, metric, review
    card = json.loads((folder / "sbom.cdx.json").read_text())["metadata"]["component"]["modelCard"]
    assert "modelArchitecture" not in card["modelParameters"]
    assert card["modelParameters"]["architectureFamily"] == "convolutional neural network"
    base = next(e for e in _graph(folder.parent / "1.0.0") if e["type"] == "ai_AIPackage")
    # No review, no drift measurement, `framework` names no training framework of its own:
    assert "ai_standardCompliance" not in base
    assert "ai_metricDecisionThreshold" not in base
    assert "ai_domain" not in base
    base_card = json.loads((folder.parent / "1.0.0/sbom.cdx.json").read_text())["metadata"][
        "component"
    ]["modelCard"]
    names = {p["name"] for p in base_card["properties"]}
    assert "modelreg:drift_threshold" not in names and "modelreg:standard_compliance" not in names


def test_an_export_format_is_not_called_the_training_framework(tmp_path: Path) -> None:
    """iris-mlp 1.0.0 names `framework: onnx`: its summary says nothing of training."""
    site = tmp_path / "site"
    code, out, err = run("build", "--root", PROJECT, "--out", site)
    assert code == 0, out + err
    model = next(
        e for e in _graph(site / "v1/models/iris-mlp/1.0.0") if e["type"] == "ai_AIPackage"
    )
    assert "trained with" not in model["summary"]
    newer = next(
        e for e in _graph(site / "v1/models/iris-mlp/1.1.0") if e["type"] == "ai_AIPackage"
    )
    assert newer["summary"].endswith("trained with scikit-learn 1.5.2")


def test_the_version_page_shows_the_model_card(full_site: tuple[dict[str, Any], Path]) -> None:
    _, folder = full_site
    page = (folder.parents[3] / "models/full/1.1.0/index.html").read_text()
    card = page[page.index('<section id="model-card">') : page.index('<section id="governance">')]
    assert "<strong>adult</strong>" in card  # Markdown rendered ...
    assert "<script>alert(1)" not in page  # ... and sanitised
    for text in (
        "Out-of-scope uses",
        "Adam, cosine schedule",
        "tensorflow 2.15.0",
        "1.5 kWh",
        "Always-on listening",
        "missed wake words",
        "audio-classification",
        "40 MFCC per frame",
    ):
        assert text in card, text
    assert '<span class="badge">evaluation</span>' in page  # each dataset's role
