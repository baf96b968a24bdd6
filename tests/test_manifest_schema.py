"""The manifest schemas, routing by schema_version, and the semantic checks."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from registry.infra.schemadir import schema_dir
from registry.infra.schemafiles import validator
from registry.validate.semantics import license_problem
from tests.factories.manifests import (
    REQUIRED_FIELDS,
    VALID_REAL_MODELS,
    dump_manifest,
    manifest_data,
)
from tests.factories.registries import write_version
from tests.helpers import error_codes, validate_json

QUANT = {"method": "int8-static", "calibration_dataset_hash": "sha256:" + "ab" * 32}


def test_schemas_are_valid_draft_2020_12() -> None:
    for path in sorted(schema_dir().rglob("*.json")):
        Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_1_1_is_1_0_plus_quantization_profile() -> None:
    v10 = json.loads((schema_dir() / "manifest/1.0.json").read_text())
    v11 = json.loads((schema_dir() / "manifest/1.1.json").read_text())
    assert set(v11["properties"]) - set(v10["properties"]) == {"quantization_profile"}
    assert "quantization_profile" not in v11["required"]
    for key in v10["properties"]:
        if key != "schema_version":
            assert v10["properties"][key] == v11["properties"][key], key
    assert v10["required"] == v11["required"]
    assert v10["$defs"] == v11["$defs"]


def _constraints(schema: Any) -> Any:
    """The schema without its annotations (descriptions, examples, titles)."""
    if isinstance(schema, dict):
        return {
            k: _constraints(v)
            for k, v in schema.items()
            if k not in ("description", "examples", "title")
        }
    if isinstance(schema, list):
        return [_constraints(v) for v in schema]
    return schema


def test_1_2_is_1_1_plus_model_card_and_dataset_roles() -> None:
    v11 = _constraints(json.loads((schema_dir() / "manifest/1.1.json").read_text()))
    v12 = _constraints(json.loads((schema_dir() / "manifest/1.2.json").read_text()))
    assert set(v12["properties"]) - set(v11["properties"]) == {"model_card"}
    assert v11["required"] == v12["required"] and v11["$defs"] == v12["$defs"]
    dataset = v12["properties"]["lineage"]["properties"]["datasets"]["items"]
    assert dataset["required"] == ["name", "role"]
    assert dataset["properties"]["role"]["enum"] == [
        "training",
        "fine-tuning",
        "validation",
        "evaluation",
    ]
    for key in v11["properties"]:
        if key not in ("schema_version", "lineage"):
            assert v11["properties"][key] == v12["properties"][key], key


def _properties(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema under `schema`, at every depth (array items included)."""
    for name, field in schema.get("properties", {}).items():
        yield f"{path}.{name}", field
        yield from _properties(field, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _properties(schema["items"], f"{path}[]")


def _annotated(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from _properties(schema, "")
    for name, definition in schema["$defs"].items():
        yield f"$defs.{name}", definition
        yield from _properties(definition, f"$defs.{name}")


def test_every_1_2_property_is_described_with_examples_that_validate() -> None:
    schema = json.loads((schema_dir() / "manifest/1.2.json").read_text(encoding="utf-8"))
    formats = validator("manifest/1.2.json").format_checker
    annotated = list(_annotated(schema))
    assert len(annotated) > 100  # the walk reaches model_card.*, datasets[].role, $defs...
    for path, field in annotated:
        assert isinstance(field.get("description"), str) and field["description"].strip(), path
        assert isinstance(field.get("examples"), list) and field["examples"], path
        # The subschema with the schema's $defs beside it, so that its $refs resolve.
        check = Draft202012Validator({**field, "$defs": schema["$defs"]}, format_checker=formats)
        for example in field["examples"]:
            errors = [e.message for e in check.iter_errors(example)]
            assert not errors, (path, example, errors)


def test_an_example_that_breaks_its_subschema_is_caught() -> None:
    schema = json.loads((schema_dir() / "manifest/1.2.json").read_text(encoding="utf-8"))
    formats = validator("manifest/1.2.json").format_checker
    role = schema["properties"]["lineage"]["properties"]["datasets"]["items"]["properties"]
    for field, wrong in [
        (schema["properties"]["version"], "1.0"),
        (role["role"], "testing"),
        (schema["properties"]["exported_at"], "yesterday"),
    ]:
        check = Draft202012Validator({**field, "$defs": schema["$defs"]}, format_checker=formats)
        assert not check.is_valid(wrong)


def test_1_2_is_formatted_as_written() -> None:
    text = (schema_dir() / "manifest/1.2.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_every_design_field_is_in_the_schema() -> None:
    design = [
        *REQUIRED_FIELDS,
        "description",
        "authors",
        "lineage",
        "metrics",
        "compatibility_matrix",
        "dependencies",
        "exported_at",
        "tags",
        "status",
        "deprecation",
        "governance",
    ]
    v11 = json.loads((schema_dir() / "manifest/1.1.json").read_text())
    assert set(v11["properties"]) == {*design, "quantization_profile"}


def _check(tmp_path: Path, data: dict[str, Any]) -> tuple[int, set[str]]:
    model = VALID_REAL_MODELS["okay_nabu.tflite"]
    write_version(
        tmp_path,
        {**data, "model_name": "real-model", "version": "1.0.0"},
        model.path,
        text=dump_manifest(data),
    )
    code, report = validate_json(tmp_path)
    return code, error_codes(report)


def test_quantization_profile_needs_1_1(tmp_path: Path) -> None:
    data = manifest_data(VALID_REAL_MODELS["okay_nabu.tflite"])
    data["quantization_profile"] = QUANT
    assert _check(tmp_path, data) == (1, {"schema.unknown-field"})
    data["schema_version"] = "1.1"
    assert _check(tmp_path, data) == (0, set())


def test_unknown_schema_version_names_the_supported_ones(tmp_path: Path) -> None:
    data = manifest_data(VALID_REAL_MODELS["okay_nabu.tflite"])
    data["schema_version"] = "2.0"
    model = VALID_REAL_MODELS["okay_nabu.tflite"]
    write_version(tmp_path, data, model.path)
    _, report = validate_json(tmp_path)
    assert (
        report["findings"][0]["message"]
        == 'unknown schema_version "2.0"; supported: "1.0", "1.1", "1.2"'
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(model_name="other-name"), "manifest.name-folder-mismatch"),
        (lambda d: d.update(model_name="Bad_Name"), "schema.pattern"),
        (lambda d: d.update(version="1.0"), "schema.pattern"),
        (lambda d: d.update(status="deprecated"), "schema.required"),
        (lambda d: d.update(intended_use="too short"), "schema.min-length"),
        (lambda d: d.update(risk_tier="tier-9"), "schema.enum"),
        (lambda d: d.update(colour="blue"), "schema.unknown-field"),
        (lambda d: d.update(exported_at="yesterday"), "schema.format"),
        (
            lambda d: d.update(compatibility_matrix={"onnxruntime": "=>1.0"}),
            "manifest.invalid-specifier",
        ),
        (lambda d: d["artifact"].update(url="https://example.org/m.tflite"), "artifact.location"),
        (lambda d: d.update(lineage={"base_model": "missing@1.0.0"}), "reference.unresolved"),
        (
            lambda d: d.update(
                status="deprecated",
                deprecation={"reason": "replaced", "effective_at": "2025-13-45"},
            ),
            "manifest.invalid-date",
        ),
        (lambda d: d["artifact"].update(path="sub\\model.tflite"), "path.backslash"),
    ],
)
def test_semantic_and_schema_errors(tmp_path: Path, change: Any, expected: str) -> None:
    data = copy.deepcopy(manifest_data(VALID_REAL_MODELS["okay_nabu.tflite"]))
    change(data)
    code, codes = _check(tmp_path, data)
    assert code == 1
    assert expected in codes, codes


def test_unknown_field_suggests_the_closest(tmp_path: Path) -> None:
    data = manifest_data(VALID_REAL_MODELS["okay_nabu.tflite"])
    data["licence"] = data.pop("license")
    model = VALID_REAL_MODELS["okay_nabu.tflite"]
    write_version(tmp_path, data, model.path)
    _, report = validate_json(tmp_path)
    messages = " ".join(f["message"] for f in report["findings"])
    assert "did you mean `license`?" in messages


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("MIT", True),
        ("Apache-2.0 OR MIT", True),
        ("LicenseRef-Internal", True),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", True),
        ("(MIT AND BSD-3-Clause)", True),
        ("mit", False),
        ("Apache 2.0", False),
        ("MIT and Apache-2.0", False),
        ("MIT OR", False),
        ("", False),
        ("Foo-1.0", False),
    ],
)
def test_license_expressions(expression: str, valid: bool) -> None:
    assert (license_problem(expression) is None) == valid
